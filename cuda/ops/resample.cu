// cuda/ops/resample.cu — the CUDA resampling kernels (contract: ops/kernels/resample.h; the CPU
// twins: ops/cpu/resample.cpp). Source index/weight math in cuda/ops/resample_index.h.
//
// Forward: one thread per output step (r, j). Backward: gathers, one thread per input step (r, i)
// summing what the output steps that read it send back, in ascending j as the CPU accumulates —
// dx is fully written, with no atomics and no zeroing pass.
#include <cmath>

#include "cuda/backend.h"
#include "cuda/context.h"
#include "cuda/ops/resample_index.h"

namespace seqnet::cuda {

namespace {

// y[r,j] = x[r, j / f]
template <typename T>
__global__ void nearest_forward_kernel(T* y, const T* x, int64_t L, int64_t f, int64_t n) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const int64_t Lf = L * f;
  const int64_t r = idx / Lf, j = idx % Lf;
  y[idx] = x[r * L + j / f];
}

// dx[r,i] = Σ_{q < f} dy[r, i·f + q]
template <typename T>
__global__ void nearest_backward_kernel(T* dx, const T* dy, int64_t L, int64_t f, int64_t n) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const int64_t r = idx / L, i = idx % L;
  const T* src = dy + r * L * f + i * f;
  T sum = 0;
  for (int64_t q = 0; q < f; ++q) sum += src[q];
  dx[idx] = sum;
}

// y[r,j] = w0·x[r,i0] + w1·x[r,i1]
template <typename T>
__global__ void linear_forward_kernel(T* y, const T* x, int64_t L, int64_t f, int64_t n) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const int64_t Lf = L * f;
  const int64_t r = idx / Lf, j = idx % Lf;
  int64_t i0, i1;
  T w0, w1;
  linear_source<T>(j, L, f, i0, i1, w0, w1);
  const T* xr = x + r * L;
  y[idx] = w0 * xr[i0] + w1 * xr[i1];
}

// dx[r,i] = Σ_j ascending of (i0(j) = i ? w0·dy[r,j]) then (i1(j) = i ? w1·dy[r,j])
template <typename T>
__global__ void linear_backward_kernel(T* dx, const T* dy, int64_t L, int64_t f, int64_t n) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const int64_t r = idx / L, i = idx % L;
  const T* dyr = dy + r * L * f;
  int64_t j_lo, j_hi;
  linear_readers(i, L, f, j_lo, j_hi);
  T sum = 0;
  for (int64_t j = j_lo; j < j_hi; ++j) {
    int64_t i0, i1;
    T w0, w1;
    linear_source<T>(j, L, f, i0, i1, w0, w1);
    if (i0 == i) sum += w0 * dyr[j];
    if (i1 == i) sum += w1 * dyr[j];
  }
  dx[idx] = sum;
}

// f.template operator()<T>() for f32 / f64; an Error naming `op` otherwise.
template <class F>
void on_float(DType t, const char* op, F&& f) {
  if (t == DType::F32) return f.template operator()<float>();
  if (t == DType::F64) return f.template operator()<double>();
  fail(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, dtype_name(t)));
}

}  // namespace

void resample_nearest_forward(const Tensor& x, Tensor& y, int64_t rows, int64_t L, int64_t factor) {
  const int64_t n = rows * L * factor;
  const Context& ctx = context_of(y);
  on_float(x.dtype(), "upsample_nearest", [&]<typename T>() {
    if (n == 0) return;
    nearest_forward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(y.data<T>(), x.data<T>(), L, factor, n);
    check_launch("upsample_nearest");
  });
}

void resample_nearest_backward(const Tensor& dy, Tensor& dx, int64_t rows, int64_t L, int64_t factor) {
  const int64_t n = rows * L;
  const Context& ctx = context_of(dx);
  on_float(dy.dtype(), "upsample_nearest", [&]<typename T>() {
    if (n == 0) return;
    nearest_backward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(dx.data<T>(), dy.data<T>(), L, factor,
                                                                            n);
    check_launch("upsample_nearest");
  });
}

void resample_linear_forward(const Tensor& x, Tensor& y, int64_t rows, int64_t L, int64_t factor) {
  const int64_t n = rows * L * factor;
  const Context& ctx = context_of(y);
  on_float(x.dtype(), "upsample_linear", [&]<typename T>() {
    if (n == 0) return;
    linear_forward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(y.data<T>(), x.data<T>(), L, factor, n);
    check_launch("upsample_linear");
  });
}

void resample_linear_backward(const Tensor& dy, Tensor& dx, int64_t rows, int64_t L, int64_t factor) {
  const int64_t n = rows * L;
  const Context& ctx = context_of(dx);
  on_float(dy.dtype(), "upsample_linear", [&]<typename T>() {
    if (n == 0) return;
    linear_backward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(dx.data<T>(), dy.data<T>(), L, factor,
                                                                           n);
    check_launch("upsample_linear");
  });
}

ResampleKernels resample_kernels() {
  return {.nearest_forward = resample_nearest_forward,
          .nearest_backward = resample_nearest_backward,
          .linear_forward = resample_linear_forward,
          .linear_backward = resample_linear_backward};
}

}  // namespace seqnet::cuda
