// ops/cpu/dropout.cpp — the CPU dropout kernels (contract: ops/kernels/dropout.h).
#include <algorithm>
#include <cmath>
#include <type_traits>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "core/philox.h"
#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {

// Calls f(base, m, count) for consecutive groups of 128 elements (count < 128 only for the last
// group), m[j] = the mask value of element base + j: 1/(1 − p) where it is kept, 0 where dropped.
// Element i uses lane i%4 of block first + i/4 (the uniform-f32 layout of core/rng.h) and is kept
// iff u_i ≥ p, u_i = (lane >> 8) / 2^24; so u_i ≥ p ⟺ (lane >> 8) ≥ ⌈p · 2^24⌉, an exact
// comparison on integers. Blocks are made 32 at a time, already in element order
// (philox_lanes32: with AVX-512 two sets of sixteen side by side, which brought the mask's cost
// down to that of a copy in bench/kernels); groups are spread over threads.
constexpr int kGroup = 128;

// m[j] = (lanes[j] >> 8) ≥ thr ? scale : 0 for one group. GCC leaves this loop (and the select
// loops below) as a compare-and-branch per element, mispredicted at rate p or on random signs,
// even with -fno-trapping-math; the AVX2 form compares in vector registers and masks scale with
// the result (a dropped element's +0 is the bits of T(0)).
template <class T>
inline void mask_values(const uint32_t* lanes, int32_t thr, T scale, T* m) {
#if defined(__AVX2__)
  const __m256i below = _mm256_set1_epi32(thr - 1);  // k ≥ thr ⟺ k > thr − 1 (k, thr ≤ 2^24)
  if constexpr (std::is_same_v<T, float>) {
    const __m256 s = _mm256_set1_ps(scale);
    for (int j = 0; j < kGroup; j += 8) {
      const __m256i k = _mm256_srli_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(lanes + j)), 8);
      _mm256_store_ps(m + j, _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(k, below)), s));
    }
    return;
  } else if constexpr (std::is_same_v<T, double>) {
    const __m256d s = _mm256_set1_pd(scale);
    for (int j = 0; j < kGroup; j += 8) {
      const __m256i k = _mm256_srli_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(lanes + j)), 8);
      const __m256i keep = _mm256_cmpgt_epi32(k, below);
      const __m256d lo = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(keep)));
      const __m256d hi = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(keep, 1)));
      _mm256_store_pd(m + j, _mm256_and_pd(lo, s));
      _mm256_store_pd(m + j + 4, _mm256_and_pd(hi, s));
    }
    return;
  }
#endif
  for (int j = 0; j < kGroup; ++j) m[j] = int32_t(lanes[j] >> 8) >= thr ? scale : T(0);
}

template <class T, class F>
void for_each_group(uint64_t seed, uint64_t first, int64_t n, double p, F&& f) {
  const int32_t thr = int32_t(std::ceil(p * 16777216.0));  // p ∈ [0, 1): ≤ 2^24
  const T scale = T(1.0 / (1.0 - p));
  const int64_t ngroups = (n + kGroup - 1) / kGroup;
  parallel_range(ngroups, kGrainCheap / kGroup, [&](int64_t glo, int64_t ghi) {
    for (int64_t grp = glo; grp < ghi; ++grp) {
      alignas(64) uint32_t lanes[kGroup];
      alignas(64) T m[kGroup];
      philox_lanes32(seed, first + uint64_t(grp) * (kGroup / 4), lanes);
      mask_values(lanes, thr, scale, m);
      const int64_t base = grp * kGroup;
      f(base, m, std::min<int64_t>(kGroup, n - base));
    }
  });
}

// Runs body(j) for j in [0, count): with the trip count fixed where the group is whole.
template <class B>
inline void over_group(int64_t count, B&& body) {
  if (count == kGroup) {
    for (int j = 0; j < kGroup; ++j) body(j);
  } else {
    for (int64_t j = 0; j < count; ++j) body(j);
  }
}

