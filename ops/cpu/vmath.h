// ops/cpu/vmath.h — tanh, the logistic sigmoid and exp on floats, eight values at a time.
//
// std::tanh and std::exp are scalar libm calls (about 15 and 4 ns each here): the WaveNet's and
// the residual Seq-U-Net's gated units spent 9 % of a training step in them. glibc ships vector
// versions of both in libmvec (_ZGVdN8v_tanhf / _ZGVdN8v_expf: the AVX2 variants, the names the
// vector function ABI gives them); where the build found libmvec (SEQNET_HAVE_LIBMVEC) and targets
// AVX2, full blocks of 8 go through them and the tail through libm. glibc documents both within
// 4 ulp of the exact value (libm's scalar ones within 2), far inside the tolerances at which the
// models match the official references; f64 keeps libm everywhere (except the cross-entropy's
// double log-sum-exp, exp4 below, within 4 ulp of a double).
//   tanh_f32:    y = tanh(x)
//   sigmoid_f32: y = 1 / (1 + exp(−x))
//   gated_f32:   t = tanh(f), s = 1 / (1 + exp(−g)), y = t · s   (t, s may be null: not stored)
#pragma once
#include <cmath>
#include <cstdint>

#if defined(SEQNET_HAVE_LIBMVEC) && defined(__AVX2__)
#include <immintrin.h>
extern "C" __m256 _ZGVdN8v_tanhf(__m256);
extern "C" __m256 _ZGVdN8v_expf(__m256);
extern "C" __m256d _ZGVdN4v_exp(__m256d);
#define SEQNET_VMATH_AVX2 1
#endif

namespace seqnet::cpu {

#ifdef SEQNET_VMATH_AVX2
// exp of 8 floats / 4 doubles in one call, for loops that hold their values in registers already
// (the softmax rows of ops/cpu/loss.cpp).
inline __m256 exp8(__m256 x) { return _ZGVdN8v_expf(x); }
inline __m256d exp4(__m256d x) { return _ZGVdN4v_exp(x); }
#endif

inline void gated_f32(float* y, float* t, float* s, const float* f, const float* g, int64_t n) {
  int64_t i = 0;
#ifdef SEQNET_VMATH_AVX2
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 tv = _ZGVdN8v_tanhf(_mm256_loadu_ps(f + i));
    const __m256 e = _ZGVdN8v_expf(_mm256_xor_ps(_mm256_loadu_ps(g + i), sign));  // exp(−g)
    const __m256 sv = _mm256_div_ps(one, _mm256_add_ps(one, e));
    if (t) _mm256_storeu_ps(t + i, tv);
    if (s) _mm256_storeu_ps(s + i, sv);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(tv, sv));
  }
#endif
  for (; i < n; ++i) {
    const float tv = std::tanh(f[i]), sv = 1.0f / (1.0f + std::exp(-g[i]));
    if (t) t[i] = tv;
    if (s) s[i] = sv;
    y[i] = tv * sv;
  }
}

inline void tanh_f32(float* y, const float* x, int64_t n) {
  int64_t i = 0;
#ifdef SEQNET_VMATH_AVX2
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _ZGVdN8v_tanhf(_mm256_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) y[i] = std::tanh(x[i]);
}

inline void sigmoid_f32(float* y, const float* x, int64_t n) {
  int64_t i = 0;
#ifdef SEQNET_VMATH_AVX2
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 e = _ZGVdN8v_expf(_mm256_xor_ps(_mm256_loadu_ps(x + i), sign));
    _mm256_storeu_ps(y + i, _mm256_div_ps(one, _mm256_add_ps(one, e)));
  }
#endif
  for (; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

}  // namespace seqnet::cpu
