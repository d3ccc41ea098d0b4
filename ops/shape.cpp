// ops/shape.cpp — view ops and their backward.
#include "ops/shape.h"

namespace seqnet {

// y = x viewed as `shape`:  dx = dy reshaped back
Variable reshape(const Variable& x, const Shape& shape) {
  Shape in = x.shape();
  return make_result("reshape", x.data().reshape(shape), {x},
                     [in](const Tensor& g) { return std::vector<Tensor>{g.reshape(in)}; });
}

// y = xᵀ (axes a, b swapped):  dx = dyᵀ
Variable transpose(const Variable& x, int a, int b) {
  return make_result("transpose", x.data().transpose(a, b), {x},
                     [a, b](const Tensor& g) { return std::vector<Tensor>{g.transpose(a, b)}; });
}

// y = x with axes permuted by p:  dx = dy permuted by p⁻¹
Variable permute(const Variable& x, const std::vector<int>& order) {
  Tensor y = x.data().permute(order);
  std::vector<int> inverse(order.size());
  for (size_t i = 0; i < order.size(); ++i) inverse[size_t(x.data().wrap_dim(order[i]))] = int(i);
  return make_result("permute", y, {x}, [inverse](const Tensor& g) { return std::vector<Tensor>{g.permute(inverse)}; });
}

// y = x[start : end : step] on dim:  dx = zeros with dy scattered into the same positions
Variable slice(const Variable& x, int dim, int64_t start, int64_t end, int64_t step) {
  Tensor y = x.data().slice(dim, start, end, step);
  Shape in = x.shape();
  DType dt = x.dtype();
  Device dev = x.data().device();
  return make_result("slice", y, {x}, [=](const Tensor& g) {
    Tensor dx = Tensor::zeros(in, dt, dev);
    dx.slice(dim, start, end, step).copy_(g);
    return std::vector<Tensor>{dx};
  });
}

Variable narrow(const Variable& x, int dim, int64_t start, int64_t length) {
  if (!(start >= 0 && length >= 0 && start + length <= x.size(dim)))
    fail(fmt::format("narrow: [{}, {}) is outside dim {} of {}", start, start + length, dim, x.data().describe()));
  return slice(x, dim, start, start + length, 1);
}

Variable unsqueeze(const Variable& x, int dim) {
  Shape in = x.shape();
  return make_result("unsqueeze", x.data().unsqueeze(dim), {x},
                     [in](const Tensor& g) { return std::vector<Tensor>{g.reshape(in)}; });
}

Variable squeeze(const Variable& x, int dim) {
  Shape in = x.shape();
  return make_result("squeeze", x.data().squeeze(dim), {x},
                     [in](const Tensor& g) { return std::vector<Tensor>{g.reshape(in)}; });
}

}  // namespace seqnet
