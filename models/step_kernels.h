// models/step_kernels.h — the few raw-float kernels the step modes (wavenet_step, sequnet_res_step)
// are made of. A step touches one column per layer, so everything is a matrix-vector product
// (batch 1: cblas_sgemv) or a thin matrix product (batch N: cblas_sgemm) on weights packed once,
// plus the gated activation. No allocation happens in here.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace seqnet::step {

// Y (N, M) = X (N, Kd) · Wᵀ + bias, W (M, Kd) row-major, X rows `ldx` floats apart, Y rows M apart.
// `accumulate`: Y += X · Wᵀ (+ bias) instead.
void affine_rows(int64_t N, int64_t M, int64_t Kd, const float* X, int64_t ldx, const float* W, const float* bias,
                 float* Y, bool accumulate = false);

// out[n, o] = tanh(fg[n, o]) · sigmoid(fg[n, C + o]) + identity[n, o]   (fg: (N, 2C), filter rows first;
// identity rows `ld_id` apart, null for none).
void gated_rows(int64_t N, int64_t C, const float* fg, const float* identity, int64_t ld_id, float* out);

// A conv weight W (C_out, C_in, K) as a GEMV matrix over a tap-major window: row o, column m·C_in + c
// holds W[o, c, taps[m]]; written into rows [row0, row0 + C_out) of `dst` (row length taps.size()·C_in).
// f32 or f64 weights; the result is float.
void pack_conv_taps(const Tensor& W, const std::vector<int64_t>& taps, float* dst, int64_t row0);
// The same for a ConvTranspose1d weight W (C_in, C_out, K) (note the order).
void pack_transposed_taps(const Tensor& W, const std::vector<int64_t>& taps, float* dst, int64_t row0);

// Copies bias b (C_out) into dst[row0 ..]; zeros if b is undefined.
void pack_bias(const Tensor& b, int64_t C_out, float* dst, int64_t row0);

// A float32 tensor of `shape` from the seqnet allocator (buffers of the steppers, so the
// allocator's counters see them).
Tensor f32_zeros(const Shape& shape);

}  // namespace seqnet::step
