// ops/reduce.h — sum and mean, over all elements or along one axis.
#pragma once
#include "autograd/variable.h"

namespace seqnet {

Variable sum(const Variable& x);                                   // all elements → shape []
Variable sum(const Variable& x, int dim, bool keepdim = false);
Variable mean(const Variable& x);
Variable mean(const Variable& x, int dim, bool keepdim = false);

namespace tensor_ops {
Tensor sum_all(const Tensor& x);                          // shape []
Tensor sum_dim(const Tensor& x, int dim, bool keepdim);
// Sum `g` down to `shape` (the inverse of broadcasting `shape` up to g.shape()).
Tensor sum_to(const Tensor& g, const Shape& shape);
}  // namespace tensor_ops

}  // namespace seqnet
