// ops/resample.cpp — nearest / linear upsampling and strided downsampling, forward and backward;
// the upsampling loops are the resample kernels (ops/kernels/resample.h).
#include "ops/resample.h"

#include "ops/backend.h"

namespace seqnet {

namespace {

// Shared checks; returns the number of rows (product of the leading dims).
int64_t resample_rows(const char* op, const Variable& x, int64_t factor) {
  check(x.defined(), "{}: the input is undefined", op);
  if (!(x.dim() >= 1)) fail(fmt::format("{}: expected (N, C, T) with time last, got {}", op, x.data().describe()));
  if (!(factor >= 1)) fail(fmt::format("{}: factor must be >= 1, got {} (input {})", op, factor, x.data().describe()));
  if (!(x.size(-1) >= 1)) fail(fmt::format("{}: the input {} has no time steps", op, x.data().describe()));
  return x.numel() / x.size(-1);
}

Shape upsampled_shape(const Variable& x, int64_t factor) {
  Shape s = x.shape();
  s.back() *= factor;
  return s;
}

}  // namespace

// y[j] = x[j / f]:  dx[i] = Σ_{q < f} dy[i·f + q]
Variable upsample_nearest(const Variable& v, int64_t factor) {
  const int64_t rows = resample_rows("upsample_nearest", v, factor);
  const int64_t L = v.size(-1);
  Tensor x = v.data().contiguous();
  const Backend* be = &backend_for("upsample_nearest", x);
  Tensor y = Tensor::empty(upsampled_shape(v, factor), x.dtype(), x.device());
  be->resample.nearest_forward(x, y, rows, L, factor);
  Shape in = x.shape();
  return make_result("upsample_nearest", y, {v}, [=](const Tensor& g) {
    Tensor dy = g.contiguous();
    Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
    be->resample.nearest_backward(dy, dx, rows, L, factor);
    return std::vector<Tensor>{dx};
  });
}

// y[j] = w0·x[i0] + w1·x[i1] (PyTorch's linear, align_corners = false):
//   dx[i0] += w0·dy[j], dx[i1] += w1·dy[j]
Variable upsample_linear(const Variable& v, int64_t factor) {
  const int64_t rows = resample_rows("upsample_linear", v, factor);
  const int64_t L = v.size(-1);
  Tensor x = v.data().contiguous();
  const Backend* be = &backend_for("upsample_linear", x);
  Tensor y = Tensor::empty(upsampled_shape(v, factor), x.dtype(), x.device());
  be->resample.linear_forward(x, y, rows, L, factor);
  Shape in = x.shape();
  return make_result("upsample_linear", y, {v}, [=](const Tensor& g) {
    Tensor dy = g.contiguous();
    Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
    be->resample.linear_backward(dy, dx, rows, L, factor);
    return std::vector<Tensor>{dx};
  });
}

// y = x[..., start::f] (a view);  dx = zeros with dy on the kept steps
Variable downsample(const Variable& x, int64_t factor, int64_t start) {
  check(x.defined(), "downsample: the input is undefined");
  if (!(x.dim() >= 1)) fail(fmt::format("downsample: expected (N, C, T) with time last, got {}", x.data().describe()));
  if (!(factor >= 1))
    fail(fmt::format("downsample: factor must be >= 1, got {} (input {})", factor, x.data().describe()));
  if (!(start >= 0 && start < factor))
    fail(fmt::format("downsample: start must be in [0, {}) for factor {}, got {} (input {})", factor, factor, start,
                     x.data().describe()));
  const int64_t T = x.size(-1);
  if (!(start < T))
    fail(fmt::format("downsample: start {} leaves no step of {} (time length {})", start, x.data().describe(), T));
  Tensor y = x.data().slice(-1, start, T, factor);
  Shape in = x.shape();
  DType dt = x.dtype();
  Device dev = x.data().device();
  return make_result("downsample", y, {x}, [=](const Tensor& g) {
    Tensor dx = Tensor::zeros(in, dt, dev);
    dx.slice(-1, start, T, factor).copy_(g);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace seqnet
