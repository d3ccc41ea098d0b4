// ops/reduce.cpp — reductions and their backward (broadcast the gradient back).
#include "ops/reduce.h"

#include "ops/dispatch.h"
#include "ops/elementwise.h"

namespace seqnet {

namespace kernels {

Tensor sum_all(const Tensor& x) {
  Tensor c = x.contiguous();
  Tensor out = Tensor::empty({}, x.dtype());
  dispatch_float(x.dtype(), "sum", [&]<typename T>() {
    const T* p = c.data<T>();
    double acc = 0;  // accumulate in double: f32 sums of long sequences stay accurate
    const int64_t n = c.numel();
#pragma omp parallel for reduction(+ : acc) if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; ++i) acc += double(p[i]);
    out.data<T>()[0] = T(acc);
  });
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
  // `shape` broadcast to g's shape: stride 0 on every dimension that was stretched.
  Tensor out = Tensor::zeros(shape, g.dtype());
  Tensor oe = out.expand(g.shape());
  dispatch_float(g.dtype(), "sum_to", [&]<typename T>() {
    T* o = out.data<T>();
    const T* p = g.data<T>();
    for_each_strided<2>(g.shape(), {&oe.strides(), &g.strides()},
                        [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& inc) {
                          T* op_ = o + off[0];
                          const T* gp = p + off[1];
                          if (inc[0] == 0) {
                            T acc = 0;
                            for (int64_t i = 0; i < n; ++i) acc += gp[i * inc[1]];
                            *op_ += acc;
                          } else {
                            for (int64_t i = 0; i < n; ++i) op_[i * inc[0]] += gp[i * inc[1]];
                          }
                        });
  });
  return out;
}

}  // namespace kernels

// y = Σ x:  dx = dy broadcast to x's shape
Variable sum(const Variable& x) {
  Shape s = x.shape();
  return make_result("sum", kernels::sum_all(x.data()), {x},
                     [s](const Tensor& g) { return std::vector<Tensor>{g.expand(s).contiguous()}; });
}

// y = Σ_dim x:  dx = dy (unsqueezed at dim) broadcast along dim
Variable sum(const Variable& x, int dim, bool keepdim) {
  Shape s = x.shape();
  int d = x.data().wrap_dim(dim);
  return make_result("sum", kernels::sum_dim(x.data(), d, keepdim), {x}, [s, d, keepdim](const Tensor& g) {
    Tensor gk = keepdim ? g : g.unsqueeze(d);
    return std::vector<Tensor>{gk.expand(s).contiguous()};
  });
}

// y = Σ x / n:  dx = dy / n
Variable mean(const Variable& x) {
  check(x.numel() > 0, "mean: empty tensor {}", x.data().describe());
  return mul_scalar(sum(x), 1.0 / double(x.numel()));
}

Variable mean(const Variable& x, int dim, bool keepdim) {
  int64_t n = x.size(dim);
  check(n > 0, "mean: dim {} of {} is empty", dim, x.data().describe());
  return mul_scalar(sum(x, dim, keepdim), 1.0 / double(n));
}

}  // namespace seqnet
