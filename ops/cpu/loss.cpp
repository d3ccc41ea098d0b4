// ops/cpu/loss.cpp — the CPU loss kernels (contract: ops/kernels/loss.h): OpenMP loops over the
// rows (positions) of the (outer, C, inner) view.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/vmath.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {

// ---- softmax / log_softmax --------------------------------------------------------------------

// Whether row r = (o, i) is one the AVX2 paths below take: float rows that are contiguous
// (inner = 1), or in whole blocks of 8 along `inner`. The scalar loops do the others (f64,
// 1 < inner < 8, the last partial block).
template <typename T>
bool in_row_block(const SoftmaxRows& R, int64_t r) {
#ifdef SEQNET_VMATH_AVX2
  return std::is_same_v<T, float> && (R.inner == 1 || (R.inner >= 8 && r % R.inner < R.inner / 8 * 8));
#else
  return false;
#endif
}

#ifdef SEQNET_VMATH_AVX2
// lo += exp(double(d[0..3])), hi += exp(double(d[4..7])): eight float differences summed in double.
inline void add_exp_double(__m256 d, __m256d& lo, __m256d& hi) {
  lo = _mm256_add_pd(lo, exp4(_mm256_cvtps_pd(_mm256_castps256_ps128(d))));
  hi = _mm256_add_pd(hi, exp4(_mm256_cvtps_pd(_mm256_extractf128_ps(d, 1))));
}

// Eight rows side by side. Row (o, i) reads x[o, c, i] for c = 0 .. C−1, so rows i .. i+7 of one
// o read 8 consecutive floats at every c: one vector load, one max, one exp8 for all eight, each
// row's sum still taken over c in order (the scalar loop's order; only exp's last bits differ).
// y first holds exp(x − m), then is divided by the sum (the scalar loop recomputes the same exp).
inline void softmax_block8(float* y, const float* x, int64_t C, int64_t inner, bool log) {
  __m256 m = _mm256_loadu_ps(x);
  for (int64_t c = 1; c < C; ++c) m = _mm256_max_ps(_mm256_loadu_ps(x + c * inner), m);  // std::max(m, x)
  __m256 s = _mm256_setzero_ps();
  for (int64_t c = 0; c < C; ++c) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + c * inner), m));
    s = _mm256_add_ps(s, e);
    if (!log) _mm256_storeu_ps(y + c * inner, e);
  }
  if (log) {
    alignas(32) float ms[8], ss[8], lse[8];
    _mm256_store_ps(ms, m);
    _mm256_store_ps(ss, s);
    for (int j = 0; j < 8; ++j) lse[j] = ms[j] + std::log(ss[j]);
    const __m256 l = _mm256_load_ps(lse);
    for (int64_t c = 0; c < C; ++c) _mm256_storeu_ps(y + c * inner, _mm256_sub_ps(_mm256_loadu_ps(x + c * inner), l));
  } else {
    for (int64_t c = 0; c < C; ++c) _mm256_storeu_ps(y + c * inner, _mm256_div_ps(_mm256_loadu_ps(y + c * inner), s));
  }
}

// The cross-entropy's log-sum-exp for eight rows side by side: m = the row's max (float), s = Σ_c
// exp(double(x − m)) in double, over c in order (exp4 on each half of the eight).
inline void log_sum_exp_block8(const float* x, int64_t C, int64_t inner, float* m_out, double* s_out) {
  __m256 m = _mm256_loadu_ps(x);
  for (int64_t c = 1; c < C; ++c) m = _mm256_max_ps(_mm256_loadu_ps(x + c * inner), m);
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (int64_t c = 0; c < C; ++c) {
    add_exp_double(_mm256_sub_ps(_mm256_loadu_ps(x + c * inner), m), lo, hi);
  }
  _mm256_store_ps(m_out, m);
  _mm256_store_pd(s_out, lo);
  _mm256_store_pd(s_out + 4, hi);
}

