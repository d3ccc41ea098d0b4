// ops/elementwise.h — add, sub, mul, div with broadcasting; neg, exp, log; scalar forms.
//
// Broadcasting follows NumPy/PyTorch: shapes are aligned at the trailing dimension and a
// size-1 dimension stretches. The models need it for a per-channel bias, b.view({1, C, 1}) added
// to an (N, C, T) tensor, and for scalars. In backward, the gradient of a broadcast input is the
// output gradient summed over the stretched dimensions (tensor_ops::sum_to).
#pragma once
#include "ops/kernels/elementwise.h"
#include "autograd/variable.h"

namespace seqnet {

// ---- differentiable ops on Variables ----
Variable add(const Variable& a, const Variable& b);
Variable sub(const Variable& a, const Variable& b);
Variable mul(const Variable& a, const Variable& b);
Variable div(const Variable& a, const Variable& b);
Variable add_scalar(const Variable& a, double s);
Variable mul_scalar(const Variable& a, double s);
Variable neg(const Variable& a);
Variable exp(const Variable& a);
Variable log(const Variable& a);

inline Variable operator+(const Variable& a, const Variable& b) { return add(a, b); }
inline Variable operator-(const Variable& a, const Variable& b) { return sub(a, b); }
inline Variable operator*(const Variable& a, const Variable& b) { return mul(a, b); }
inline Variable operator/(const Variable& a, const Variable& b) { return div(a, b); }
inline Variable operator-(const Variable& a) { return neg(a); }
inline Variable operator+(const Variable& a, double s) { return add_scalar(a, s); }
inline Variable operator+(double s, const Variable& a) { return add_scalar(a, s); }
inline Variable operator-(const Variable& a, double s) { return add_scalar(a, -s); }
inline Variable operator-(double s, const Variable& a) { return add_scalar(neg(a), s); }
inline Variable operator*(const Variable& a, double s) { return mul_scalar(a, s); }
inline Variable operator*(double s, const Variable& a) { return mul_scalar(a, s); }
inline Variable operator/(const Variable& a, double s) { return mul_scalar(a, 1.0 / s); }

// ---- the same math on plain Tensors (no graph); backward closures are written with these ----
namespace tensor_ops {
// out = a ∘ b with broadcasting, on the inputs' device (BinaryOp: ops/kernels/elementwise.h).
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b, const char* name);
inline Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b, "add"); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b, "sub"); }
inline Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b, "mul"); }
inline Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, a, b, "div"); }
Tensor scale_shift(const Tensor& a, double scale, double shift);  // a · scale + shift (contiguous result)
}  // namespace tensor_ops

}  // namespace seqnet