// The leaky ReLU's factor f_j = v_j > 0 ? 1 : a (v·f is v or a·v exactly), then
// out_j = (in_j · f_j) · m_j (forward: v = in = x) or out_j = (in_j · m_j) · f_j (backward: v = y,
// in = dy), in the two kernels' orders of rounding; float groups as a compare and blend in AVX2.
template <bool kForward, class T>
inline void leaky_group(const T* __restrict v, const T* __restrict in, const T* __restrict mk, T a, T* __restrict out,
                        int64_t count) {
#if defined(__AVX2__)
  if constexpr (std::is_same_v<T, float>) {
    if (count == kGroup) {
      const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f), av = _mm256_set1_ps(a);
      for (int j = 0; j < kGroup; j += 8) {
        const __m256 f = _mm256_blendv_ps(av, one, _mm256_cmp_ps(_mm256_loadu_ps(v + j), zero, _CMP_GT_OQ));
        const __m256 x = _mm256_loadu_ps(in + j), m = _mm256_load_ps(mk + j);
        _mm256_storeu_ps(out + j,
                         kForward ? _mm256_mul_ps(_mm256_mul_ps(x, f), m) : _mm256_mul_ps(_mm256_mul_ps(x, m), f));
      }
      return;
    }
  }
#endif
  for (int64_t j = 0; j < count; ++j) {
    const T f = v[j] > T(0) ? T(1) : a;
    out[j] = kForward ? (in[j] * f) * mk[j] : (in[j] * mk[j]) * f;
  }
}

}  // namespace

// m_i = (u_i ≥ p) / (1 − p)
void dropout_mask(uint64_t seed, uint64_t first, double p, Tensor& m) {
  dispatch_float(m.dtype(), "dropout", [&]<typename T>() {
    T* pm = m.data<T>();
    for_each_group<T>(seed, first, m.numel(), p, [=](int64_t base, const T* __restrict mk, int64_t count) {
      T* __restrict ms = pm + base;
      over_group(count, [&](int64_t j) { ms[j] = mk[j]; });
    });
  });
}

// y_i = x_i · m_i, the mask drawn on the fly (forward on x, backward on the gradient)
void dropout_apply(uint64_t seed, uint64_t first, double p, const Tensor& x, Tensor& y) {
  dispatch_float(y.dtype(), "dropout", [&]<typename T>() {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_each_group<T>(seed, first, y.numel(), p, [=](int64_t base, const T* __restrict mk, int64_t count) {
      const T* __restrict xs = px + base;
      T* __restrict ys = py + base;
      over_group(count, [&](int64_t j) { ys[j] = xs[j] * mk[j]; });
    });
  });
}

// y_i = r_i · m_i,  r_i = x_i > 0 ? x_i : slope·x_i   (the activation kernel's r, then apply's product)
void dropout_leaky_relu_apply(uint64_t seed, uint64_t first, double p, double slope, const Tensor& x, Tensor& y) {
  dispatch_float(y.dtype(), "leaky_relu_dropout", [&]<typename T>() {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T a = T(slope);
    for_each_group<T>(seed, first, y.numel(), p, [=](int64_t base, const T* __restrict mk, int64_t count) {
      leaky_group<true>(px + base, px + base, mk, a, py + base, count);  // r·m,  r = x·(x > 0 ? 1 : a)
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
    const T a = T(slope);
    if (slope == 0.0) {
      const T scale = T(1.0 / (1.0 - p));
      // Locals, not the closure's fields: a store to d[i] might change a captured float (scale),
      // so the loop would reload it per element and not vectorise.
      parallel_range(y.numel(), kGrainCheap, [&](int64_t lo, int64_t hi) {
        const T* __restrict ys = py;
        const T* __restrict gs = pg;
        T* __restrict ds = pd;
        const T sc = scale;
        for (int64_t i = lo; i < hi; ++i) ds[i] = ys[i] > T(0) ? gs[i] * sc : T(0) * gs[i];
      });
      return;
    }
    for_each_group<T>(seed, first, y.numel(), p, [=](int64_t base, const T* __restrict mk, int64_t count) {
      // apply's backward g = dy·m, then the activation's g·(y > 0 ? 1 : a): r > 0 ⟺ y > 0 where m ≠ 0
      leaky_group<false>(py + base, pg + base, mk, a, pd + base, count);
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
