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

// y_i = r_i · m_i,  r_i = x_i > 0 ? x_i : slope·x_i   (the activation kernel's r, then apply's product)
void dropout_leaky_relu_apply(uint64_t seed, uint64_t first, double p, double slope, const Tensor& x, Tensor& y) {
  dispatch_float(y.dtype(), "leaky_relu_dropout", [&]<typename T>() {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T scale = T(1.0 / (1.0 - p)), a = T(slope);
    const uint32_t thr = keep_threshold(p);
    for_each_group(seed, first, y.numel(), [=](int64_t base, const uint32_t* k, int64_t count) {
      const T* xs = px + base;
      T* ys = py + base;
      auto one = [&](int64_t j) {
        const T r = xs[j] > T(0) ? xs[j] : a * xs[j];
        ys[j] = r * (k[j] >= thr ? scale : T(0));
      };
      if (count == 32) {
        for (int j = 0; j < 32; ++j) one(j);
      } else {
        for (int64_t j = 0; j < count; ++j) one(j);
      }
    });
  });
}

// slope 0: dx = y > 0 ? dy·scale : 0·dy (y > 0 ⟺ kept and x > 0: no mask);
// slope > 0: dx = m ≠ 0 ? (y > 0 ? dy·scale : slope·(dy·scale)) : slope·(dy·0)
void dropout_leaky_relu_backward(uint64_t seed, uint64_t first, double p, double slope, const Tensor& y,
                                 const Tensor& dy, Tensor& dx) {
  dispatch_float(y.dtype(), "leaky_relu_dropout", [&]<typename T>() {
    const T* py = y.data<T>();
    const T* pg = dy.data<T>();
    T* pd = dx.data<T>();
    const T scale = T(1.0 / (1.0 - p)), a = T(slope);
    if (slope == 0.0) {
      parallel_range(y.numel(), kGrainCheap, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) pd[i] = py[i] > T(0) ? pg[i] * scale : T(0) * pg[i];
      });
      return;
    }
    const uint32_t thr = keep_threshold(p);
    for_each_group(seed, first, y.numel(), [=](int64_t base, const uint32_t* k, int64_t count) {
      const T* ys = py + base;
      const T* gs = pg + base;
      T* ds = pd + base;
      auto one = [&](int64_t j) {
        const T g = gs[j] * (k[j] >= thr ? scale : T(0));  // apply's backward: dy·m
        ds[j] = ys[j] > T(0) ? g : a * g;                  // the activation's: r > 0 ⟺ y > 0 where m ≠ 0
      };
      if (count == 32) {
        for (int j = 0; j < 32; ++j) one(j);
      } else {
        for (int64_t j = 0; j < count; ++j) one(j);
      }
    });
  });
}

DropoutKernels dropout_kernels() {
  return {.mask = dropout_mask,
          .apply = dropout_apply,
          .leaky_relu_apply = dropout_leaky_relu_apply,
          .leaky_relu_backward = dropout_leaky_relu_backward};
}

}  // namespace seqnet::cpu
