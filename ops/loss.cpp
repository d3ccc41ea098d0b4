// ops/loss.cpp — softmax / log-softmax / cross-entropy / BCE, forward and backward side by side.
//
// Every kernel sees a contiguous tensor as (outer, C, inner): the reduced axis has C entries,
// `inner` is the product of the dimensions after it (its stride), `outer` of those before it.
// Row r = (o, i) of the reduction then lives at x[(o·C + c)·inner + i], c = 0 .. C−1.
#include "ops/loss.h"

#include <algorithm>
#include <cmath>

#include "ops/dispatch.h"

namespace seqnet {

namespace {

struct Rows {
  int64_t outer = 1, C = 1, inner = 1;
};

// Wrap `dim` (negative counts from the end) with an error that names the op.
int wrap_axis(const Tensor& x, int dim, const char* op) {
  const int nd = x.dim();
  check(nd >= 1, "{}: expected a tensor with at least 1 dimension, got {}", op, x.describe());
  check(dim >= -nd && dim < nd, "{}: dim {} is out of range for {}", op, dim, x.describe());
  return dim < 0 ? dim + nd : dim;
}

Rows rows_of(const Shape& s, int dim) {
  Rows r;
  for (int d = 0; d < int(s.size()); ++d) {
    if (d < dim) r.outer *= s[size_t(d)];
    else if (d == dim) r.C = s[size_t(d)];
    else r.inner *= s[size_t(d)];
  }
  return r;
}

// ---- softmax / log_softmax --------------------------------------------------------------------

// y = exp(x − m) / Σ exp(x − m)   (m = max of the row; log: y = x − m − log Σ exp(x − m))
template <typename T> void softmax_forward(T* y, const T* x, Rows R, bool log) {
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
template <typename T> void softmax_backward(T* dx, const T* y, const T* dy, Rows R, bool log) {
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

Variable softmax_op(const char* name, const Variable& v, int dim, bool log) {
  check(v.defined(), "{}: input is undefined", name);
  Tensor x = v.data().contiguous();
  check_cpu(x, name);
  const Rows R = rows_of(x.shape(), wrap_axis(x, dim, name));
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), name, [&]<typename T>() { softmax_forward(y.data<T>(), x.data<T>(), R, log); });
  return make_result(name, y, {v}, [y, R, log, name](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dx = Tensor::empty(y.shape(), y.dtype());
    dispatch_float(y.dtype(), name, [&]<typename T>() { softmax_backward(dx.data<T>(), y.data<T>(), gc.data<T>(), R, log); });
    return std::vector<Tensor>{dx};
  });
}

// ---- cross-entropy --------------------------------------------------------------------------------

// Per position p = (o, i) with target t and weight w (mask value, 1 without a mask):
//   loss_p = w · (log Σ_c exp(x_c) − x_t)
//   dx_c   = s_p · w · (softmax(x)_c − [c == t])      s_p = dL/dloss_p: dy (Sum), dy / Σw (Mean), dy_p (None)
Variable cross_entropy_impl(const Variable& logits, const Tensor& targets, const Tensor* mask, Reduction red,
                            int class_dim) {
  const char* op = "cross_entropy";
  check(logits.defined(), "{}: logits are undefined", op);
  check_defined(targets, op, "targets");
  const Tensor& L = logits.data();
  check_cpu(L, op);
  check(is_floating(L.dtype()), "{}: logits must be f32 or f64, got {}", op, L.describe());
  check(targets.dtype() == DType::I64, "{}: targets must be int64 class ids, got {} (logits {})", op,
        targets.describe(), L.describe());
  const int cd = wrap_axis(L, class_dim, op);
  Shape tshape = L.shape();
  tshape.erase(tshape.begin() + cd);
  check(targets.shape() == tshape,
        "{}: targets {} do not match logits {} with classes on dim {} (expected targets of shape {})", op,
        targets.describe(), L.describe(), cd, shape_str(tshape));
  const Rows R = rows_of(L.shape(), cd);
  check(R.C >= 1, "{}: logits {} have no classes", op, L.describe());
  const int64_t npos = R.outer * R.inner;

  // Weights per position (the mask in the logits' dtype, or all ones).
  Tensor w;
  if (mask) {
    check_defined(*mask, op, "mask");
    check(mask->shape() == tshape, "{}: mask {} does not match targets {}", op, mask->describe(), targets.describe());
    w = mask->to(L.dtype()).contiguous();
  } else {
    w = Tensor::ones(tshape, L.dtype());
  }
  Tensor x = L.contiguous();
  Tensor t = targets.contiguous();
  Tensor probs = Tensor::empty(L.shape(), L.dtype());
  Tensor out = Tensor::empty(red == Reduction::None ? tshape : Shape{}, L.dtype());
  double count = 0;

  dispatch_float(L.dtype(), op, [&]<typename T>() {
    const T* px = x.data<T>();
    const int64_t* pt = t.data<int64_t>();
    const T* pw = w.data<T>();
    // Argument checks first (serially, so the error names the first bad position).
    for (int64_t p = 0; p < npos; ++p) {
      check(pw[p] == T(0) || pw[p] == T(1), "{}: mask must hold only 0 and 1, got {} at position {} (mask {})", op,
            double(pw[p]), p, mask ? mask->describe() : std::string());
      if (pw[p] == T(0)) continue;
      check(pt[p] >= 0 && pt[p] < R.C, "{}: target {} at position {} is out of range for {} classes (logits {})", op,
            pt[p], p, R.C, L.describe());
      count += 1;
    }
    softmax_forward(probs.data<T>(), px, R, false);
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

  return make_result(op, out, {logits}, [probs, t, w, R, red, count, op](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dx = Tensor::empty(probs.shape(), probs.dtype());
    dispatch_float(probs.dtype(), op, [&]<typename T>() {
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
    return std::vector<Tensor>{dx};
  });
}

// ---- binary cross-entropy with logits ------------------------------------------------------------

// l = max(x, 0) − x·y + log(1 + exp(−|x|));   dx = s · (σ(x) − y),   dy = −s · x
template <typename T> T bce_forward(T x, T y) { return std::max(x, T(0)) - x * y + std::log1p(std::exp(-std::fabs(x))); }
template <typename T> T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

}  // namespace

Variable softmax(const Variable& x, int dim) { return softmax_op("softmax", x, dim, false); }
Variable log_softmax(const Variable& x, int dim) { return softmax_op("log_softmax", x, dim, true); }

Variable cross_entropy(const Variable& logits, const Tensor& targets, Reduction r, int class_dim) {
  return cross_entropy_impl(logits, targets, nullptr, r, class_dim);
}

Variable cross_entropy(const Variable& logits, const Tensor& targets, const Tensor& mask, Reduction r,
                       int class_dim) {
  return cross_entropy_impl(logits, targets, &mask, r, class_dim);
}

Variable bce_with_logits(const Variable& logits, const Variable& targets, Reduction red) {
  const char* op = "bce_with_logits";
  check(logits.defined() && targets.defined(), "{}: logits or targets are undefined", op);
  const Tensor& X0 = logits.data();
  const Tensor& Y0 = targets.data();
  check_cpu(X0, op);
  check(is_floating(X0.dtype()), "{}: logits must be f32 or f64, got {}", op, X0.describe());
  check(X0.shape() == Y0.shape() && X0.dtype() == Y0.dtype(),
        "{}: targets {} must have the shape and dtype of logits {}", op, Y0.describe(), X0.describe());
  Tensor X = X0.contiguous(), Y = Y0.contiguous();
  const int64_t n = X.numel();
  Tensor out = Tensor::empty(red == Reduction::None ? X.shape() : Shape{}, X.dtype());
  dispatch_float(X.dtype(), op, [&]<typename T>() {
    const T* px = X.data<T>();
    const T* py = Y.data<T>();
    T* po = out.data<T>();
    if (red == Reduction::None) {
      for (int64_t i = 0; i < n; ++i) po[i] = bce_forward(px[i], py[i]);
    } else {
      double total = 0;
#pragma omp parallel for reduction(+ : total) if (n > 65536) schedule(static)
      for (int64_t i = 0; i < n; ++i) total += double(bce_forward(px[i], py[i]));
      po[0] = T(red == Reduction::Mean ? (n > 0 ? total / double(n) : 0.0) : total);
    }
  });
  const bool need_x = logits.requires_grad(), need_y = targets.requires_grad();
  return make_result(op, out, {logits, targets}, [X, Y, red, n, need_x, need_y, op](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dx = need_x ? Tensor::empty(X.shape(), X.dtype()) : Tensor();
    Tensor dy = need_y ? Tensor::empty(Y.shape(), Y.dtype()) : Tensor();
    dispatch_float(X.dtype(), op, [&]<typename T>() {
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
    return std::vector<Tensor>{dx, dy};
  });
}

// ---- one-hot --------------------------------------------------------------------------------------

namespace {
// out[(a·C + id)·B + b] = 1 for ids viewed as (A, B); the class axis sits between A and B.
Tensor one_hot_impl(const char* op, const Tensor& ids, int64_t C, DType dtype, Shape out_shape, int64_t B) {
  check_defined(ids, op, "ids");
  check(ids.dtype() == DType::I64, "{}: ids must be int64, got {}", op, ids.describe());
  check(C >= 1, "{}: num_classes must be >= 1, got {}", op, C);
  check(is_floating(dtype) || dtype == DType::I64, "{}: unsupported dtype", op);
  Tensor id = ids.contiguous();
  const int64_t* pi = id.data<int64_t>();
  const int64_t n = id.numel();
  for (int64_t k = 0; k < n; ++k)
    check(pi[k] >= 0 && pi[k] < C, "{}: id {} at position {} is out of range for {} classes (ids {})", op, pi[k], k,
          C, ids.describe());
  Tensor out = Tensor::zeros(out_shape, dtype);
  auto fill = [&]<typename T>() {
    T* po = out.data<T>();
    for (int64_t k = 0; k < n; ++k) po[((k / B) * C + pi[k]) * B + k % B] = T(1);
  };
  if (dtype == DType::F32) fill.template operator()<float>();
  else if (dtype == DType::F64) fill.template operator()<double>();
  else fill.template operator()<int64_t>();
  return out;
}
}  // namespace

Tensor one_hot(const Tensor& ids, int64_t num_classes, DType dtype) {
  check_defined(ids, "one_hot", "ids");
  Shape s = ids.shape();
  s.push_back(num_classes);
  return one_hot_impl("one_hot", ids, num_classes, dtype, s, 1);
}

Tensor one_hot_channels_first(const Tensor& ids, int64_t num_classes, DType dtype) {
  const char* op = "one_hot_channels_first";
  check_defined(ids, op, "ids");
  check(ids.dim() >= 1, "{}: ids must have a batch axis (N, T...), got {}", op, ids.describe());
  Shape s = ids.shape();
  s.insert(s.begin() + 1, num_classes);
  const int64_t B = ids.size(0) == 0 ? 1 : std::max<int64_t>(1, ids.numel() / ids.size(0));
  return one_hot_impl(op, ids, num_classes, dtype, s, B);
}

}  // namespace seqnet
