// ops/elementwise.cpp — forward kernels and backward closures of the elementwise ops.
#include "ops/elementwise.h"

#include <cmath>

#include "ops/backend.h"
#include "ops/dispatch.h"
#include "ops/reduce.h"

namespace seqnet {

namespace kernels {

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_defined(a, name, "first operand");
  check_defined(b, name, "second operand");
  check_same_dtype(a, b, name);
  const Backend& be = backend_for(name, a, b);
  Tensor out = Tensor::empty(broadcast_shapes(a.shape(), b.shape(), name), a.dtype(), a.device());
  be.elementwise.binary(op, a, b, out);
  return out;
}

Tensor affine(const Tensor& a, double scale, double shift) {
  check_defined(a, "affine", "input");
  Tensor x = a.contiguous();
  Tensor out = empty_like(x);
  backend_for("affine", x).elementwise.affine(x, scale, shift, out);
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