// Rows that are contiguous (inner = 1: the class dimension last, as the text tasks' logits): each
// row on its own, eight classes per vector. The max is exact in any order; the sum of the exps is
// taken in eight lanes (c ≡ j mod 8) and the lanes then added, which changes the order of the
// additions against the scalar loop (the last bits of the sum; the f32-vs-f64 test bounds it).
inline float hmax8(__m256 v) {
  alignas(32) float a[8];
  _mm256_store_ps(a, v);
  float m = a[0];
  for (int j = 1; j < 8; ++j) m = std::max(m, a[j]);
  return m;
}
inline double hsum(__m256 v) {  // the eight lanes added in double
  alignas(32) float a[8];
  _mm256_store_ps(a, v);
  double s = 0;
  for (int j = 0; j < 8; ++j) s += a[j];
  return s;
}
inline double hsum(__m256d v) {
  alignas(32) double a[4];
  _mm256_store_pd(a, v);
  return a[0] + a[1] + a[2] + a[3];
}
inline float row_max(const float* x, int64_t C) {
  int64_t c = 0;
  float m = x[0];
  if (C >= 8) {
    __m256 v = _mm256_loadu_ps(x);
    for (c = 8; c + 8 <= C; c += 8) v = _mm256_max_ps(_mm256_loadu_ps(x + c), v);
    m = hmax8(v);
  }
  for (; c < C; ++c) m = std::max(m, x[c]);
  return m;
}
inline void softmax_row_contiguous(float* y, const float* x, int64_t C, bool log) {
  const float m = row_max(x, C);
  const __m256 mv = _mm256_set1_ps(m);
  __m256 sv = _mm256_setzero_ps();
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + c), mv));
    sv = _mm256_add_ps(sv, e);
    if (!log) _mm256_storeu_ps(y + c, e);
  }
  float s = float(hsum(sv));
  for (; c < C; ++c) {
    const float e = std::exp(x[c] - m);
    s += e;
    if (!log) y[c] = e;
  }
  if (log) {
    const float lse = m + std::log(s);
    for (c = 0; c < C; ++c) y[c] = x[c] - lse;
  } else {
    const __m256 s8 = _mm256_set1_ps(s);
    for (c = 0; c + 8 <= C; c += 8) _mm256_storeu_ps(y + c, _mm256_div_ps(_mm256_loadu_ps(y + c), s8));
    for (; c < C; ++c) y[c] /= s;
  }
}
// The cross-entropy's log-sum-exp of one contiguous row: m + log Σ exp(double(x − m)), the sum in
// double, four lanes per half of eight classes.
inline double log_sum_exp_contiguous(const float* x, int64_t C) {
  const float m = row_max(x, C);
  const __m256 mv = _mm256_set1_ps(m);
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  int64_t c = 0;
  for (; c + 8 <= C; c += 8) {
    add_exp_double(_mm256_sub_ps(_mm256_loadu_ps(x + c), mv), lo, hi);
  }
  double s = hsum(_mm256_add_pd(lo, hi));
  for (; c < C; ++c) s += std::exp(double(x[c] - m));
  return double(m) + std::log(s);
}
#endif

