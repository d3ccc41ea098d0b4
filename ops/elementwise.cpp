// ops/elementwise.cpp — forward kernels and backward closures of the elementwise ops.
#include "ops/elementwise.h"

#include <cmath>

#include "ops/backend.h"
#include "ops/dispatch.h"
#include "ops/reduce.h"

namespace seqnet {

namespace tensor_ops {

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_defined(a, name, "first operand");
  check_defined(b, name, "second operand");
  check_same_dtype(a, b, name);
  const Backend& be = backend_for(name, a, b);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), name), a.dtype(), a.device());
  be.elementwise.binary(op, a, b, out);
  return out;
}

Tensor scale_shift(const Tensor& a, double scale, double shift) {
  check_defined(a, "scale_shift", "input");
  Tensor x = a.contiguous();
  Tensor out = empty_like(x);
  backend_for("scale_shift", x).elementwise.scale_shift(x, scale, shift, out);
  return out;
}

}  // namespace tensor_ops

// ---------------------------------------------------------------------------------------------
// Differentiable ops. For a broadcast input, its gradient is summed back to its own shape.
// ---------------------------------------------------------------------------------------------

// y = a + b:  da = dy,  db = dy
Variable add(const Variable& a, const Variable& b) {
  Shape sa = a.shape(), sb = b.shape();
  return make_result("add", tensor_ops::add(a.data(), b.data()), {a, b}, [sa, sb](const Tensor& g) {
    return std::vector<Tensor>{tensor_ops::sum_to(g, sa), tensor_ops::sum_to(g, sb)};
  });
}

// y = a - b:  da = dy,  db = -dy
Variable sub(const Variable& a, const Variable& b) {
  Shape sa = a.shape(), sb = b.shape();
  return make_result("sub", tensor_ops::sub(a.data(), b.data()), {a, b}, [sa, sb](const Tensor& g) {
    return std::vector<Tensor>{tensor_ops::sum_to(g, sa), tensor_ops::scale_shift(tensor_ops::sum_to(g, sb), -1.0, 0.0)};
  });
}

// y = a * b:  da = dy * b,  db = dy * a
Variable mul(const Variable& a, const Variable& b) {
  Tensor ta = a.data(), tb = b.data();
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return make_result("mul", tensor_ops::mul(ta, tb), {a, b}, [=](const Tensor& g) {
    return std::vector<Tensor>{need_a ? tensor_ops::sum_to(tensor_ops::mul(g, tb), ta.shape()) : Tensor(),
                               need_b ? tensor_ops::sum_to(tensor_ops::mul(g, ta), tb.shape()) : Tensor()};
  });
}

// y = a / b:  da = dy / b,  db = -dy * a / b² = -dy * y / b
Variable div(const Variable& a, const Variable& b) {
  Tensor ta = a.data(), tb = b.data();
  Tensor y = tensor_ops::div(ta, tb);
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return make_result("div", y, {a, b}, [=](const Tensor& g) {
    Tensor ga, gb;
    if (need_a) ga = tensor_ops::sum_to(tensor_ops::div(g, tb), ta.shape());
    if (need_b) gb = tensor_ops::sum_to(tensor_ops::scale_shift(tensor_ops::div(tensor_ops::mul(g, y), tb), -1.0, 0.0), tb.shape());
    return std::vector<Tensor>{ga, gb};
  });
}

// y = a + s:  da = dy
Variable add_scalar(const Variable& a, double s) {
  return make_result("add_scalar", tensor_ops::scale_shift(a.data(), 1.0, s), {a},
                     [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

// y = s · a:  da = s · dy
Variable mul_scalar(const Variable& a, double s) {
  return make_result("mul_scalar", tensor_ops::scale_shift(a.data(), s, 0.0), {a},
                     [s](const Tensor& g) { return std::vector<Tensor>{tensor_ops::scale_shift(g, s, 0.0)}; });
}

// y = -a:  da = -dy
Variable neg(const Variable& a) { return mul_scalar(a, -1.0); }

namespace {
// y = f(x) with the saved tensor (y or x) for dx = dy · f'(x).
Variable unary_math(const char* name, UnaryOp op, const Variable& a, bool save_output) {
  Tensor x = a.data().contiguous();
  const Backend* be = &backend_for(name, x);
  Tensor y = empty_like(x);
  be->elementwise.unary_forward(op, x, y);
  Tensor saved = save_output ? y : x;
  return make_result(name, y, {a}, [be, op, saved](const Tensor& g) {
    Tensor gc = g.contiguous(), dx = empty_like(saved);
    be->elementwise.unary_backward(op, saved, gc, dx);
    return std::vector<Tensor>{dx};
  });
}
}  // namespace

// y = exp(x):  dx = dy · y
Variable exp(const Variable& a) { return unary_math("exp", UnaryOp::Exp, a, true); }

// y = log(x):  dx = dy / x
Variable log(const Variable& a) { return unary_math("log", UnaryOp::Log, a, false); }

}  // namespace seqnet
