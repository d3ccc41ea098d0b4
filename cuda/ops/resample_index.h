// cuda/ops/resample_index.h — the per-element index math of the CUDA resampling kernels
// (cuda/ops/resample.cu), as __host__ __device__ functions so that a CPU test can sweep them
// against ops/cpu/resample.cpp.
//
//  * linear_source: where output step j of upsample_linear reads from (the CPU's linear_source,
//    the same operations in the same order, in the element type T);
//  * linear_readers: a range of output steps [j_lo, j_hi) that holds every step reading input
//    step i (a superset: the backward gather re-checks each j with linear_source).
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"

namespace seqnet::cuda {

// y[j] = w0·x[i0] + w1·x[i1], as PyTorch's area_pixel_compute_source_index (align_corners =
// false) with scale = 1/f:  src = max(0, (j + 0.5)/f − 0.5),  i0 = min(⌊src⌋, L − 1),
// i1 = i0 + (i0 < L − 1),  w1 = clamp(src − i0, 0, 1),  w0 = 1 − w1.
// std::min(a, b) is (b < a) ? b : a and std::max(a, b) is (a < b) ? b : a: written out here so
// that the device compiles the same comparisons.
template <typename T>
SEQNET_HOST_DEVICE inline void linear_source(int64_t j, int64_t L, int64_t f, int64_t& i0, int64_t& i1, T& w0,
                                             T& w1) {
  const T scale = T(1) / T(f);
  T src = scale * (T(j) + T(0.5)) - T(0.5);
  if (src < T(0)) src = T(0);
  const int64_t fl = int64_t(floor(src));
  i0 = (L - 1 < fl) ? L - 1 : fl;
  i1 = i0 + (i0 < L - 1 ? 1 : 0);
  const T d = src - T(i0);
  const T lo = (d < T(0)) ? T(0) : d;
  w1 = (T(1) < lo) ? T(1) : lo;
  w0 = T(1) - w1;
}

// Output steps [j_lo, j_hi) ⊇ { j : i0(j) = i or i1(j) = i }. Reading step i needs i0 ∈ {i − 1, i}
// (or the clamp at L − 1), i.e. src ∈ [i − 1, i + 1): j ∈ [f·(i − 0.5) − 0.5, f·(i + 1.5) − 0.5),
// widened to [f·(i − 1) − m, f·(i + 2) + m) with a margin m for src's rounding in T (T(j) and
// scale are rounded: a few ulps of j, ≈ j·2⁻²², plus 2), and for i = L − 1 to the end.
SEQNET_HOST_DEVICE inline void linear_readers(int64_t i, int64_t L, int64_t f, int64_t& j_lo, int64_t& j_hi) {
  const int64_t n = L * f;
  const int64_t hi = (i + 2) * f;
  const int64_t m = 2 + (hi >> 20);
  const int64_t lo = (i - 1) * f - m;
  j_lo = lo > 0 ? lo : 0;
  j_hi = (i == L - 1 || hi + m > n) ? n : hi + m;
}

}  // namespace seqnet::cuda