// y = exp(x − m) / Σ exp(x − m)   (m = max of the row; log: y = x − m − log Σ exp(x − m))
template <typename T> void softmax_rows_forward(T* y, const T* x, SoftmaxRows R, bool log) {
  const int64_t nrows = R.outer * R.inner;
#ifdef SEQNET_VMATH_AVX2
  if constexpr (std::is_same_v<T, float>) {
    if (R.inner == 1) {
#pragma omp parallel for if (nrows * R.C > 65536) schedule(static)
      for (int64_t r = 0; r < nrows; ++r) softmax_row_contiguous(y + r * R.C, x + r * R.C, R.C, log);
      return;
    }
    if (R.inner >= 8) {  // blocks of 8 rows; a last partial block falls through to the loop below
      const int64_t blocks = R.inner / 8;
#pragma omp parallel for if (nrows * R.C > 65536) schedule(static)
      for (int64_t b = 0; b < R.outer * blocks; ++b) {
        const int64_t base = (b / blocks) * R.C * R.inner + (b % blocks) * 8;
        softmax_block8(y + base, x + base, R.C, R.inner, log);
      }
      if (R.inner % 8 == 0) return;
    }
  }
#endif
#pragma omp parallel for if (nrows * R.C > 65536) schedule(static)
  for (int64_t r = 0; r < nrows; ++r) {
    if (in_row_block<T>(R, r)) continue;  // done above
    const int64_t base = (r / R.inner) * R.C * R.inner + r % R.inner;
    const T* xr = x + base;
    T* yr = y + base;
    T m = xr[0];
    for (int64_t c = 1; c < R.C; ++c) m = std::max(m, xr[c * R.inner]);
    T s = 0;
    for (int64_t c = 0; c < R.C; ++c) s += std::exp(xr[c * R.inner] - m);
    if (log) {
      const T lse = m + std::log(s);
      for (int64_t c = 0; c < R.C; ++c) yr[c * R.inner] = xr[c * R.inner] - lse;
    } else {
      for (int64_t c = 0; c < R.C; ++c) yr[c * R.inner] = std::exp(xr[c * R.inner] - m) / s;
    }
  }
}

// softmax:     dx = y ⊙ (dy − Σ dy⊙y)
// log_softmax: dx = dy − exp(y) · Σ dy
template <typename T> void softmax_rows_backward(T* dx, const T* y, const T* dy, SoftmaxRows R, bool log) {
  const int64_t nrows = R.outer * R.inner;
#pragma omp parallel for if (nrows * R.C > 65536) schedule(static)
  for (int64_t r = 0; r < nrows; ++r) {
    const int64_t base = (r / R.inner) * R.C * R.inner + r % R.inner;
    const T* yr = y + base;
    const T* gr = dy + base;
    T* dr = dx + base;
    T s = 0;
    for (int64_t c = 0; c < R.C; ++c) s += log ? gr[c * R.inner] : gr[c * R.inner] * yr[c * R.inner];
    for (int64_t c = 0; c < R.C; ++c) {
      const int64_t k = c * R.inner;
      dr[k] = log ? gr[k] - std::exp(yr[k]) * s : yr[k] * (gr[k] - s);
    }
  }
}

// ---- binary cross-entropy with logits ------------------------------------------------------------

// l = max(x, 0) − x·y + log(1 + exp(−|x|));   dx = s · (σ(x) − y),   dy = −s · x
template <typename T> T bce_value(T x, T y) { return std::max(x, T(0)) - x * y + std::log1p(std::exp(-std::fabs(x))); }
template <typename T> T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

}  // namespace

// ---- the contract --------------------------------------------------------------------------------

void loss_softmax_forward(const Tensor& x, Tensor& y, const SoftmaxRows& R, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  dispatch_float(x.dtype(), name, [&]<typename T>() { softmax_rows_forward(y.data<T>(), x.data<T>(), R, log); });
}

void loss_softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, const SoftmaxRows& R, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  dispatch_float(y.dtype(), name,
                 [&]<typename T>() { softmax_rows_backward(dx.data<T>(), y.data<T>(), dy.data<T>(), R, log); });
}

