// ops/kernels/pool.h — the pooling family's kernel contract (max_pool1d and avg_pool1d over time).
//
// The input is viewed as `rows` contiguous rows of T steps (all leading dims flattened, time
// last); window j of a row covers steps [j·s − p, j·s − p + k) ∩ [0, T) (never empty: p <= k/2).
//   max_forward   y[r,j] := max_{i in window j} x[r,i],  argmax[r,j] := that i
//                 (the first max; a NaN wins, as in PyTorch; padding is −inf)
//   max_backward  dx := 0, then dx[r, argmax[r,j]] += dy[r,j]
//   avg_forward   y[r,j] := (1/k) Σ_{i in window j} x[r,i]   (padding adds zeros but counts in k)
//   avg_backward  dx := 0, then dx[r,i] += dy[r,j] / k for every i in window j
// Shapes: x, dx (rows·T); y, dy, argmax (rows·T_out), argmax is i64 (indices into the row).
// All tensors contiguous; outputs (y, argmax, dx) are fully overwritten.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace seqnet {

// The geometry of one pooling call: rows of T steps pooled to T_out by windows of k, stride s,
// padding p on both sides.
struct PoolGeom {
  int64_t rows, T, T_out, k, s, p;
};

struct PoolKernels {
  void (*max_forward)(const Tensor& x, Tensor& y, Tensor& argmax, const PoolGeom& g);
  void (*max_backward)(const Tensor& dy, const Tensor& argmax, Tensor& dx, const PoolGeom& g);
  void (*avg_forward)(const Tensor& x, Tensor& y, const PoolGeom& g);
  void (*avg_backward)(const Tensor& dy, Tensor& dx, const PoolGeom& g);
};

}  // namespace seqnet
