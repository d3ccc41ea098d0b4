// ops/cpu/resample.cpp — the CPU resampling kernels: plain serial loops.
//
// The contract (ops/kernels/resample.h) says what nearest_forward, nearest_backward,
// linear_forward and linear_backward compute; linear_backward zeros dx and accumulates into it.
#include <algorithm>
#include <cmath>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {

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

// ---- the contract --------------------------------------------------------------------------------

void resample_nearest_forward(const Tensor& x, Tensor& y, int64_t rows, int64_t L, int64_t factor) {
  dispatch_float(x.dtype(), "upsample_nearest",
                 [&]<typename T>() { nearest_forward<T>(y.data<T>(), x.data<T>(), rows, L, factor); });
}

void resample_nearest_backward(const Tensor& dy, Tensor& dx, int64_t rows, int64_t L, int64_t factor) {
  dispatch_float(dy.dtype(), "upsample_nearest",
                 [&]<typename T>() { nearest_backward<T>(dx.data<T>(), dy.data<T>(), rows, L, factor); });
}

void resample_linear_forward(const Tensor& x, Tensor& y, int64_t rows, int64_t L, int64_t factor) {
  dispatch_float(x.dtype(), "upsample_linear",
                 [&]<typename T>() { linear_forward<T>(y.data<T>(), x.data<T>(), rows, L, factor); });
}

void resample_linear_backward(const Tensor& dy, Tensor& dx, int64_t rows, int64_t L, int64_t factor) {
  dx.fill_(0.0);
  dispatch_float(dy.dtype(), "upsample_linear",
                 [&]<typename T>() { linear_backward<T>(dx.data<T>(), dy.data<T>(), rows, L, factor); });
}

ResampleKernels resample_kernels() {
  return {.nearest_forward = resample_nearest_forward,
          .nearest_backward = resample_nearest_backward,
          .linear_forward = resample_linear_forward,
          .linear_backward = resample_linear_backward};
}

}  // namespace seqnet::cpu