// Per position p = (o, i) with target t and weight w (mask value, 1 without a mask):
//   loss_p = w · (log Σ_c exp(x_c) − x_t)
double loss_cross_entropy_forward(const Tensor& x, const Tensor& t, const Tensor& w, Tensor& probs, Tensor& out,
                                  const SoftmaxRows& R, Reduction red, const char* mask_desc) {
  const char* op = "cross_entropy";
  const int64_t npos = R.outer * R.inner;
  const std::string mask_str(mask_desc ? mask_desc : "");
  double count = 0;

  dispatch_float(x.dtype(), op, [&]<typename T>() {
    const T* px = x.data<T>();
    const int64_t* pt = t.data<int64_t>();
    const T* pw = w.data<T>();
    // Argument checks first (serially, so the error names the first bad position).
    for (int64_t p = 0; p < npos; ++p) {
      check(pw[p] == T(0) || pw[p] == T(1), "{}: mask must hold only 0 and 1, got {} at position {} (mask {})", op,
            double(pw[p]), p, mask_str);
      if (pw[p] == T(0)) continue;
      if (!(pt[p] >= 0 && pt[p] < R.C))
        fail(fmt::format("{}: target {} at position {} is out of range for {} classes (logits {})", op, pt[p], p, R.C,
                         x.describe()));
      count += 1;
    }
    softmax_rows_forward(probs.data<T>(), px, R, false);
    // loss_p = w · (m + log Σ exp(x − m) − x_t); the log-sum-exp is recomputed from x (not from
    // log(probs[t]), which would underflow to −inf when the target's probability is tiny).
    std::vector<double> lp(size_t(npos), 0.0);
#ifdef SEQNET_VMATH_AVX2
    if constexpr (std::is_same_v<T, float>) {
      if (R.inner == 1) {
#pragma omp parallel for if (npos * R.C > 65536) schedule(static)
        for (int64_t p = 0; p < npos; ++p)
          if (pw[p] != T(0)) lp[size_t(p)] = log_sum_exp_contiguous(px + p * R.C, R.C) - double(px[p * R.C + pt[p]]);
      }
      if (R.inner >= 8) {  // eight positions side by side, as softmax_block8; the tail below
        const int64_t blocks = R.inner / 8;
#pragma omp parallel for if (npos * R.C > 65536) schedule(static)
        for (int64_t b = 0; b < R.outer * blocks; ++b) {
          const int64_t p0 = (b / blocks) * R.inner + (b % blocks) * 8;
          const float* xb = px + (b / blocks) * R.C * R.inner + (b % blocks) * 8;
          alignas(32) float ms[8];
          alignas(32) double ss[8];
          log_sum_exp_block8(xb, R.C, R.inner, ms, ss);
          for (int j = 0; j < 8; ++j)
            if (pw[p0 + j] != T(0))
              lp[size_t(p0 + j)] = double(ms[j]) + std::log(ss[j]) - double(xb[pt[p0 + j] * R.inner + j]);
        }
      }
    }
#endif
#pragma omp parallel for if (npos * R.C > 65536) schedule(static)
    for (int64_t p = 0; p < npos; ++p) {
      if (in_row_block<T>(R, p) || pw[p] == T(0)) continue;
      const T* xr = px + (p / R.inner) * R.C * R.inner + p % R.inner;
      T m = xr[0];
      for (int64_t c = 1; c < R.C; ++c) m = std::max(m, xr[c * R.inner]);
      double s = 0;
      for (int64_t c = 0; c < R.C; ++c) s += std::exp(double(xr[c * R.inner] - m));
      lp[size_t(p)] = double(m) + std::log(s) - double(xr[pt[p] * R.inner]);
    }
    T* po = out.data<T>();
    if (red == Reduction::None) {
      for (int64_t p = 0; p < npos; ++p) po[p] = T(lp[size_t(p)]);
    } else {
      double total = 0;  // accumulate in double: long f32 sequences stay accurate
      for (int64_t p = 0; p < npos; ++p) total += lp[size_t(p)];
      po[0] = T(red == Reduction::Mean ? (count > 0 ? total / count : 0.0) : total);
    }
  });
  return count;
}

