// cuda/ops/dropout.cu — the CUDA dropout kernels (contract: ops/kernels/dropout.h; the CPU twins:
// ops/cpu/dropout.cpp).
//
// One thread per Philox block b (elements 4b .. 4b + 3): element i uses lane i % 4 of
// philox_block(seed, first_block + i / 4) and philox_unit_float (core/philox.h, the code the CPU's
// Generator::block and u32_to_unit_float run), compares double(u) >= p and writes the scale
// 1/(1 − p), computed on the host in double and rounded to the mask's dtype once, or 0 — the
// CPU's mask bit for bit. A thread's four elements move as one 16-byte access (f32; two for f64)
// when every array of the call is 16-byte aligned and the quad lies inside it (the last, partial
// quad element by element): the same arithmetic, a quarter (f32) or half (f64) of the memory
// instructions.
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "core/philox.h"
#include "cuda/backend.h"
#include "cuda/context.h"

namespace seqnet::cuda {

namespace {

// Elements 4b … 4b + 3 of an array of n (those below n; the others stay 0 / are not written).
template <typename T>
struct Quad {
  T v[4] = {};
};
template <typename T>
__device__ inline Quad<T> load_quad(const T* p, int64_t b, int64_t n, bool aligned) {
  Quad<T> q;
  if (aligned && 4 * b + 3 < n) {
    if constexpr (std::is_same_v<T, float>) {
      const float4 f = reinterpret_cast<const float4*>(p)[b];
      q.v[0] = f.x, q.v[1] = f.y, q.v[2] = f.z, q.v[3] = f.w;
    } else {
      const double2 lo = reinterpret_cast<const double2*>(p)[2 * b],
                    hi = reinterpret_cast<const double2*>(p)[2 * b + 1];
      q.v[0] = lo.x, q.v[1] = lo.y, q.v[2] = hi.x, q.v[3] = hi.y;
    }
    return q;
  }
  for (int64_t j = 0; j < 4 && 4 * b + j < n; ++j) q.v[j] = p[4 * b + j];
  return q;
}
template <typename T>
__device__ inline void store_quad(T* p, int64_t b, int64_t n, bool aligned, const Quad<T>& q) {
  if (aligned && 4 * b + 3 < n) {
    if constexpr (std::is_same_v<T, float>) {
      reinterpret_cast<float4*>(p)[b] = make_float4(q.v[0], q.v[1], q.v[2], q.v[3]);
    } else {
      reinterpret_cast<double2*>(p)[2 * b] = make_double2(q.v[0], q.v[1]);
      reinterpret_cast<double2*>(p)[2 * b + 1] = make_double2(q.v[2], q.v[3]);
    }
    return;
  }
  for (int64_t j = 0; j < 4 && 4 * b + j < n; ++j) p[4 * b + j] = q.v[j];
}

// Whether every array is 16-byte aligned (then so is every quad: 4 elements are 16 or 32 bytes).
inline bool aligned16(std::initializer_list<const void*> ps) {
  for (const void* p : ps)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

// m_i = scale if lane i % 4 of block first + i/4 gives u ≥ p, else 0 (the mask, as the four lanes)
template <typename T>
__device__ inline Quad<T> mask_quad(uint64_t seed, uint64_t first, int64_t b, double p, T scale) {
  const PhiloxBlock lanes = philox_block(seed, first + uint64_t(b));
  Quad<T> m;
  for (int j = 0; j < 4; ++j) m.v[j] = double(philox_unit_float(lanes.lane[j])) >= p ? scale : T(0);
  return m;
}

template <typename T>
__global__ void dropout_mask_kernel(T* m, uint64_t seed, uint64_t first, double p, T scale, int64_t n, bool aligned) {
  const int64_t b = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= (n + 3) / 4) return;
  store_quad(m, b, n, aligned, mask_quad(seed, first, b, p, scale));
}

// y_i = x_i · m_i with m_i drawn as in dropout_mask_kernel (the mask is never stored)
template <typename T>
__global__ void dropout_apply_kernel(const T* x, T* y, uint64_t seed, uint64_t first, double p, T scale, int64_t n,
                                     bool aligned) {
  const int64_t b = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= (n + 3) / 4) return;
  const Quad<T> m = mask_quad(seed, first, b, p, scale);
  Quad<T> q = load_quad(x, b, n, aligned);
  for (int j = 0; j < 4; ++j) q.v[j] = q.v[j] * m.v[j];
  store_quad(y, b, n, aligned, q);
}

// y_i = r_i · m_i,  r_i = x_i > 0 ? x_i : slope·x_i
template <typename T>
__global__ void leaky_relu_apply_kernel(const T* x, T* y, uint64_t seed, uint64_t first, double p, T slope, T scale,
                                        int64_t n, bool aligned) {
  const int64_t b = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= (n + 3) / 4) return;
  const Quad<T> m = mask_quad(seed, first, b, p, scale);
  Quad<T> q = load_quad(x, b, n, aligned);
  for (int j = 0; j < 4; ++j) {
    const T v = q.v[j];
    const T r = v > T(0) ? v : slope * v;
    q.v[j] = r * m.v[j];
  }
  store_quad(y, b, n, aligned, q);
}

