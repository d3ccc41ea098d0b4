// ops/cpu/pool.cpp — the CPU pooling kernels: plain serial loops over rows and windows.
//
// The contract (ops/kernels/pool.h) says what max_forward, max_backward, avg_forward and
// avg_backward compute; the backward kernels zero dx and accumulate into it.
#include <algorithm>
#include <cmath>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {

// y[j] = max_{i in window j ∩ [0, T)} x[i], arg[j] = that i (first max; NaN wins, as in PyTorch);
// dx[arg[j]] += dy[j]
template <typename T>
void max_pool_forward(T* y, int64_t* arg, const T* x, const PoolGeom& g) {
  for (int64_t r = 0; r < g.rows; ++r) {
    const T* xr = x + r * g.T;
    for (int64_t j = 0; j < g.T_out; ++j) {
      const int64_t start = j * g.s - g.p;
      const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(start + g.k, g.T);
      int64_t best = lo;  // padding is −inf: only real steps can be the max (lo < hi as p <= k/2)
      for (int64_t i = lo + 1; i < hi; ++i)
        if (xr[i] > xr[best] || std::isnan(xr[i])) best = i;
      y[r * g.T_out + j] = xr[best];
      arg[r * g.T_out + j] = best;
    }
  }
}
template <typename T>
void max_pool_backward(T* dx, const int64_t* arg, const T* dy, const PoolGeom& g) {
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t j = 0; j < g.T_out; ++j) dx[r * g.T + arg[r * g.T_out + j]] += dy[r * g.T_out + j];
}

// y[j] = (1/k) Σ_{i in window j ∩ [0, T)} x[i]   (padding adds zeros but still counts in k);
// dx[i] += dy[j] / k for every i in window j
template <typename T>
void avg_pool_forward(T* y, const T* x, const PoolGeom& g) {
  for (int64_t r = 0; r < g.rows; ++r) {
    const T* xr = x + r * g.T;
    for (int64_t j = 0; j < g.T_out; ++j) {
      const int64_t start = j * g.s - g.p;
      const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(start + g.k, g.T);
      T sum = 0;
      for (int64_t i = lo; i < hi; ++i) sum += xr[i];
      y[r * g.T_out + j] = sum / T(g.k);
    }
  }
}
template <typename T>
void avg_pool_backward(T* dx, const T* dy, const PoolGeom& g) {
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t j = 0; j < g.T_out; ++j) {
      const int64_t start = j * g.s - g.p;
      const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(start + g.k, g.T);
      const T share = dy[r * g.T_out + j] / T(g.k);
      for (int64_t i = lo; i < hi; ++i) dx[r * g.T + i] += share;
    }
}

}  // namespace

// ---- the contract --------------------------------------------------------------------------------

void pool_max_forward(const Tensor& x, Tensor& y, Tensor& argmax, const PoolGeom& g) {
  dispatch_float(x.dtype(), "max_pool1d", [&]<typename T>() {
    max_pool_forward<T>(y.data<T>(), argmax.data<int64_t>(), x.data<T>(), g);
  });
}

void pool_max_backward(const Tensor& dy, const Tensor& argmax, Tensor& dx, const PoolGeom& g) {
  dx.fill_(0.0);
  dispatch_float(dy.dtype(), "max_pool1d", [&]<typename T>() {
    max_pool_backward<T>(dx.data<T>(), argmax.data<int64_t>(), dy.data<T>(), g);
  });
}

void pool_avg_forward(const Tensor& x, Tensor& y, const PoolGeom& g) {
  dispatch_float(x.dtype(), "avg_pool1d", [&]<typename T>() { avg_pool_forward<T>(y.data<T>(), x.data<T>(), g); });
}

void pool_avg_backward(const Tensor& dy, Tensor& dx, const PoolGeom& g) {
  dx.fill_(0.0);
  dispatch_float(dy.dtype(), "avg_pool1d", [&]<typename T>() { avg_pool_backward<T>(dx.data<T>(), dy.data<T>(), g); });
}

PoolKernels pool_kernels() {
  return {.max_forward = pool_max_forward,
          .max_backward = pool_max_backward,
          .avg_forward = pool_avg_forward,
          .avg_backward = pool_avg_backward};
}

}  // namespace seqnet::cpu