//   dx_c = s_p · w · (softmax(x)_c − [c == t])      s_p = dL/dloss_p: dy (Sum), dy / Σw (Mean), dy_p (None)
void loss_cross_entropy_backward(const Tensor& probs, const Tensor& t, const Tensor& w, const Tensor& gc, Tensor& dx,
                                 const SoftmaxRows& R, Reduction red, double count) {
  dispatch_float(probs.dtype(), "cross_entropy", [&]<typename T>() {
    const T* pp = probs.data<T>();
    const int64_t* pt = t.data<int64_t>();
    const T* pw = w.data<T>();
    const T* pg = gc.data<T>();
    T* pd = dx.data<T>();
    const int64_t npos = R.outer * R.inner;
#pragma omp parallel for if (npos * R.C > 65536) schedule(static)
    for (int64_t p = 0; p < npos; ++p) {
      const int64_t base = (p / R.inner) * R.C * R.inner + p % R.inner;
      T s = red == Reduction::None ? pg[p] : red == Reduction::Sum ? pg[0] : (count > 0 ? pg[0] / T(count) : T(0));
      s *= pw[p];
      for (int64_t c = 0; c < R.C; ++c) pd[base + c * R.inner] = s * pp[base + c * R.inner];
      if (pw[p] != T(0)) pd[base + pt[p] * R.inner] -= s;
    }
  });
}

void loss_bce_forward(const Tensor& X, const Tensor& Y, Tensor& out, Reduction red) {
  const int64_t n = X.numel();
  dispatch_float(X.dtype(), "bce_with_logits", [&]<typename T>() {
    const T* px = X.data<T>();
    const T* py = Y.data<T>();
    T* po = out.data<T>();
    if (red == Reduction::None) {
      for (int64_t i = 0; i < n; ++i) po[i] = bce_value(px[i], py[i]);
    } else {
      double total = 0;
#pragma omp parallel for reduction(+ : total) if (n > 65536) schedule(static)
      for (int64_t i = 0; i < n; ++i) total += double(bce_value(px[i], py[i]));
      po[0] = T(red == Reduction::Mean ? (n > 0 ? total / double(n) : 0.0) : total);
    }
  });
}

void loss_bce_backward(const Tensor& X, const Tensor& Y, const Tensor& gc, Tensor& dx, Tensor& dy, Reduction red) {
  const int64_t n = X.numel();
  const bool need_x = dx.defined(), need_y = dy.defined();
  dispatch_float(X.dtype(), "bce_with_logits", [&]<typename T>() {
    const T* px = X.data<T>();
    const T* py = Y.data<T>();
    const T* pg = gc.data<T>();
    T* pdx = need_x ? dx.data<T>() : nullptr;
    T* pdy = need_y ? dy.data<T>() : nullptr;
    const T scalar = red == Reduction::Mean ? (n > 0 ? pg[0] / T(n) : T(0)) : pg[0];
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const T s = red == Reduction::None ? pg[i] : scalar;
      if (pdx) pdx[i] = s * (stable_sigmoid(px[i]) - py[i]);
      if (pdy) pdy[i] = -s * px[i];
    }
  });
}

// out[(a·C + id)·B + b] = 1 for ids viewed as (A, B); the class axis sits between A and B.
void loss_one_hot(const char* op, const Tensor& id, Tensor& out, int64_t C, int64_t B) {
  const int64_t* pi = id.data<int64_t>();
  const int64_t n = id.numel();
  for (int64_t k = 0; k < n; ++k)
    if (!(pi[k] >= 0 && pi[k] < C))
      fail(fmt::format("{}: id {} at position {} is out of range for {} classes (ids {})", op, pi[k], k, C,
                       id.describe()));
  auto fill = [&]<typename T>() {
    T* po = out.data<T>();
    for (int64_t k = 0; k < n; ++k) po[((k / B) * C + pi[k]) * B + k % B] = T(1);
  };
  if (out.dtype() == DType::F32) fill.template operator()<float>();
  else if (out.dtype() == DType::F64) fill.template operator()<double>();
  else fill.template operator()<int64_t>();
}

LossKernels loss_kernels() {
  return {.softmax_forward = loss_softmax_forward,
          .softmax_backward = loss_softmax_backward,
          .cross_entropy_forward = loss_cross_entropy_forward,
          .cross_entropy_backward = loss_cross_entropy_backward,
          .bce_forward = loss_bce_forward,
          .bce_backward = loss_bce_backward,
          .one_hot = loss_one_hot};
}

}  // namespace seqnet::cpu
