// ops/cpu/dropout.cpp — the CPU dropout mask (contract: ops/kernels/dropout.h).
#include <cmath>

#include "core/philox.h"
#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

// m_i = (u_i ≥ p) / (1 − p),  u_i = lane i%4 of block first + i/4 (uniform f32 layout, core/rng.h)
//
// u_i = k_i / 2^24 with k_i the lane's top 24 bits, so u_i ≥ p ⟺ k_i ≥ ⌈p · 2^24⌉: the exact
// comparison becomes one on integers. Blocks are made eight at a time (philox_blocks8).
void dropout_mask(uint64_t seed, uint64_t first, double p, Tensor& m) {
  const int64_t n = m.numel();
  const int64_t nblocks = (n + 3) / 4, ngroups = (nblocks + 7) / 8;
  const uint32_t threshold = uint32_t(std::ceil(p * 16777216.0));  // p ∈ [0, 1): at most 2^24
  dispatch_float(m.dtype(), "dropout", [&]<typename T>() {
    T* pm = m.data<T>();
    const T scale = T(1.0 / (1.0 - p));
    parallel_range(ngroups, kGrainCheap / 32, [&](int64_t glo, int64_t ghi) {
    for (int64_t grp = glo; grp < ghi; ++grp) {
      uint32_t lanes[4][8];
      philox_blocks8(seed, first + uint64_t(grp) * 8, lanes);
      const int64_t base = grp * 32;
      if (base + 32 <= n) {
        for (int j = 0; j < 8; ++j)
          for (int l = 0; l < 4; ++l) pm[base + 4 * j + l] = (lanes[l][j] >> 8) >= threshold ? scale : T(0);
      } else {
        for (int64_t i = base; i < n; ++i) {
          const int64_t j = (i - base) / 4, l = (i - base) % 4;
          pm[i] = (lanes[l][j] >> 8) >= threshold ? scale : T(0);
        }
      }
    }
    });
  });
}

DropoutKernels dropout_kernels() { return {.mask = dropout_mask}; }

}  // namespace seqnet::cpu
