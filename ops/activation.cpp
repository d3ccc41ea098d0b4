// ops/activation.cpp — forward and backward of each activation, side by side (llm.c style).
#include "ops/activation.h"

#include <cmath>

#include "ops/dispatch.h"

namespace seqnet {

namespace {

// y = tanh(x);  dx = dy · (1 − y²)
template <typename T> void tanh_forward(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
template <typename T> void tanh_backward(T* dx, const T* y, const T* dy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
}

// y = 1 / (1 + e^−x);  dx = dy · y · (1 − y)
template <typename T> void sigmoid_forward(T* y, const T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = T(1) / (T(1) + std::exp(-x[i]));
}
template <typename T> void sigmoid_backward(T* dx, const T* y, const T* dy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
}

// y = x > 0 ? x : slope·x;  dx = dy · (x > 0 ? 1 : slope)   (relu: slope = 0)
template <typename T> void leaky_relu_forward(T* y, const T* x, int64_t n, T slope) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : slope * x[i];
}
template <typename T> void leaky_relu_backward(T* dx, const T* x, const T* dy, int64_t n, T slope) {
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > T(0) ? dy[i] : slope * dy[i];
}

// Runs fwd(y, x, n) on a contiguous copy of x; the backward closure runs
// bwd(dx, saved, dy, n) where `saved` is the output (save_output) or the input.
template <class Fwd, class Bwd>
Variable unary_op(const char* name, const Variable& v, bool save_output, Fwd fwd, Bwd bwd) {
  Tensor x = v.data().contiguous();
  check_cpu(x, name);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), name, [&]<typename T>() { fwd(y.data<T>(), x.data<T>(), x.numel()); });
  Tensor saved = save_output ? y : x;
  return make_result(name, y, {v}, [saved, bwd, name](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dx = Tensor::empty(saved.shape(), saved.dtype());
    dispatch_float(saved.dtype(), name, [&]<typename T>() { bwd(dx.data<T>(), saved.data<T>(), gc.data<T>(), saved.numel()); });
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

Variable tanh(const Variable& x) {
  return unary_op("tanh", x, true,
      []<typename T>(T* y, const T* in, int64_t n) { tanh_forward(y, in, n); },
      []<typename T>(T* dx, const T* y, const T* dy, int64_t n) { tanh_backward(dx, y, dy, n); });
}

Variable sigmoid(const Variable& x) {
  return unary_op("sigmoid", x, true,
      []<typename T>(T* y, const T* in, int64_t n) { sigmoid_forward(y, in, n); },
      []<typename T>(T* dx, const T* y, const T* dy, int64_t n) { sigmoid_backward(dx, y, dy, n); });
}

Variable relu(const Variable& x) {
  return unary_op("relu", x, false,
      []<typename T>(T* y, const T* in, int64_t n) { leaky_relu_forward(y, in, n, T(0)); },
      []<typename T>(T* dx, const T* in, const T* dy, int64_t n) { leaky_relu_backward(dx, in, dy, n, T(0)); });
}

Variable leaky_relu(const Variable& x, double slope) {
  return unary_op("leaky_relu", x, false,
      [slope]<typename T>(T* y, const T* in, int64_t n) { leaky_relu_forward(y, in, n, T(slope)); },
      [slope]<typename T>(T* dx, const T* in, const T* dy, int64_t n) { leaky_relu_backward(dx, in, dy, n, T(slope)); });
}


// ---- gated unit ---------------------------------------------------------------------------------
namespace {

// t = tanh(f), s = σ(g), y = t·s;  df = dy·s·(1 − t²),  dg = dy·t·s·(1 − s)
template <typename T> void gated_forward(T* y, T* t, T* s, const T* f, const T* g, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    t[i] = std::tanh(f[i]);
    s[i] = T(1) / (T(1) + std::exp(-g[i]));
    y[i] = t[i] * s[i];
  }
}
template <typename T> void gated_backward(T* df, T* dg, const T* t, const T* s, const T* dy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    df[i] = dy[i] * s[i] * (T(1) - t[i] * t[i]);
    dg[i] = dy[i] * t[i] * s[i] * (T(1) - s[i]);
  }
}

}  // namespace

Variable gated(const Variable& filter, const Variable& gate) {
  check(filter.defined() && gate.defined(), "gated: filter or gate is undefined");
  check(filter.shape() == gate.shape(), "gated: filter {} and gate {} must have the same shape",
        filter.data().describe(), gate.data().describe());
  check_same_dtype(filter.data(), gate.data(), "gated");
  Tensor f = filter.data().contiguous(), g = gate.data().contiguous();
  check_cpu(f, "gated");
  check_cpu(g, "gated");
  // tanh(f) and σ(g) are all the backward needs; keep them instead of the inputs.
  Tensor y = Tensor::empty(f.shape(), f.dtype());
  Tensor t = Tensor::empty(f.shape(), f.dtype());
  Tensor s = Tensor::empty(f.shape(), f.dtype());
  dispatch_float(f.dtype(), "gated", [&]<typename T>() {
    gated_forward<T>(y.data<T>(), t.data<T>(), s.data<T>(), f.data<T>(), g.data<T>(), f.numel());
  });
  return make_result("gated", y, {filter, gate}, [t, s](const Tensor& gy) {
    Tensor dy = gy.contiguous();
    Tensor df = Tensor::empty(t.shape(), t.dtype());
    Tensor dg = Tensor::empty(t.shape(), t.dtype());
    dispatch_float(t.dtype(), "gated", [&]<typename T>() {
      gated_backward<T>(df.data<T>(), dg.data<T>(), t.data<T>(), s.data<T>(), dy.data<T>(), t.numel());
    });
    return std::vector<Tensor>{df, dg};
  });
}

}  // namespace seqnet
