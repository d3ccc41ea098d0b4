// cuda/ops/activation.cu — the CUDA activation kernels (contract: ops/kernels/activation.h; the CPU
// twins: ops/cpu/activation.cpp). All tensors contiguous, one shape; one thread per element.
#include <cmath>

#include "cuda/backend.h"
#include "cuda/context.h"

namespace seqnet::cuda {

namespace {

// tanh: y = tanh(x);  sigmoid: y = 1 / (1 + e^−x);  leaky_relu: y = x > 0 ? x : slope·x
template <typename T>
__global__ void forward_kernel(Activation a, T* y, const T* x, T slope, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const T v = x[i];
  switch (a) {
    case Activation::Tanh: y[i] = tanh(v); break;
    case Activation::Sigmoid: y[i] = T(1) / (T(1) + exp(-v)); break;
    case Activation::LeakyRelu: y[i] = v > T(0) ? v : slope * v; break;
  }
}

// tanh: dx = dy · (1 − y²);  sigmoid: dx = dy · y · (1 − y)  (saved = y);
// leaky_relu: dx = s > 0 ? dy : slope·dy  (saved s = y for slope ≥ 0, where y > 0 ⟺ x > 0; else x)
template <typename T>
__global__ void backward_kernel(Activation a, T* dx, const T* saved, const T* dy, T slope, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const T v = saved[i];
  switch (a) {
    case Activation::Tanh: dx[i] = dy[i] * (T(1) - v * v); break;
    case Activation::Sigmoid: dx[i] = dy[i] * v * (T(1) - v); break;
    case Activation::LeakyRelu: dx[i] = v > T(0) ? dy[i] : slope * dy[i]; break;
  }
}

// s = a + b, y = s > 0 ? s : 0·s   (relu(a + b))
template <typename T>
__global__ void add_relu_forward_kernel(T* y, const T* a, const T* b, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const T s = a[i] + b[i];
  y[i] = s > T(0) ? s : T(0) * s;
}

// t = tanh(f), s = σ(g), y = t·s
template <typename T>
__global__ void gated_forward_kernel(T* y, T* t, T* s, const T* f, const T* g, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const T tv = tanh(f[i]);
  const T sv = T(1) / (T(1) + exp(-g[i]));
  t[i] = tv;
  s[i] = sv;
  y[i] = tv * sv;
}

// df = dy·s·(1 − t²),  dg = dy·t·s·(1 − s)
template <typename T>
__global__ void gated_backward_kernel(T* df, T* dg, const T* t, const T* s, const T* dy, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const T tv = t[i], sv = s[i], d = dy[i];
  df[i] = d * sv * (T(1) - tv * tv);
  dg[i] = d * tv * sv * (T(1) - sv);
}

// f.template operator()<T>() for f32 / f64; an Error naming `op` otherwise.
template <class F>
void on_float(DType t, const char* op, F&& f) {
  if (t == DType::F32) return f.template operator()<float>();
  if (t == DType::F64) return f.template operator()<double>();
  fail(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, dtype_name(t)));
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
  const int64_t n = x.numel();
  const char* op = name_of(a);
  const Context& ctx = context_of(y);
  on_float(x.dtype(), op, [&]<typename T>() {
    if (n == 0) return;
    forward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(a, y.data<T>(), x.data<T>(), T(slope), n);
  });
  check_launch(op);
}

void activation_backward(Activation a, const Tensor& saved, const Tensor& dy, Tensor& dx, double slope) {
  const int64_t n = saved.numel();
  const char* op = name_of(a);
  const Context& ctx = context_of(dx);
  on_float(saved.dtype(), op, [&]<typename T>() {
    if (n == 0) return;
    backward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(a, dx.data<T>(), saved.data<T>(), dy.data<T>(),
                                                                    T(slope), n);
  });
  check_launch(op);
}

void activation_add_relu_forward(const Tensor& a, const Tensor& b, Tensor& y) {
  const int64_t n = a.numel();
  const Context& ctx = context_of(y);
  on_float(a.dtype(), "add_relu", [&]<typename T>() {
    if (n == 0) return;
    add_relu_forward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(y.data<T>(), a.data<T>(), b.data<T>(), n);
  });
  check_launch("add_relu");
}

void activation_gated_forward(const Tensor& f, const Tensor& g, Tensor& y, Tensor& t, Tensor& s) {
  const int64_t n = f.numel();
  const Context& ctx = context_of(y);
  on_float(f.dtype(), "gated", [&]<typename T>() {
    if (n == 0) return;
    gated_forward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(y.data<T>(), t.data<T>(), s.data<T>(),
                                                                         f.data<T>(), g.data<T>(), n);
  });
  check_launch("gated");
}

void activation_gated_backward(const Tensor& t, const Tensor& s, const Tensor& dy, Tensor& df, Tensor& dg) {
  const int64_t n = t.numel();
  const Context& ctx = context_of(df);
  on_float(t.dtype(), "gated", [&]<typename T>() {
    if (n == 0) return;
    gated_backward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(df.data<T>(), dg.data<T>(), t.data<T>(),
                                                                          s.data<T>(), dy.data<T>(), n);
  });
  check_launch("gated");
}

ActivationKernels activation_kernels() {
  return {.forward = activation_forward,
          .backward = activation_backward,
          .add_relu_forward = activation_add_relu_forward,
          .gated_forward = activation_gated_forward,
          .gated_backward = activation_gated_backward};
}

}  // namespace seqnet::cuda
