// cuda/ops/pool_index.h — the per-element index math of the CUDA pooling kernels
// (cuda/ops/pool.cu), as __host__ __device__ functions so that a CPU test can sweep them against
// ops/cpu/pool.cpp.
//
//  * pool_window: the steps [lo, hi) that window j reads (the CPU's clamp of [j·s − p, j·s − p + k)
//    to [0, T));
//  * pool_windows_covering: the windows [j_lo, j_hi) that read step i — what the backward gathers
//    loop over (in ascending j, the CPU's order of accumulation).
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "ops/kernels/pool.h"

namespace seqnet::cuda {

// Window j reads steps [lo, hi) = [j·s − p, j·s − p + k) ∩ [0, T)  (never empty: p <= k/2).
SEQNET_HOST_DEVICE inline void pool_window(int64_t j, const PoolGeom& g, int64_t& lo, int64_t& hi) {
  const int64_t start = j * g.s - g.p;
  lo = start > 0 ? start : 0;
  hi = start + g.k < g.T ? start + g.k : g.T;
}

// The windows j in [j_lo, j_hi) ∩ [0, T_out) whose span [j·s − p, j·s − p + k) holds step i
// (0 <= i < T): j·s − p <= i  ⇔  j <= ⌊(i + p) / s⌋, and j·s − p + k > i  ⇔  j > ⌊(i + p − k) / s⌋.
// Empty (j_lo >= j_hi) when no window reads step i.
SEQNET_HOST_DEVICE inline void pool_windows_covering(int64_t i, const PoolGeom& g, int64_t& j_lo, int64_t& j_hi) {
  const int64_t a = i + g.p - g.k;  // may be negative: then ⌊a / s⌋ + 1 <= 0
  j_lo = a < 0 ? 0 : a / g.s + 1;
  const int64_t last = (i + g.p) / g.s + 1;  // i + p >= 0
  j_hi = last < g.T_out ? last : g.T_out;
}

}  // namespace seqnet::cuda
