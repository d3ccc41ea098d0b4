// ops/pool.cpp — max and average pooling over time, forward and backward side by side.
#include "ops/pool.h"

#include <algorithm>
#include <cmath>

#include "ops/dispatch.h"

namespace seqnet {

namespace {

// The geometry of one pooling call, checked once for both ops.
struct PoolGeom {
  int64_t rows, T, T_out, k, s, p;
};

PoolGeom pool_geometry(const char* op, const Variable& x, int64_t kernel, std::optional<int64_t> stride,
                       int64_t padding) {
  check(x.defined(), "{}: the input is undefined", op);
  const Tensor& t = x.data();
  check(t.dim() >= 1, "{}: expected (N, C, T) with time last, got {}", op, t.describe());
  check_cpu(t, op);
  const int64_t s = stride.value_or(kernel);
  check(kernel >= 1, "{}: kernel must be >= 1, got {} (input {})", op, kernel, t.describe());
  check(s >= 1, "{}: stride must be >= 1, got {} (input {})", op, s, t.describe());
  check(padding >= 0 && padding <= kernel / 2,
        "{}: padding must be between 0 and kernel / 2 = {}, got {} (input {})", op, kernel / 2, padding,
        t.describe());
  const int64_t T = t.size(-1);
  check(T >= 1, "{}: the input {} has no time steps", op, t.describe());
  check(T + 2 * padding >= kernel,
        "{}: input {} is too short for kernel {} with padding {} (padded length {} < kernel)", op, t.describe(),
        kernel, padding, T + 2 * padding);
  const int64_t rows = t.numel() / T;
  return {rows, T, (T + 2 * padding - kernel) / s + 1, kernel, s, padding};
}

Shape pooled_shape(const Variable& x, int64_t T_out) {
  Shape s = x.shape();
  s.back() = T_out;
  return s;
}

// y[j] = max_{i in window j ∩ [0, T)} x[i], arg[j] = that i (first max; NaN wins, as in PyTorch);
// dx[arg[j]] += dy[j]
template <typename T>
void max_pool_forward(T* y, int64_t* arg, const T* x, const PoolGeom& g) {
  for (int64_t r = 0; r < g.rows; ++r) {
    const T* xr = x + r * g.T;
    for (int64_t j = 0; j < g.T_out; ++j) {
      const int64_t start = j * g.s - g.p;
      const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(start + g.k, g.T);
      int64_t best = lo;  // padding is −inf: only real steps can be the max (lo < hi as p <= k/2)
      for (int64_t i = lo + 1; i < hi; ++i)
        if (xr[i] > xr[best] || std::isnan(xr[i])) best = i;
      y[r * g.T_out + j] = xr[best];
      arg[r * g.T_out + j] = best;
    }
  }
}
template <typename T>
void max_pool_backward(T* dx, const int64_t* arg, const T* dy, const PoolGeom& g) {
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t j = 0; j < g.T_out; ++j) dx[r * g.T + arg[r * g.T_out + j]] += dy[r * g.T_out + j];
}

// y[j] = (1/k) Σ_{i in window j ∩ [0, T)} x[i]   (padding adds zeros but still counts in k);
// dx[i] += dy[j] / k for every i in window j
template <typename T>
void avg_pool_forward(T* y, const T* x, const PoolGeom& g) {
  for (int64_t r = 0; r < g.rows; ++r) {
    const T* xr = x + r * g.T;
    for (int64_t j = 0; j < g.T_out; ++j) {
      const int64_t start = j * g.s - g.p;
      const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(start + g.k, g.T);
      T sum = 0;
      for (int64_t i = lo; i < hi; ++i) sum += xr[i];
      y[r * g.T_out + j] = sum / T(g.k);
    }
  }
}
template <typename T>
void avg_pool_backward(T* dx, const T* dy, const PoolGeom& g) {
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t j = 0; j < g.T_out; ++j) {
      const int64_t start = j * g.s - g.p;
      const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(start + g.k, g.T);
      const T share = dy[r * g.T_out + j] / T(g.k);
      for (int64_t i = lo; i < hi; ++i) dx[r * g.T + i] += share;
    }
}

}  // namespace

Variable max_pool1d(const Variable& v, int64_t kernel, std::optional<int64_t> stride, int64_t padding) {
  const PoolGeom g = pool_geometry("max_pool1d", v, kernel, stride, padding);
  Tensor x = v.data().contiguous();
  Tensor y = Tensor::empty(pooled_shape(v, g.T_out), x.dtype());
  Tensor arg = Tensor::empty(pooled_shape(v, g.T_out), DType::I64);
  dispatch_float(x.dtype(), "max_pool1d", [&]<typename T>() {
    max_pool_forward<T>(y.data<T>(), arg.data<int64_t>(), x.data<T>(), g);
  });
  Shape in = x.shape();
  return make_result("max_pool1d", y, {v}, [g, arg, in](const Tensor& gy) {
    Tensor dy = gy.contiguous();
    Tensor dx = Tensor::zeros(in, dy.dtype());
    dispatch_float(dy.dtype(), "max_pool1d", [&]<typename T>() {
      max_pool_backward<T>(dx.data<T>(), arg.data<int64_t>(), dy.data<T>(), g);
    });
    return std::vector<Tensor>{dx};
  });
}

Variable avg_pool1d(const Variable& v, int64_t kernel, std::optional<int64_t> stride, int64_t padding) {
  const PoolGeom g = pool_geometry("avg_pool1d", v, kernel, stride, padding);
  Tensor x = v.data().contiguous();
  Tensor y = Tensor::empty(pooled_shape(v, g.T_out), x.dtype());
  dispatch_float(x.dtype(), "avg_pool1d", [&]<typename T>() { avg_pool_forward<T>(y.data<T>(), x.data<T>(), g); });
  Shape in = x.shape();
  return make_result("avg_pool1d", y, {v}, [g, in](const Tensor& gy) {
    Tensor dy = gy.contiguous();
    Tensor dx = Tensor::zeros(in, dy.dtype());
    dispatch_float(dy.dtype(), "avg_pool1d", [&]<typename T>() { avg_pool_backward<T>(dx.data<T>(), dy.data<T>(), g); });
    return std::vector<Tensor>{dx};
  });
}

}  // namespace seqnet
