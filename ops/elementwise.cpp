// ops/elementwise.cpp — forward kernels and backward closures of the elementwise ops.
#include "ops/elementwise.h"

#include <cmath>

#include "ops/dispatch.h"
#include "ops/reduce.h"

namespace seqnet {

namespace kernels {

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
void binary_kernel(Tensor& out, const Tensor& a, const Tensor& b) {
  T* o = out.data<T>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  const int64_t n = out.numel();
  if (a.is_contiguous() && b.is_contiguous() && a.shape() == out.shape() && b.shape() == out.shape()) {
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; ++i) o[i] = apply(OP, pa[i], pb[i]);
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

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_defined(a, name, "first operand");
  check_defined(b, name, "second operand");
  check_same_dtype(a, b, name);
  check_cpu(a, name);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), name), a.dtype());
  dispatch_float(a.dtype(), name, [&]<typename T>() {
    switch (op) {
      case BinaryOp::Add: binary_kernel<T, BinaryOp::Add>(out, a, b); break;
      case BinaryOp::Sub: binary_kernel<T, BinaryOp::Sub>(out, a, b); break;
      case BinaryOp::Mul: binary_kernel<T, BinaryOp::Mul>(out, a, b); break;
      case BinaryOp::Div: binary_kernel<T, BinaryOp::Div>(out, a, b); break;
    }
  });
  return out;
}

Tensor affine(const Tensor& a, double scale, double shift) {
  Tensor x = a.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "affine", [&]<typename T>() {
    const T* p = x.data<T>();
    T* o = out.data<T>();
    const T s = T(scale), c = T(shift);
    for (int64_t i = 0; i < x.numel(); ++i) o[i] = p[i] * s + c;
  });
  return out;
}

}  // namespace kernels

// ---------------------------------------------------------------------------------------------
// Differentiable ops. For a broadcast input, its gradient is summed back to its own shape.
// ---------------------------------------------------------------------------------------------

// y = a + b:  da = dy,  db = dy
Variable add(const Variable& a, const Variable& b) {
  Shape sa = a.shape(), sb = b.shape();
  return make_result("add", kernels::add(a.data(), b.data()), {a, b}, [sa, sb](const Tensor& g) {
    return std::vector<Tensor>{kernels::sum_to(g, sa), kernels::sum_to(g, sb)};
  });
}

// y = a - b:  da = dy,  db = -dy
Variable sub(const Variable& a, const Variable& b) {
  Shape sa = a.shape(), sb = b.shape();
  return make_result("sub", kernels::sub(a.data(), b.data()), {a, b}, [sa, sb](const Tensor& g) {
    return std::vector<Tensor>{kernels::sum_to(g, sa), kernels::affine(kernels::sum_to(g, sb), -1.0, 0.0)};
  });
}

// y = a * b:  da = dy * b,  db = dy * a
Variable mul(const Variable& a, const Variable& b) {
  Tensor ta = a.data(), tb = b.data();
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return make_result("mul", kernels::mul(ta, tb), {a, b}, [=](const Tensor& g) {
    return std::vector<Tensor>{need_a ? kernels::sum_to(kernels::mul(g, tb), ta.shape()) : Tensor(),
                               need_b ? kernels::sum_to(kernels::mul(g, ta), tb.shape()) : Tensor()};
  });
}

// y = a / b:  da = dy / b,  db = -dy * a / b² = -dy * y / b
Variable div(const Variable& a, const Variable& b) {
  Tensor ta = a.data(), tb = b.data();
  Tensor y = kernels::div(ta, tb);
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return make_result("div", y, {a, b}, [=](const Tensor& g) {
    Tensor ga, gb;
    if (need_a) ga = kernels::sum_to(kernels::div(g, tb), ta.shape());
    if (need_b) gb = kernels::sum_to(kernels::affine(kernels::div(kernels::mul(g, y), tb), -1.0, 0.0), tb.shape());
    return std::vector<Tensor>{ga, gb};
  });
}

// y = a + s:  da = dy
Variable add_scalar(const Variable& a, double s) {
  return make_result("add_scalar", kernels::affine(a.data(), 1.0, s), {a},
                     [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

// y = s · a:  da = s · dy
Variable mul_scalar(const Variable& a, double s) {
  return make_result("mul_scalar", kernels::affine(a.data(), s, 0.0), {a},
                     [s](const Tensor& g) { return std::vector<Tensor>{kernels::affine(g, s, 0.0)}; });
}

// y = -a:  da = -dy
Variable neg(const Variable& a) { return mul_scalar(a, -1.0); }

namespace {
// Forward / backward pairs of the unary math ops, as plain loops.
template <typename T> void exp_forward(T* y, const T* x, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]); }
template <typename T> void exp_backward(T* dx, const T* y, const T* dy, int64_t n) { for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i]; }
template <typename T> void log_forward(T* y, const T* x, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = std::log(x[i]); }
template <typename T> void log_backward(T* dx, const T* x, const T* dy, int64_t n) { for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] / x[i]; }
}  // namespace

// y = exp(x):  dx = dy · y
Variable exp(const Variable& a) {
  Tensor x = a.data().contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "exp", [&]<typename T>() { exp_forward(y.data<T>(), x.data<T>(), x.numel()); });
  return make_result("exp", y, {a}, [y](const Tensor& g) {
    Tensor gc = g.contiguous(), dx = Tensor::empty(y.shape(), y.dtype());
    dispatch_float(y.dtype(), "exp backward", [&]<typename T>() { exp_backward(dx.data<T>(), y.data<T>(), gc.data<T>(), y.numel()); });
    return std::vector<Tensor>{dx};
  });
}

// y = log(x):  dx = dy / x
Variable log(const Variable& a) {
  Tensor x = a.data().contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x.dtype(), "log", [&]<typename T>() { log_forward(y.data<T>(), x.data<T>(), x.numel()); });
  return make_result("log", y, {a}, [x](const Tensor& g) {
    Tensor gc = g.contiguous(), dx = Tensor::empty(x.shape(), x.dtype());
    dispatch_float(x.dtype(), "log backward", [&]<typename T>() { log_backward(dx.data<T>(), x.data<T>(), gc.data<T>(), x.numel()); });
    return std::vector<Tensor>{dx};
  });
}

}  // namespace seqnet
