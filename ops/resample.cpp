// ops/resample.cpp — nearest / linear upsampling and strided downsampling, forward and backward.
#include "ops/resample.h"

#include <algorithm>
#include <cmath>

#include "ops/dispatch.h"

namespace seqnet {

namespace {

// Shared checks; returns the number of rows (product of the leading dims).
int64_t resample_rows(const char* op, const Variable& x, int64_t factor) {
  check(x.defined(), "{}: the input is undefined", op);
  check(x.dim() >= 1, "{}: expected (N, C, T) with time last, got {}", op, x.data().describe());
  check_cpu(x.data(), op);
  check(factor >= 1, "{}: factor must be >= 1, got {} (input {})", op, factor, x.data().describe());
  check(x.size(-1) >= 1, "{}: the input {} has no time steps", op, x.data().describe());
  return x.numel() / x.size(-1);
}

Shape upsampled_shape(const Variable& x, int64_t factor) {
  Shape s = x.shape();
  s.back() *= factor;
  return s;
}

// y[j] = x[j / f];  dx[i] = Σ_{r < f} dy[i·f + r]
template <typename T>
void nearest_forward(T* y, const T* x, int64_t rows, int64_t L, int64_t f) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < L * f; ++j) y[r * L * f + j] = x[r * L + j / f];
}
template <typename T>
void nearest_backward(T* dx, const T* dy, int64_t rows, int64_t L, int64_t f) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < L; ++i) {
      T sum = 0;
      for (int64_t q = 0; q < f; ++q) sum += dy[r * L * f + i * f + q];
      dx[r * L + i] = sum;
    }
}

// Where output step j reads from: y[j] = w0·x[i0] + w1·x[i1]. Computed in T with scale = 1/f,
// exactly as PyTorch does (area_pixel_compute_source_index, align_corners = false).
template <typename T>
void linear_source(int64_t j, int64_t L, int64_t f, int64_t& i0, int64_t& i1, T& w0, T& w1) {
  const T scale = T(1) / T(f);
  T src = scale * (T(j) + T(0.5)) - T(0.5);
  if (src < T(0)) src = T(0);
  i0 = std::min(int64_t(std::floor(src)), L - 1);
  i1 = i0 + (i0 < L - 1 ? 1 : 0);
  w1 = std::min(std::max(src - T(i0), T(0)), T(1));
  w0 = T(1) - w1;
}

// y[j] = w0·x[i0] + w1·x[i1];  dx[i0] += w0·dy[j], dx[i1] += w1·dy[j]
template <typename T>
void linear_forward(T* y, const T* x, int64_t rows, int64_t L, int64_t f) {
  for (int64_t j = 0; j < L * f; ++j) {
    int64_t i0, i1;
    T w0, w1;
    linear_source<T>(j, L, f, i0, i1, w0, w1);
    for (int64_t r = 0; r < rows; ++r) y[r * L * f + j] = w0 * x[r * L + i0] + w1 * x[r * L + i1];
  }
}
template <typename T>
void linear_backward(T* dx, const T* dy, int64_t rows, int64_t L, int64_t f) {
  for (int64_t j = 0; j < L * f; ++j) {
    int64_t i0, i1;
    T w0, w1;
    linear_source<T>(j, L, f, i0, i1, w0, w1);
    for (int64_t r = 0; r < rows; ++r) {
      dx[r * L + i0] += w0 * dy[r * L * f + j];
      dx[r * L + i1] += w1 * dy[r * L * f + j];
    }
  }
}

}  // namespace

Variable upsample_nearest(const Variable& v, int64_t factor) {
  const int64_t rows = resample_rows("upsample_nearest", v, factor);
  const int64_t L = v.size(-1);
  Tensor x = v.data().contiguous();
  Tensor y = Tensor::empty(upsampled_shape(v, factor), x.dtype());
  dispatch_float(x.dtype(), "upsample_nearest",
                 [&]<typename T>() { nearest_forward<T>(y.data<T>(), x.data<T>(), rows, L, factor); });
  Shape in = x.shape();
  return make_result("upsample_nearest", y, {v}, [=](const Tensor& g) {
    Tensor dy = g.contiguous();
    Tensor dx = Tensor::empty(in, dy.dtype());
    dispatch_float(dy.dtype(), "upsample_nearest",
                   [&]<typename T>() { nearest_backward<T>(dx.data<T>(), dy.data<T>(), rows, L, factor); });
    return std::vector<Tensor>{dx};
  });
}

Variable upsample_linear(const Variable& v, int64_t factor) {
  const int64_t rows = resample_rows("upsample_linear", v, factor);
  const int64_t L = v.size(-1);
  Tensor x = v.data().contiguous();
  Tensor y = Tensor::empty(upsampled_shape(v, factor), x.dtype());
  dispatch_float(x.dtype(), "upsample_linear",
                 [&]<typename T>() { linear_forward<T>(y.data<T>(), x.data<T>(), rows, L, factor); });
  Shape in = x.shape();
  return make_result("upsample_linear", y, {v}, [=](const Tensor& g) {
    Tensor dy = g.contiguous();
    Tensor dx = Tensor::zeros(in, dy.dtype());
    dispatch_float(dy.dtype(), "upsample_linear",
                   [&]<typename T>() { linear_backward<T>(dx.data<T>(), dy.data<T>(), rows, L, factor); });
    return std::vector<Tensor>{dx};
  });
}

// y = x[..., start::f] (a view);  dx = zeros with dy on the kept steps
Variable downsample(const Variable& x, int64_t factor, int64_t start) {
  check(x.defined(), "downsample: the input is undefined");
  check(x.dim() >= 1, "downsample: expected (N, C, T) with time last, got {}", x.data().describe());
  check(factor >= 1, "downsample: factor must be >= 1, got {} (input {})", factor, x.data().describe());
  check(start >= 0 && start < factor, "downsample: start must be in [0, {}) for factor {}, got {} (input {})", factor,
        factor, start, x.data().describe());
  const int64_t T = x.size(-1);
  check(start < T, "downsample: start {} leaves no step of {} (time length {})", start, x.data().describe(), T);
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
