// ops/cpu/elementwise.cpp — the CPU elementwise kernels (contract: ops/kernels/elementwise.h).
#include <cmath>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {
template <typename T>
inline T apply(BinaryOp op, T x, T y) {
  switch (op) {
    case BinaryOp::Add: return x + y;
    case BinaryOp::Sub: return x - y;
    case BinaryOp::Mul: return x * y;
    case BinaryOp::Div: return x / y;
  }
  return T(0);
}

// out[i] = a[i] (op) b[i] over a common (broadcast) shape; inner rows may be strided.
template <typename T, BinaryOp OP>
void binary_loop(Tensor& out, const Tensor& a, const Tensor& b) {
  T* o = out.data<T>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  const int64_t n = out.numel();
  if (a.is_contiguous() && b.is_contiguous() && a.shape() == out.shape() && b.shape() == out.shape()) {
    parallel_range(n, kGrainCheap, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i] = apply(OP, pa[i], pb[i]);
    });
    return;
  }
  Tensor ae = a.expand(out.shape()), be = b.expand(out.shape());
  for_each_strided<3>(out.shape(), {&out.strides(), &ae.strides(), &be.strides()},
                      [&](const std::array<int64_t, 3>& off, int64_t len, const std::array<int64_t, 3>& inc) {
                        T* op_ = o + off[0];
                        const T* x = pa + off[1];
                        const T* y = pb + off[2];
                        for (int64_t i = 0; i < len; ++i) op_[i] = apply(OP, x[i * inc[1]], y[i * inc[2]]);
                      });
}
}  // namespace

void elementwise_binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_float(a.dtype(), "binary", [&]<typename T>() {
    switch (op) {
      case BinaryOp::Add: binary_loop<T, BinaryOp::Add>(out, a, b); break;
      case BinaryOp::Sub: binary_loop<T, BinaryOp::Sub>(out, a, b); break;
      case BinaryOp::Mul: binary_loop<T, BinaryOp::Mul>(out, a, b); break;
      case BinaryOp::Div: binary_loop<T, BinaryOp::Div>(out, a, b); break;
    }
  });
}

void elementwise_scale_shift(const Tensor& x, double scale, double shift, Tensor& out) {
  dispatch_float(x.dtype(), "scale_shift", [&]<typename T>() {
    const T* p = x.data<T>();
    T* o = out.data<T>();
    const T s = T(scale), c = T(shift);
    // Locals, not the closure's fields: a store to o[i] might change a captured s or c, so the
    // loop would reload them per element and not vectorise.
    parallel_range(x.numel(), kGrainCheap, [&](int64_t lo, int64_t hi) {
      const T* __restrict in = p;
      T* __restrict out = o;
      const T s_ = s, c_ = c;
      for (int64_t i = lo; i < hi; ++i) out[i] = in[i] * s_ + c_;
    });
  });
}

// y = exp(x): dx = dy · y;   y = log(x): dx = dy / x
void elementwise_unary_forward(UnaryOp op, const Tensor& x, Tensor& y) {
  dispatch_float(x.dtype(), op == UnaryOp::Exp ? "exp" : "log", [&]<typename T>() {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    parallel_range(x.numel(), kGrainTranscendental, [&](int64_t lo, int64_t hi) {
      if (op == UnaryOp::Exp)
        for (int64_t i = lo; i < hi; ++i) py[i] = std::exp(px[i]);
      else
        for (int64_t i = lo; i < hi; ++i) py[i] = std::log(px[i]);
    });
  });
}

void elementwise_unary_backward(UnaryOp op, const Tensor& saved, const Tensor& dy, Tensor& dx) {
  dispatch_float(saved.dtype(), op == UnaryOp::Exp ? "exp backward" : "log backward", [&]<typename T>() {
    const T* ps = saved.data<T>();
    const T* pg = dy.data<T>();
    T* pd = dx.data<T>();
    parallel_range(saved.numel(), kGrainCheap, [&](int64_t lo, int64_t hi) {
      if (op == UnaryOp::Exp)
        for (int64_t i = lo; i < hi; ++i) pd[i] = pg[i] * ps[i];
      else
        for (int64_t i = lo; i < hi; ++i) pd[i] = pg[i] / ps[i];
    });
  });
}

ElementwiseKernels elementwise_kernels() {
  return {.binary = elementwise_binary,
          .scale_shift = elementwise_scale_shift,
          .unary_forward = elementwise_unary_forward,
          .unary_backward = elementwise_unary_backward};
}

}  // namespace seqnet::cpu
