// cuda/ops/pool.cu — the CUDA pooling kernels (contract: ops/kernels/pool.h; the CPU twins:
// ops/cpu/pool.cpp). Window math in cuda/ops/pool_index.h.
//
// Forward: one thread per output step (r, j). Backward: gathers, one thread per input step (r, i)
// summing, in ascending j as the CPU accumulates, what the windows that read step i send it — dx
// is fully written, with no atomics and no zeroing pass.
#include <cmath>

#include "cuda/backend.h"
#include "cuda/context.h"
#include "cuda/ops/pool_index.h"

namespace seqnet::cuda {

namespace {

// y[r,j] = max over window j of x[r,·] (the first max; a NaN wins), arg[r,j] = its step.
template <typename T>
__global__ void max_forward_kernel(T* y, int64_t* arg, const T* x, PoolGeom g, int64_t n) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const int64_t r = idx / g.T_out, j = idx % g.T_out;
  const T* xr = x + r * g.T;
  int64_t lo, hi;
  pool_window(j, g, lo, hi);
  int64_t best = lo;
  T bv = xr[lo];
  for (int64_t i = lo + 1; i < hi; ++i) {
    const T v = xr[i];
    if (v > bv || isnan(v)) {
      best = i;
      bv = v;
    }
  }
  y[idx] = bv;
  arg[idx] = best;
}

// dx[r,i] = Σ_{j reading i, arg[r,j] = i} dy[r,j]
template <typename T>
__global__ void max_backward_kernel(T* dx, const int64_t* arg, const T* dy, PoolGeom g, int64_t n) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const int64_t r = idx / g.T, i = idx % g.T;
  int64_t j_lo, j_hi;
  pool_windows_covering(i, g, j_lo, j_hi);
  const int64_t* ar = arg + r * g.T_out;
  const T* dyr = dy + r * g.T_out;
  T sum = 0;
  for (int64_t j = j_lo; j < j_hi; ++j)
    if (ar[j] == i) sum += dyr[j];
  dx[idx] = sum;
}

// y[r,j] = (Σ_{i in window j} x[r,i]) / k
template <typename T>
__global__ void avg_forward_kernel(T* y, const T* x, PoolGeom g, int64_t n) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const int64_t r = idx / g.T_out, j = idx % g.T_out;
  const T* xr = x + r * g.T;
  int64_t lo, hi;
  pool_window(j, g, lo, hi);
  T sum = 0;
  for (int64_t i = lo; i < hi; ++i) sum += xr[i];
  y[idx] = sum / T(g.k);
}

// dx[r,i] = Σ_{j reading i} dy[r,j] / k
template <typename T>
__global__ void avg_backward_kernel(T* dx, const T* dy, PoolGeom g, int64_t n) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n) return;
  const int64_t r = idx / g.T, i = idx % g.T;
  int64_t j_lo, j_hi;
  pool_windows_covering(i, g, j_lo, j_hi);
  const T* dyr = dy + r * g.T_out;
  const T k = T(g.k);
  T sum = 0;
  for (int64_t j = j_lo; j < j_hi; ++j) sum += dyr[j] / k;
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

void pool_max_forward(const Tensor& x, Tensor& y, Tensor& argmax, const PoolGeom& g) {
  const int64_t n = g.rows * g.T_out;
  const Context& ctx = context_of(y);
  on_float(x.dtype(), "max_pool1d", [&]<typename T>() {
    if (n == 0) return;
    max_forward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(y.data<T>(), argmax.data<int64_t>(),
                                                                       x.data<T>(), g, n);
    check_launch("max_pool1d");
  });
}

void pool_max_backward(const Tensor& dy, const Tensor& argmax, Tensor& dx, const PoolGeom& g) {
  const int64_t n = g.rows * g.T;
  const Context& ctx = context_of(dx);
  on_float(dy.dtype(), "max_pool1d", [&]<typename T>() {
    if (n == 0) return;
    max_backward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(dx.data<T>(), argmax.data<int64_t>(),
                                                                        dy.data<T>(), g, n);
    check_launch("max_pool1d");
  });
}

void pool_avg_forward(const Tensor& x, Tensor& y, const PoolGeom& g) {
  const int64_t n = g.rows * g.T_out;
  const Context& ctx = context_of(y);
  on_float(x.dtype(), "avg_pool1d", [&]<typename T>() {
    if (n == 0) return;
    avg_forward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(y.data<T>(), x.data<T>(), g, n);
    check_launch("avg_pool1d");
  });
}

void pool_avg_backward(const Tensor& dy, Tensor& dx, const PoolGeom& g) {
  const int64_t n = g.rows * g.T;
  const Context& ctx = context_of(dx);
  on_float(dy.dtype(), "avg_pool1d", [&]<typename T>() {
    if (n == 0) return;
    avg_backward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(dx.data<T>(), dy.data<T>(), g, n);
    check_launch("avg_pool1d");
  });
}

PoolKernels pool_kernels() {
  return {.max_forward = pool_max_forward,
          .max_backward = pool_max_backward,
          .avg_forward = pool_avg_forward,
          .avg_backward = pool_avg_backward};
}

}  // namespace seqnet::cuda
