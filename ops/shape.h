// ops/shape.h — differentiable views: reshape, transpose, permute, narrow, slice.
//
// Forward returns a view of the input's storage (no copy, except reshape of a layout that
// cannot be viewed); backward maps the gradient back to the input's shape.
#pragma once
#include "autograd/variable.h"

namespace seqnet {

Variable reshape(const Variable& x, const Shape& shape);
Variable transpose(const Variable& x, int a, int b);
Variable permute(const Variable& x, const std::vector<int>& order);
Variable narrow(const Variable& x, int dim, int64_t start, int64_t length);
// x[..., start:end:step] along dim (Python semantics; step > 0), e.g. slice(x, -1, 1, INT64_MAX, 2)
Variable slice(const Variable& x, int dim, int64_t start, int64_t end, int64_t step = 1);
Variable unsqueeze(const Variable& x, int dim);
Variable squeeze(const Variable& x, int dim);

}  // namespace seqnet
