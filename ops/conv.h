// ops/conv.h — 1-D convolution and transposed convolution on BLAS (layout (N, C, T)).
//
// Definitions are exactly those of spec/MODELS.md §1:
//   conv1d:            y[n,o,t]     = b[o] + Σ_c Σ_m w[o,c,m] · xpad[n,c,s·t + d·m]
//                      xpad = x with pad_front zeros before and pad_back zeros after the time axis,
//                      T_out = floor((T + pf + pb − d·(K−1) − 1) / s) + 1
//   conv_transpose1d:  y[n,o,s·i+m] += Σ_c w[c,o,m] · x[n,c,i],  y starts at b[o],
//                      T_out = s·(L−1) + K                       (w is (C_in, C_out, K) as in PyTorch)
// Both are differentiable in x, w and b (b may be an undefined Variable: no bias). f32 or f64,
// all operands of one dtype; every bad argument throws seqnet::Error naming the op and shapes.
//
// Kernels (ops/conv.cpp): one GEMM per kernel tap on a shifted view of the input — no im2col
// buffer, no zero-padded copy (each tap's GEMM covers only the columns whose input exists);
// 1×1 convs are one GEMM per sample; strided convs first split the input into its `stride`
// phases (one copy) and then do the same. conv_transpose1d is the adjoint of a strided conv1d
// and reuses the same three kernels (its forward is conv1d's input gradient, and vice versa).
#pragma once
#include "autograd/variable.h"

namespace seqnet {

// x (N, C_in, T), w (C_out, C_in, K), b (C_out) or undefined → (N, C_out, T_out).
Variable conv1d(const Variable& x, const Variable& w, const Variable& b = Variable(), int64_t stride = 1,
                int64_t dilation = 1, int64_t pad_front = 0, int64_t pad_back = 0);

// x (N, C_in, L), w (C_in, C_out, K), b (C_out) or undefined → (N, C_out, stride·(L−1) + K).
Variable conv_transpose1d(const Variable& x, const Variable& w, const Variable& b = Variable(), int64_t stride = 2);

// Output length of conv1d (no checks; may be ≤ 0 for inputs shorter than the dilated kernel).
inline int64_t conv1d_out_len(int64_t T, int64_t K, int64_t stride = 1, int64_t dilation = 1, int64_t pad_front = 0,
                              int64_t pad_back = 0) {
  const int64_t span = T + pad_front + pad_back - dilation * (K - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

}  // namespace seqnet
