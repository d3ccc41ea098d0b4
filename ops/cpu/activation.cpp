// ops/cpu/activation.cpp — the CPU activation kernels, forward and backward side by side
// (contract: ops/kernels/activation.h).
#include <cmath>
#include <type_traits>

#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/vmath.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {

// y = tanh(x);  dx = dy · (1 − y²)
template <typename T> void tanh_forward(T* y, const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) return tanh_f32(y, x, n);  // vmath.h: 8 at a time
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
template <typename T> void tanh_backward(T* dx, const T* y, const T* dy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (T(1) - y[i] * y[i]);
}

// y = 1 / (1 + e^−x);  dx = dy · y · (1 − y)
template <typename T> void sigmoid_forward(T* y, const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) return sigmoid_f32(y, x, n);
  for (int64_t i = 0; i < n; ++i) y[i] = T(1) / (T(1) + std::exp(-x[i]));
}
template <typename T> void sigmoid_backward(T* dx, const T* y, const T* dy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (T(1) - y[i]);
}

// y = x > 0 ? x : slope·x;  dx = dy · (x > 0 ? 1 : slope)   (relu: slope = 0)
template <typename T> void leaky_relu_forward(T* y, const T* x, int64_t n, T slope) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : slope * x[i];
}
// s: the saved output (slope ≥ 0: y > 0 ⟺ x > 0) or input (a negative slope)
template <typename T>
void leaky_relu_backward(T* dx, const T* s, const T* dy, int64_t n, T slope) {
  for (int64_t i = 0; i < n; ++i) dx[i] = s[i] > T(0) ? dy[i] : slope * dy[i];
}

// s = a + b, y = s > 0 ? s : 0·s   (relu(a + b); backward: leaky_relu_backward with slope 0 on y)
template <typename T>
void add_relu_fwd(T* y, const T* a, const T* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T s = a[i] + b[i];
    y[i] = s > T(0) ? s : T(0) * s;
  }
}

// t = tanh(f), s = σ(g), y = t·s;  df = dy·s·(1 − t²),  dg = dy·t·s·(1 − s)
template <typename T> void gated_fwd(T* y, T* t, T* s, const T* f, const T* g, int64_t n) {
  if constexpr (std::is_same_v<T, float>) return gated_f32(y, t, s, f, g, n);
  for (int64_t i = 0; i < n; ++i) {
    t[i] = std::tanh(f[i]);
    s[i] = T(1) / (T(1) + std::exp(-g[i]));
    y[i] = t[i] * s[i];
  }
}
template <typename T> void gated_bwd(T* df, T* dg, const T* t, const T* s, const T* dy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    df[i] = dy[i] * s[i] * (T(1) - t[i] * t[i]);
    dg[i] = dy[i] * t[i] * s[i] * (T(1) - s[i]);
  }
}

const char* name_of(Activation a) {
  switch (a) {
    case Activation::Tanh: return "tanh";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::LeakyRelu: return "leaky_relu";
  }
  return "activation";
}

}  // namespace

void activation_forward(Activation a, const Tensor& x, Tensor& y, double slope) {
  dispatch_float(x.dtype(), name_of(a), [&]<typename T>() {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const int64_t grain = a == Activation::LeakyRelu ? kGrainCheap : kGrainTranscendental;
    parallel_range(x.numel(), grain, [&](int64_t lo, int64_t hi) {
      switch (a) {
        case Activation::Tanh: tanh_forward(py + lo, px + lo, hi - lo); break;
        case Activation::Sigmoid: sigmoid_forward(py + lo, px + lo, hi - lo); break;
        case Activation::LeakyRelu: leaky_relu_forward(py + lo, px + lo, hi - lo, T(slope)); break;
      }
    });
  });
}

void activation_backward(Activation a, const Tensor& saved, const Tensor& dy, Tensor& dx, double slope) {
  dispatch_float(saved.dtype(), name_of(a), [&]<typename T>() {
    const T* ps = saved.data<T>();
    const T* pg = dy.data<T>();
    T* pd = dx.data<T>();
    parallel_range(saved.numel(), kGrainCheap, [&](int64_t lo, int64_t hi) {
      switch (a) {
        case Activation::Tanh: tanh_backward(pd + lo, ps + lo, pg + lo, hi - lo); break;
        case Activation::Sigmoid: sigmoid_backward(pd + lo, ps + lo, pg + lo, hi - lo); break;
        case Activation::LeakyRelu: leaky_relu_backward(pd + lo, ps + lo, pg + lo, hi - lo, T(slope)); break;
      }
    });
  });
}

void activation_add_relu_forward(const Tensor& a, const Tensor& b, Tensor& y) {
  dispatch_float(a.dtype(), "add_relu", [&]<typename T>() {
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T* py = y.data<T>();
    parallel_range(a.numel(), kGrainCheap,
                   [&](int64_t lo, int64_t hi) { add_relu_fwd<T>(py + lo, pa + lo, pb + lo, hi - lo); });
  });
}

void activation_gated_forward(const Tensor& f, const Tensor& g, Tensor& y, Tensor& t, Tensor& s) {
  dispatch_float(f.dtype(), "gated", [&]<typename T>() {
    T *py = y.data<T>(), *pt = t.data<T>(), *ps = s.data<T>();
    const T *pf = f.data<T>(), *pg = g.data<T>();
    parallel_range(f.numel(), kGrainTranscendental / 2, [&](int64_t lo, int64_t hi) {
      gated_fwd<T>(py + lo, pt + lo, ps + lo, pf + lo, pg + lo, hi - lo);
    });
  });
}

void activation_gated_backward(const Tensor& t, const Tensor& s, const Tensor& dy, Tensor& df, Tensor& dg) {
  dispatch_float(t.dtype(), "gated", [&]<typename T>() {
    T *pdf = df.data<T>(), *pdg = dg.data<T>();
    const T *pt = t.data<T>(), *ps = s.data<T>(), *pdy = dy.data<T>();
    parallel_range(t.numel(), kGrainCheap, [&](int64_t lo, int64_t hi) {
      gated_bwd<T>(pdf + lo, pdg + lo, pt + lo, ps + lo, pdy + lo, hi - lo);
    });
  });
}

ActivationKernels activation_kernels() {
  return {.forward = activation_forward,
          .backward = activation_backward,
          .add_relu_forward = activation_add_relu_forward,
          .gated_forward = activation_gated_forward,
          .gated_backward = activation_gated_backward};
}

}  // namespace seqnet::cpu
