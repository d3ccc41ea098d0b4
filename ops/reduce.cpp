// ops/reduce.cpp — reductions and their backward (broadcast the gradient back).
#include "ops/reduce.h"

#include "ops/backend.h"
#include "ops/dispatch.h"
#include "ops/elementwise.h"

namespace seqnet {

namespace tensor_ops {

Tensor sum_all(const Tensor& x) {
  check_defined(x, "sum", "input");
  Tensor c = x.contiguous();
  Tensor out = Tensor::empty({}, x.dtype(), x.device());
  backend_for("sum", c).reduce.sum_all(c, out);
  return out;
}

Tensor sum_dim(const Tensor& x, int dim, bool keepdim) {
  dim = x.wrap_dim(dim);
  Shape kept = x.shape();
  kept[size_t(dim)] = 1;
  Tensor out = sum_to(x, kept);
  return keepdim ? out : out.squeeze(dim);
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  Tensor out = Tensor::empty(shape, g.dtype(), g.device());
  backend_for("sum_to", g).reduce.sum_to(g, out);
  return out;
}

}  // namespace tensor_ops

// y = Σ x:  dx = dy broadcast to x's shape
Variable sum(const Variable& x) {
  Shape s = x.shape();
  return make_result("sum", tensor_ops::sum_all(x.data()), {x},
                     [s](const Tensor& g) { return std::vector<Tensor>{g.expand(s).contiguous()}; });
}

// y = Σ_dim x:  dx = dy (unsqueezed at dim) broadcast along dim
Variable sum(const Variable& x, int dim, bool keepdim) {
  Shape s = x.shape();
  int d = x.data().wrap_dim(dim);
  return make_result("sum", tensor_ops::sum_dim(x.data(), d, keepdim), {x}, [s, d, keepdim](const Tensor& g) {
    Tensor gk = keepdim ? g : g.unsqueeze(d);
    return std::vector<Tensor>{gk.expand(s).contiguous()};
  });
}

// y = Σ x / n:  dx = dy / n
Variable mean(const Variable& x) {
  if (!(x.numel() > 0)) fail(fmt::format("mean: empty tensor {}", x.data().describe()));
  return mul_scalar(sum(x), 1.0 / double(x.numel()));
}

Variable mean(const Variable& x, int dim, bool keepdim) {
  int64_t n = x.size(dim);
  if (!(n > 0)) fail(fmt::format("mean: dim {} of {} is empty", dim, x.data().describe()));
  return mul_scalar(sum(x, dim, keepdim), 1.0 / double(n));
}

}  // namespace seqnet
