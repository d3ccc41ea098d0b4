// ops/kernels/resample.h — the resampling family's kernel contract (upsample_nearest and
// upsample_linear by an integer factor f over time).
//
// The input is viewed as `rows` contiguous rows of L steps (all leading dims flattened, time
// last); the output as rows of L·f steps.
//   nearest_forward   y[r,j] := x[r, j / f]
//   nearest_backward  dx[r,i] := Σ_{q < f} dy[r, i·f + q]
//   linear_forward    y[r,j] := w0(j)·x[r,i0(j)] + w1(j)·x[r,i1(j)]
//   linear_backward   dx := 0, then dx[r,i0(j)] += w0(j)·dy[r,j], dx[r,i1(j)] += w1(j)·dy[r,j]
// where (linear, align_corners = false, as PyTorch's area_pixel_compute_source_index, computed
// in the element type with scale = 1/f):
//   src = max(0, (j + 0.5)/f − 0.5),  i0 = min(floor(src), L−1),  i1 = i0 + (i0 < L−1),
//   w1 = clamp(src − i0, 0, 1),  w0 = 1 − w1.
// Shapes: x, dx (rows·L); y, dy (rows·L·f). All tensors contiguous; outputs fully overwritten.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace seqnet {

struct ResampleKernels {
  void (*nearest_forward)(const Tensor& x, Tensor& y, int64_t rows, int64_t L, int64_t factor);
  void (*nearest_backward)(const Tensor& dy, Tensor& dx, int64_t rows, int64_t L, int64_t factor);
  void (*linear_forward)(const Tensor& x, Tensor& y, int64_t rows, int64_t L, int64_t factor);
  void (*linear_backward)(const Tensor& dy, Tensor& dx, int64_t rows, int64_t L, int64_t factor);
};

}  // namespace seqnet
