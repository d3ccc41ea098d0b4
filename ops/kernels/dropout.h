// ops/kernels/dropout.h — the dropout family's kernel contract.
//
//   mask   m_i := (u_i ≥ p) / (1 − p)   for every element i (row-major) of m, where
//          u_i = u32_to_unit_float(lane (i % 4) of Philox block (first_block + i / 4)) under key
//          `seed` (the uniform-f32 stream layout of core/rng.h; ops/dropout.h); the comparison
//          u_i ≥ p is done in double, the scale 1/(1 − p) is computed in double and rounded to
//          m's dtype once. 0 ≤ p < 1.
// m: f32 or f64, contiguous, fully overwritten; it consumes ceil(numel / 4) blocks, which the op
// has reserved (Generator::reserve) before the call.
//
//   apply  y_i := x_i · m_i   with m_i as above, drawn on the fly and never stored (bit for bit
//          x ⊙ mask(...): the product of x_i and the rounded scale or 0). x and y: same shape and
//          dtype (f32 or f64), contiguous; y fully overwritten. The op runs it forward on x and
//          backward on the incoming gradient with the same seed and first block, so a dropout
//          layer keeps no mask between the two passes.
//
//   leaky_relu_apply     y_i := r_i · m_i,  r_i = x_i > 0 ? x_i : slope·x_i   (slope ≥ 0; the
//                        activation kernel's r, then apply's product: bit for bit the two in turn)
//   leaky_relu_backward  from y (the forward's output) and dy:
//                        slope == 0: dx_i := y_i > 0 ? dy_i·scale : 0·dy_i   (no mask drawn)
//                        slope > 0:  dx_i := m_i ≠ 0 ? (y_i > 0 ? dy_i·scale : slope·(dy_i·scale))
//                                                    : slope·(dy_i·0)          (mask drawn again)
//                        scale = 1/(1 − p) rounded to the dtype once, as in mask. This is the
//                        activation's backward applied to apply's backward, bit for bit (slope 0:
//                        except where dy·scale overflows).
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace seqnet {

struct DropoutKernels {
  void (*mask)(uint64_t seed, uint64_t first_block, double p, Tensor& m);
  void (*apply)(uint64_t seed, uint64_t first_block, double p, const Tensor& x, Tensor& y);
  void (*leaky_relu_apply)(uint64_t seed, uint64_t first_block, double p, double slope, const Tensor& x, Tensor& y);
  void (*leaky_relu_backward)(uint64_t seed, uint64_t first_block, double p, double slope, const Tensor& y,
                              const Tensor& dy, Tensor& dx);
};

}  // namespace seqnet
