// ops/cpu/dropout.cpp — the CPU dropout kernels (contract: ops/kernels/dropout.h).
#include <cmath>

#include "core/philox.h"
#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {

// Calls f(i, keep) for every element i < n, keep = (u_i ≥ p) with u_i = lane i%4 of block
// first + i/4 (the uniform-f32 layout of core/rng.h), over threads in groups of 32 elements.
//
// u_i = k_i / 2^24 with k_i the lane's top 24 bits, so u_i ≥ p ⟺ k_i ≥ ⌈p · 2^24⌉: the exact
// comparison becomes one on integers. Blocks are made eight at a time (philox_blocks8).
template <class F>
void for_each_draw(uint64_t seed, uint64_t first, double p, int64_t n, F&& f) {
  const int64_t nblocks = (n + 3) / 4, ngroups = (nblocks + 7) / 8;
  const uint32_t threshold = uint32_t(std::ceil(p * 16777216.0));  // p ∈ [0, 1): at most 2^24
  parallel_range(ngroups, kGrainCheap / 32, [&](int64_t glo, int64_t ghi) {
    for (int64_t grp = glo; grp < ghi; ++grp) {
      uint32_t lanes[4][8];
      philox_blocks8(seed, first + uint64_t(grp) * 8, lanes);
      const int64_t base = grp * 32;
      if (base + 32 <= n) {
        for (int j = 0; j < 8; ++j)
          for (int l = 0; l < 4; ++l) f(base + 4 * j + l, (lanes[l][j] >> 8) >= threshold);
      } else {
        for (int64_t i = base; i < n; ++i) {
          const int64_t j = (i - base) / 4, l = (i - base) % 4;
          f(i, (lanes[l][j] >> 8) >= threshold);
        }
      }
    }
  });
}

}  // namespace

// m_i = (u_i ≥ p) / (1 − p)
void dropout_mask(uint64_t seed, uint64_t first, double p, Tensor& m) {
  dispatch_float(m.dtype(), "dropout", [&]<typename T>() {
    T* pm = m.data<T>();
    const T scale = T(1.0 / (1.0 - p));
    for_each_draw(seed, first, p, m.numel(), [pm, scale](int64_t i, bool keep) { pm[i] = keep ? scale : T(0); });
  });
}

// y_i = x_i · m_i, the mask drawn on the fly (forward on x, backward on the gradient)
void dropout_apply(uint64_t seed, uint64_t first, double p, const Tensor& x, Tensor& y) {
  dispatch_float(y.dtype(), "dropout", [&]<typename T>() {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T scale = T(1.0 / (1.0 - p));
    for_each_draw(seed, first, p, y.numel(),
                  [px, py, scale](int64_t i, bool keep) { py[i] = px[i] * (keep ? scale : T(0)); });
  });
}

DropoutKernels dropout_kernels() { return {.mask = dropout_mask, .apply = dropout_apply}; }

}  // namespace seqnet::cpu
