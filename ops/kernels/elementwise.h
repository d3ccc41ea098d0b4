// ops/kernels/elementwise.h — the elementwise family's kernel contract.
//
//   binary          out := a ∘ b with ∘ ∈ {+, −, ·, /}; a and b are broadcast to out's shape
//                   (any strides, stride 0 on stretched dims); out contiguous
//   scale_shift     out := x · scale + shift                        (x, out: same shape, contiguous)
//   unary_forward   y := exp(x) or log(x)                           (contiguous, same shape)
//   unary_backward  dx := dy · y (exp, saved = y)  or  dy / x (log, saved = x)
// Scalars arrive as double and are rounded to the tensor's dtype once, before the loop.
#pragma once
#include "core/tensor.h"

namespace seqnet {

enum class BinaryOp { Add, Sub, Mul, Div };
enum class UnaryOp { Exp, Log };

struct ElementwiseKernels {
  void (*binary)(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out);
  void (*scale_shift)(const Tensor& x, double scale, double shift, Tensor& out);
  void (*unary_forward)(UnaryOp op, const Tensor& x, Tensor& y);
  void (*unary_backward)(UnaryOp op, const Tensor& saved, const Tensor& dy, Tensor& dx);
};

}  // namespace seqnet
