// ops/cpu/dropout.cpp — the CPU dropout kernels (contract: ops/kernels/dropout.h).
#include <algorithm>
#include <cmath>

#include "core/philox.h"
#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {

// Calls f(base, k, count) for consecutive groups of 32 elements (count < 32 only for the last
// group), k[j] = the top 24 bits of element base + j's lane: element i is kept iff k ≥ ⌈p · 2^24⌉.
// Element i uses lane i%4 of block first + i/4 (the uniform-f32 layout of core/rng.h), so
// u_i = k_i / 2^24 and u_i ≥ p ⟺ k_i ≥ ⌈p · 2^24⌉: the exact comparison becomes one on integers.
// Blocks are made eight at a time (philox_blocks8); groups are spread over threads.
template <class F>
void for_each_group(uint64_t seed, uint64_t first, int64_t n, F&& f) {
  const int64_t nblocks = (n + 3) / 4, ngroups = (nblocks + 7) / 8;
  parallel_range(ngroups, kGrainCheap / 32, [&](int64_t glo, int64_t ghi) {
    for (int64_t grp = glo; grp < ghi; ++grp) {
      uint32_t lanes[4][8], k[32];
      philox_blocks8(seed, first + uint64_t(grp) * 8, lanes);
      for (int j = 0; j < 8; ++j)
        for (int l = 0; l < 4; ++l) k[4 * j + l] = lanes[l][j] >> 8;
      const int64_t base = grp * 32;
      f(base, k, std::min<int64_t>(32, n - base));
    }
  });
}

uint32_t keep_threshold(double p) { return uint32_t(std::ceil(p * 16777216.0)); }  // p ∈ [0, 1): ≤ 2^24

}  // namespace

// m_i = (u_i ≥ p) / (1 − p)
void dropout_mask(uint64_t seed, uint64_t first, double p, Tensor& m) {
  dispatch_float(m.dtype(), "dropout", [&]<typename T>() {
    T* pm = m.data<T>();
    const T scale = T(1.0 / (1.0 - p));
    const uint32_t thr = keep_threshold(p);
    for_each_group(seed, first, m.numel(), [=](int64_t base, const uint32_t* k, int64_t count) {
      for (int64_t j = 0; j < count; ++j) pm[base + j] = k[j] >= thr ? scale : T(0);
    });
  });
}

// y_i = x_i · m_i, the mask drawn on the fly (forward on x, backward on the gradient)
void dropout_apply(uint64_t seed, uint64_t first, double p, const Tensor& x, Tensor& y) {
  dispatch_float(y.dtype(), "dropout", [&]<typename T>() {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T scale = T(1.0 / (1.0 - p));
    const uint32_t thr = keep_threshold(p);
    for_each_group(seed, first, y.numel(), [=](int64_t base, const uint32_t* k, int64_t count) {
      const T* xs = px + base;
      T* ys = py + base;
      if (count == 32) {  // a fixed trip count: compare, select and multiply vectorise
        for (int j = 0; j < 32; ++j) ys[j] = xs[j] * (k[j] >= thr ? scale : T(0));
      } else {
        for (int64_t j = 0; j < count; ++j) ys[j] = xs[j] * (k[j] >= thr ? scale : T(0));
      }
    });
  });
}

DropoutKernels dropout_kernels() { return {.mask = dropout_mask, .apply = dropout_apply}; }

}  // namespace seqnet::cpu
