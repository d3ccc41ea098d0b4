// ops/cpu/loss.cpp — the CPU loss kernels (contract: ops/kernels/loss.h): OpenMP loops over the
// rows (positions) of the (outer, C, inner) view.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {

// ---- softmax / log_softmax --------------------------------------------------------------------

// y = exp(x − m) / Σ exp(x − m)   (m = max of the row; log: y = x − m − log Σ exp(x − m))
template <typename T> void softmax_rows_forward(T* y, const T* x, SoftmaxRows R, bool log) {
  const int64_t nrows = R.outer * R.inner;
#pragma omp parallel for if (nrows * R.C > 65536) schedule(static)
  for (int64_t r = 0; r < nrows; ++r) {
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
#pragma omp parallel for if (npos * R.C > 65536) schedule(static)
    for (int64_t p = 0; p < npos; ++p) {
      if (pw[p] == T(0)) continue;
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
