// cuda/ops/conv_index.h — the per-element index math of the CUDA conv kernels (cuda/ops/conv.cu),
// as __host__ __device__ functions so that a CPU test can sweep them against ops/cpu/conv.cpp.
//
//  * taps-major weight: Wk[m, o, c] = W[o, c, m] (both contiguous), and its inverse;
//  * polyphase split (stride s > 1): buf[p, c, j] = x[c, s·j + p]; the interleave back reads, for
//    input column t, phase p = t mod s at column j = t div s (one source per dX element: a gather);
//  * which phases some tap reads (PhaseMask): the others are neither split nor added back;
//  * a tap whose product alone writes every column of the output (the forward's Y, a stride-1
//    input gradient's dX): run first with beta = 0, it replaces the zero fill of that output.
#pragma once
#include <cstdint>
#include <utility>

#include "core/host_device.h"
#include "ops/kernels/conv.h"

namespace seqnet::cuda {

// Element i of Wk (K, O, C) comes from W (O, C, K) at the returned index.
SEQNET_HOST_DEVICE inline int64_t taps_major_source(int64_t i, int64_t O, int64_t C, int64_t K) {
  const int64_t m = i / (O * C), r = i % (O * C);
  const int64_t o = r / C, c = r % C;
  return (o * C + c) * K + m;
}

// Element i of W (O, C, K) comes from Wk (K, O, C) at the returned index.
SEQNET_HOST_DEVICE inline int64_t taps_last_source(int64_t i, int64_t O, int64_t C, int64_t K) {
  const int64_t m = i % K, r = i / K;
  const int64_t o = r / C, c = r % C;
  return (m * O + o) * C + c;
}

// Input column of phase p's column j: s·j + p (inside the sample when < T).
SEQNET_HOST_DEVICE inline int64_t phase_column(int64_t s, int64_t p, int64_t j) { return s * j + p; }

// The phase p and phase column j of input column t (t = s·j + p, 0 <= p < s).
struct PhaseCoord {
  int64_t p, j;
};
SEQNET_HOST_DEVICE inline PhaseCoord phase_coord(int64_t t, int64_t s) { return {t % s, t / s}; }

// The phases some tap reads: bit p of `bits` for s <= 64; every phase for a larger stride.
struct PhaseMask {
  uint64_t bits = 0;
  bool all = false;
  SEQNET_HOST_DEVICE bool has(int64_t p) const { return all || ((bits >> p) & 1u) != 0; }
  bool any() const { return all || bits != 0; }
};

// The CPU's used_phases (ops/cpu/conv.cpp) as a mask (host side).
inline PhaseMask used_phase_mask(const ConvGeom& g) {
  PhaseMask mask;
  if (g.s > 64) {
    for (int64_t m = 0; m < g.K; ++m)
      if (auto [lo, hi] = g.valid(m); lo < hi) mask.all = true;
    return mask;
  }
  for (int64_t m = 0; m < g.K; ++m)
    if (auto [lo, hi] = g.valid(m); lo < hi) mask.bits |= uint64_t(1) << g.phase(m);
  return mask;
}

// The tap whose product alone covers every output column, Y[:, 0 : T_out) (its valid range is all
// of [0, T_out)), or -1 when none does (or T_out = 0). The last such tap: in a causal conv, the
// newest, unshifted one.
inline int64_t forward_covering_tap(const ConvGeom& g) {
  if (g.T_out <= 0) return -1;
  for (int64_t m = g.K - 1; m >= 0; --m)
    if (g.valid(m) == std::pair<int64_t, int64_t>{0, g.T_out}) return m;
  return -1;
}

// The tap whose transposed product alone covers every input-gradient column, dX[:, 0 : T) (stride
// 1: tap m writes dX[:, lo + off(m) : hi + off(m))), or -1 when none does (stride > 1: the phases
// accumulate in a buffer of their own).
inline int64_t input_covering_tap(const ConvGeom& g) {
  if (g.s != 1 || g.T <= 0) return -1;
  for (int64_t m = g.K - 1; m >= 0; --m) {
    const auto [lo, hi] = g.valid(m);
    if (lo < hi && lo + g.off(m) == 0 && hi + g.off(m) == g.T) return m;
  }
  return -1;
}

}  // namespace seqnet::cuda