// slope 0 (one thread per element, no mask): dx = y > 0 ? dy·scale : 0·dy
template <typename T>
__global__ void relu_backward_kernel(const T* y, const T* dy, T* dx, T scale, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  dx[i] = y[i] > T(0) ? dy[i] * scale : T(0) * dy[i];
}

// slope > 0 (one thread per Philox block): g = dy·m, dx = y > 0 ? g : slope·g
template <typename T>
__global__ void leaky_relu_backward_kernel(const T* y, const T* dy, T* dx, uint64_t seed, uint64_t first, double p,
                                           T slope, T scale, int64_t n, bool aligned) {
  const int64_t b = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (b >= (n + 3) / 4) return;
  const Quad<T> m = mask_quad(seed, first, b, p, scale);
  const Quad<T> yq = load_quad(y, b, n, aligned);
  Quad<T> q = load_quad(dy, b, n, aligned);
  for (int j = 0; j < 4; ++j) {
    const T g = q.v[j] * m.v[j];
    q.v[j] = yq.v[j] > T(0) ? g : slope * g;
  }
  store_quad(dx, b, n, aligned, q);
}

// f.template operator()<T>() for f32 / f64; an Error naming `op` otherwise.
template <class F>
void on_float(DType t, const char* op, F&& f) {
  if (t == DType::F32) return f.template operator()<float>();
  if (t == DType::F64) return f.template operator()<double>();
  fail(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, dtype_name(t)));
}

}  // namespace

// m_i = (u_i ≥ p) / (1 − p),  u_i = lane i%4 of block first + i/4 (uniform f32 layout, core/rng.h)
void dropout_mask(uint64_t seed, uint64_t first, double p, Tensor& m) {
  const int64_t n = m.numel();
  on_float(m.dtype(), "dropout", [&]<typename T>() {
    if (n == 0) return;
    const T scale = T(1.0 / (1.0 - p));
    const int64_t nblocks = (n + 3) / 4;
    dropout_mask_kernel<T><<<blocks_for(nblocks), kThreads, 0, context_of(m).stream>>>(
        m.data<T>(), seed, first, p, scale, n, aligned16({m.data<T>()}));
    check_launch("dropout");
  });
}

// y_i = x_i · m_i
void dropout_apply(uint64_t seed, uint64_t first, double p, const Tensor& x, Tensor& y) {
  const int64_t n = y.numel();
  on_float(y.dtype(), "dropout", [&]<typename T>() {
    if (n == 0) return;
    const T scale = T(1.0 / (1.0 - p));
    const int64_t nblocks = (n + 3) / 4;
    dropout_apply_kernel<T><<<blocks_for(nblocks), kThreads, 0, context_of(y).stream>>>(
        x.data<T>(), y.data<T>(), seed, first, p, scale, n, aligned16({x.data<T>(), y.data<T>()}));
    check_launch("dropout");
  });
}

// y_i = r_i · m_i,  r_i = x_i > 0 ? x_i : slope·x_i
void dropout_leaky_relu_apply(uint64_t seed, uint64_t first, double p, double slope, const Tensor& x, Tensor& y) {
  const int64_t n = y.numel();
  on_float(y.dtype(), "leaky_relu_dropout", [&]<typename T>() {
    if (n == 0) return;
    const T scale = T(1.0 / (1.0 - p));
    const int64_t nblocks = (n + 3) / 4;
    leaky_relu_apply_kernel<T><<<blocks_for(nblocks), kThreads, 0, context_of(y).stream>>>(
        x.data<T>(), y.data<T>(), seed, first, p, T(slope), scale, n, aligned16({x.data<T>(), y.data<T>()}));
    check_launch("leaky_relu_dropout");
  });
}

// slope 0: dx = y > 0 ? dy·scale : 0·dy;  slope > 0: dx = m ≠ 0 ? (y > 0 ? dy·scale : slope·dy·scale) : slope·(dy·0)
void dropout_leaky_relu_backward(uint64_t seed, uint64_t first, double p, double slope, const Tensor& y,
                                 const Tensor& dy, Tensor& dx) {
  const int64_t n = y.numel();
  on_float(y.dtype(), "leaky_relu_dropout", [&]<typename T>() {
    if (n == 0) return;
    const T scale = T(1.0 / (1.0 - p));
    cudaStream_t stream = context_of(y).stream;
    if (slope == 0.0) {
      relu_backward_kernel<T>
          <<<blocks_for(n), kThreads, 0, stream>>>(y.data<T>(), dy.data<T>(), dx.data<T>(), scale, n);
    } else {
      const int64_t nblocks = (n + 3) / 4;
      leaky_relu_backward_kernel<T><<<blocks_for(nblocks), kThreads, 0, stream>>>(
          y.data<T>(), dy.data<T>(), dx.data<T>(), seed, first, p, T(slope), scale, n,
          aligned16({y.data<T>(), dy.data<T>(), dx.data<T>()}));
    }
    check_launch("leaky_relu_dropout backward");
  });
}

DropoutKernels dropout_kernels() {
  return {.mask = dropout_mask,
          .apply = dropout_apply,
          .leaky_relu_apply = dropout_leaky_relu_apply,
          .leaky_relu_backward = dropout_leaky_relu_backward};
}

}  // namespace seqnet::cuda
