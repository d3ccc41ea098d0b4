// ops/pool.cpp — max and average pooling over time: argument checks, geometry and the backward
// math; the loops are the pool kernels (ops/kernels/pool.h).
#include "ops/pool.h"

#include "ops/backend.h"

namespace seqnet {

namespace {

// The geometry of one pooling call (ops/kernels/pool.h), checked once for both ops.
PoolGeom pool_geometry(const char* op, const Variable& x, int64_t kernel, std::optional<int64_t> stride,
                       int64_t padding) {
  if (!x.defined()) fail(fmt::format("{}: the input is undefined", op));
  const Tensor& t = x.data();
  if (!is_floating(t.dtype())) fail(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, t.describe()));
  if (t.dim() < 1) fail(fmt::format("{}: expected (N, C, T) with time last, got {}", op, t.describe()));
  const int64_t s = stride.value_or(kernel);
  if (kernel < 1) fail(fmt::format("{}: kernel must be >= 1, got {} (input {})", op, kernel, t.describe()));
  if (s < 1) fail(fmt::format("{}: stride must be >= 1, got {} (input {})", op, s, t.describe()));
  if (padding < 0 || padding > kernel / 2)
    fail(fmt::format("{}: padding must be between 0 and kernel / 2 = {}, got {} (input {})", op, kernel / 2, padding,
                     t.describe()));
  const int64_t T = t.size(-1);
  if (T < 1) fail(fmt::format("{}: the input {} has no time steps", op, t.describe()));
  if (T + 2 * padding < kernel)
    fail(fmt::format("{}: input {} is too short for kernel {} with padding {} (padded length {} < kernel)", op,
                     t.describe(), kernel, padding, T + 2 * padding));
  const int64_t rows = t.numel() / T;
  return {rows, T, (T + 2 * padding - kernel) / s + 1, kernel, s, padding};
}

Shape pooled_shape(const Variable& x, int64_t T_out) {
  Shape s = x.shape();
  s.back() = T_out;
  return s;
}

}  // namespace

// y[j] = max over window j, arg[j] = its index:  dx[arg[j]] += dy[j]
Variable max_pool1d(const Variable& v, int64_t kernel, std::optional<int64_t> stride, int64_t padding) {
  const PoolGeom g = pool_geometry("max_pool1d", v, kernel, stride, padding);
  Tensor x = v.data().contiguous();
  const Backend* be = &backend_for("max_pool1d", x);
  Tensor y = Tensor::empty(pooled_shape(v, g.T_out), x.dtype(), x.device());
  Tensor arg = Tensor::empty(pooled_shape(v, g.T_out), DType::I64, x.device());
  be->pool.max_forward(x, y, arg, g);
  Shape in = x.shape();
  return make_result("max_pool1d", y, {v}, [g, arg, in, be](const Tensor& gy) {
    Tensor dy = gy.contiguous();
    Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
    be->pool.max_backward(dy, arg, dx, g);
    return std::vector<Tensor>{dx};
  });
}

// y[j] = (1/k) Σ_{i in window j} x[i]:  dx[i] += dy[j] / k for every i in window j
Variable avg_pool1d(const Variable& v, int64_t kernel, std::optional<int64_t> stride, int64_t padding) {
  const PoolGeom g = pool_geometry("avg_pool1d", v, kernel, stride, padding);
  Tensor x = v.data().contiguous();
  const Backend* be = &backend_for("avg_pool1d", x);
  Tensor y = Tensor::empty(pooled_shape(v, g.T_out), x.dtype(), x.device());
  be->pool.avg_forward(x, y, g);
  Shape in = x.shape();
  return make_result("avg_pool1d", y, {v}, [g, in, be](const Tensor& gy) {
    Tensor dy = gy.contiguous();
    Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
    be->pool.avg_backward(dy, dx, g);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace seqnet
