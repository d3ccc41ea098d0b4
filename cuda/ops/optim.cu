// cuda/ops/optim.cu — the CUDA optimiser kernels (contract: ops/kernels/optim.h; the CPU twins:
// ops/cpu/optim.cpp).
//
// Every kernel runs over a table of tensors (cuda/ops/tensor_table.h): a block per chunk of 8 192
// elements of some tensor, so a model's 20–200 parameters take a launch or a few rather than one
// each. The table is a __grid_constant__ argument (read in place, never copied per thread); the
// arrays of a slot are __restrict__ and the loops unrolled by 4, so a thread has several loads in
// flight (the kernels are bound by memory bandwidth). No two slots may share storage: their
// blocks would update the same elements at once (checked).
// sgd_step, adam_step and scale: each element's arithmetic is the CPU loop's, in its order, with
// the scalars rounded to T on the host as the CPU rounds them. The arithmetic goes through the
// round-to-nearest intrinsics (cuda/round_nearest.cuh), which nvcc never fuses into FMAs: each
// product and sum is rounded separately, as the source expression reads (GCC with -march=native
// may contract a·b + c into an FMA on the CPU, so the last bit can differ there); sqrt and
// division are the correctly rounded ones.
// sum_squares: Σ double(g_i)² in double over all the tensors, deterministic — each block sums its
// chunk in a fixed strided order and a fixed shared-memory tree into its own slot of one partials
// buffer (the slots in table order); one block reduces all the partials the same way; the host
// reads the result once and adds it to acc. No atomics. The order differs from the CPU's serial
// acc + g_0² + g_1² + ... (within tolerance).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cuda/backend.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/ops/tensor_table.h"
#include "cuda/round_nearest.cuh"

namespace seqnet::cuda {

namespace {

// ---- kernels -------------------------------------------------------------------------------------

// v = momentum·v + g;  p −= lr·v   (arrays: p, g, v)
template <typename T>
__global__ void sgd_momentum_kernel(const __grid_constant__ TensorTable<3> table, T lr, T momentum) {
  const TableRange r = table_range(table, int(blockIdx.x));
  T* __restrict__ w = static_cast<T*>(table.ptr[0][r.t]);
  const T* __restrict__ g = static_cast<const T*>(table.ptr[1][r.t]);
  T* __restrict__ v = static_cast<T*>(table.ptr[2][r.t]);
#pragma unroll 4
  for (int64_t k = r.lo + threadIdx.x; k < r.hi; k += blockDim.x) {
    const T vk = add_rn(mul_rn(momentum, v[k]), g[k]);
    v[k] = vk;
    w[k] = sub_rn(w[k], mul_rn(lr, vk));
  }
}

// p −= lr·g   (arrays: p, g)
template <typename T>
__global__ void sgd_kernel(const __grid_constant__ TensorTable<2> table, T lr) {
  const TableRange r = table_range(table, int(blockIdx.x));
  T* __restrict__ w = static_cast<T*>(table.ptr[0][r.t]);
  const T* __restrict__ g = static_cast<const T*>(table.ptr[1][r.t]);
#pragma unroll 4
  for (int64_t k = r.lo + threadIdx.x; k < r.hi; k += blockDim.x) w[k] = sub_rn(w[k], mul_rn(lr, g[k]));
}

// m = b1·m + (1 − b1)·g;  v = b2·v + (1 − b2)·g·g;  p −= step·m / (sqrt(v)/sq + eps)   (arrays: p, g, m, v)
template <typename T>
__global__ void adam_kernel(const __grid_constant__ TensorTable<4> table, T b1, T one_minus_b1, T b2, T one_minus_b2,
                            T step, T sq, T eps) {
  const TableRange r = table_range(table, int(blockIdx.x));
  T* __restrict__ w = static_cast<T*>(table.ptr[0][r.t]);
  const T* __restrict__ g = static_cast<const T*>(table.ptr[1][r.t]);
  T* __restrict__ m = static_cast<T*>(table.ptr[2][r.t]);
  T* __restrict__ v = static_cast<T*>(table.ptr[3][r.t]);
#pragma unroll 4
  for (int64_t k = r.lo + threadIdx.x; k < r.hi; k += blockDim.x) {
    const T gk = g[k];
    const T mk = add_rn(mul_rn(b1, m[k]), mul_rn(one_minus_b1, gk));
    const T vk = add_rn(mul_rn(b2, v[k]), mul_rn(mul_rn(one_minus_b2, gk), gk));
    m[k] = mk;
    v[k] = vk;
    w[k] = sub_rn(w[k], div_rn(mul_rn(step, mk), add_rn(div_rn(sqrt_rn(vk), sq), eps)));
  }
}

// g *= factor   (arrays: g)
template <typename T>
__global__ void scale_kernel(const __grid_constant__ TensorTable<1> table, T factor) {
  const TableRange r = table_range(table, int(blockIdx.x));
  T* __restrict__ d = static_cast<T*>(table.ptr[0][r.t]);
#pragma unroll 4
  for (int64_t k = r.lo + threadIdx.x; k < r.hi; k += blockDim.x) d[k] = mul_rn(d[k], factor);
}

// ---- deterministic Σ double(g)² ------------------------------------------------------------------

// partial[first + b] = Σ double(g_i)² over block b's chunk, thread t summing i = lo + t + j·kThreads
// in order, then block_sum's fixed tree (blockDim.x == kThreads).
template <typename T>
__global__ void sum_squares_partial_kernel(const __grid_constant__ TensorTable<1> table, double* partial) {
  __shared__ double sh[kThreads];
  const TableRange r = table_range(table, int(blockIdx.x));
  const T* __restrict__ g = static_cast<const T*>(table.ptr[0][r.t]);
  double acc = 0;
#pragma unroll 4
  for (int64_t i = r.lo + threadIdx.x; i < r.hi; i += kThreads) {
    const double x = double(g[i]);
    acc = __dadd_rn(acc, __dmul_rn(x, x));  // unfused
  }
  const double s = block_sum(acc, sh);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// One block: out[0] = Σ partial[0 .. nb), thread t summing t, t + kThreads, ... in order, then the
// fixed tree.
__global__ void sum_partials_kernel(const double* partial, int64_t nb, double* out) {
  __shared__ double sh[kThreads];
  double acc = 0;
  for (int64_t i = threadIdx.x; i < nb; i += kThreads) acc += partial[i];
  const double s = block_sum(acc, sh);
  if (threadIdx.x == 0) out[0] = s;
}

// f.template operator()<T>() for f32 / f64; an Error naming `op` otherwise.
template <class F>
void on_float(DType t, const char* op, F&& f) {
  if (t == DType::F32) return f.template operator()<float>();
  if (t == DType::F64) return f.template operator()<double>();
  fail(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, dtype_name(t)));
}

// The list's precondition (ops/kernels/optim.h), checked before anything is queued: every tensor
// defined, contiguous, of `dtype`, on `dev`, of the slot's parameter's `shape`.
void check_listed(const Tensor& t, const char* op, const char* what, size_t i, DType dtype, Device dev,
                  const Shape& shape) {
  if (!t.defined()) fail(fmt::format("{}: tensor {} of slot {} is undefined", op, what, i));
  if (t.dtype() != dtype || t.device() != dev || t.shape() != shape || !t.is_contiguous())
    fail(fmt::format("{}: tensor {} of slot {} is {} on {}; the call's tensors are contiguous {} on {} (shape {} here)",
                     op, what, i, t.describe(), t.device().str(), dtype_name(dtype), dev.str(), shape_str(shape)));
}

// The arrays a call writes must not overlap (each slot's blocks update theirs at the same time as
// the others'): sorted by start, each must end before the next begins.
struct Written {
  const char* begin;
  const char* end;
  size_t slot;
};
void check_disjoint(std::vector<Written> ws, const char* op) {
  std::sort(ws.begin(), ws.end(), [](const Written& a, const Written& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ws.size(); ++i)
    if (ws[i].begin < ws[i - 1].end)
      fail(fmt::format("{}: slots {} and {} share storage (each array may be updated once per call)", op,
                       std::min(ws[i - 1].slot, ws[i].slot), std::max(ws[i - 1].slot, ws[i].slot)));
}
void add_written(std::vector<Written>& ws, const Tensor& t, size_t slot) {
  if (t.numel() == 0) return;
  const char* b = static_cast<const char*>(t.raw_data());
  ws.push_back({b, b + size_t(t.numel()) * dtype_size(t.dtype()), slot});
}

}  // namespace

// v = momentum·v + g;  p −= lr·v   (momentum 0: p −= lr·g)
void optim_sgd_step(const std::vector<SgdSlot>& slots, double lr, double momentum) {
  if (slots.empty()) return;
  const DType dtype = slots.front().p.dtype();
  const Device dev = slots.front().p.device();
  const bool with_v = momentum != 0.0;
  std::vector<std::array<void*, 3>> ptrs;
  std::vector<int64_t> ns;
  std::vector<Written> written;
  for (size_t i = 0; i < slots.size(); ++i) {
    const SgdSlot& s = slots[i];
    const int64_t n = s.p.numel();
    check_listed(s.p, "SGD", "p", i, dtype, dev, s.p.shape());
    check_listed(s.g, "SGD", "g", i, dtype, dev, s.p.shape());
    if (with_v) check_listed(s.velocity, "SGD", "velocity", i, dtype, dev, s.p.shape());
    add_written(written, s.p, i);
    if (with_v) add_written(written, s.velocity, i);
    ptrs.push_back({s.p.raw_data(), s.g.raw_data(), with_v ? s.velocity.raw_data() : nullptr});
    ns.push_back(n);
  }
  check_disjoint(std::move(written), "SGD");
  const cudaStream_t stream = context(dev.index).stream;
  on_float(dtype, "SGD", [&]<typename T>() {
    if (with_v) {
      for_each_table<3>(ptrs, ns, [&](const TensorTable<3>& table, int blocks, int64_t) {
        sgd_momentum_kernel<T><<<blocks, kThreads, 0, stream>>>(table, T(lr), T(momentum));
        check_launch("SGD");
      });
      return;
    }
    std::vector<std::array<void*, 2>> ptrs2;
    for (const auto& p : ptrs) ptrs2.push_back({p[0], p[1]});
    for_each_table<2>(ptrs2, ns, [&](const TensorTable<2>& table, int blocks, int64_t) {
      sgd_kernel<T><<<blocks, kThreads, 0, stream>>>(table, T(lr));
      check_launch("SGD");
    });
  });
}

void optim_adam_step(const std::vector<AdamSlot>& slots, const AdamStep& s) {
  if (slots.empty()) return;
  const DType dtype = slots.front().p.dtype();
  const Device dev = slots.front().p.device();
  std::vector<std::array<void*, 4>> ptrs;
  std::vector<int64_t> ns;
  std::vector<Written> written;
  for (size_t i = 0; i < slots.size(); ++i) {
    const AdamSlot& a = slots[i];
    const int64_t n = a.p.numel();
    check_listed(a.p, "Adam", "p", i, dtype, dev, a.p.shape());
    check_listed(a.g, "Adam", "g", i, dtype, dev, a.p.shape());
    check_listed(a.m, "Adam", "m", i, dtype, dev, a.p.shape());
    check_listed(a.v, "Adam", "v", i, dtype, dev, a.p.shape());
    add_written(written, a.p, i);
    add_written(written, a.m, i);
    add_written(written, a.v, i);
    ptrs.push_back({a.p.raw_data(), a.g.raw_data(), a.m.raw_data(), a.v.raw_data()});
    ns.push_back(n);
  }
  check_disjoint(std::move(written), "Adam");
  const cudaStream_t stream = context(dev.index).stream;
  on_float(dtype, "Adam", [&]<typename T>() {
    const T b1 = T(s.beta1), b2 = T(s.beta2), step = T(s.lr / s.bias_correction1),
            sq = T(std::sqrt(s.bias_correction2)), eps = T(s.eps);
    // (T(1) − b1) and (T(1) − b2) in T, as the CPU loop computes them
    for_each_table<4>(ptrs, ns, [&](const TensorTable<4>& table, int blocks, int64_t) {
      adam_kernel<T><<<blocks, kThreads, 0, stream>>>(table, b1, T(T(1) - b1), b2, T(T(1) - b2), step, sq, eps);
      check_launch("Adam");
    });
  });
}

// acc + Σ over gs of Σ double(g_k)²: every chunk's block writes its partial into its slot of one
// buffer, one block sums the whole buffer, and the host reads it once.
double optim_sum_squares(const std::vector<Tensor>& gs, double total) {
  if (gs.empty()) return total;
  const DType dtype = gs.front().dtype();
  const Device dev = gs.front().device();
  std::vector<std::array<void*, 1>> ptrs;
  std::vector<int64_t> ns;
  for (size_t i = 0; i < gs.size(); ++i) {
    check_listed(gs[i], "clip_grad_norm", "g", i, dtype, dev, gs[i].shape());
    ptrs.push_back({gs[i].raw_data()});
    ns.push_back(gs[i].numel());
  }
  const int64_t n_partials = table_blocks(ns);
  if (n_partials == 0) return total;
  const Tensor partial = Tensor::empty({n_partials}, DType::F64, dev);
  const Tensor out = Tensor::empty({1}, DType::F64, dev);
  const cudaStream_t stream = context(dev.index).stream;
  on_float(dtype, "clip_grad_norm", [&]<typename T>() {
    for_each_table<1>(ptrs, ns, [&](const TensorTable<1>& table, int blocks, int64_t first) {
      sum_squares_partial_kernel<T><<<blocks, kThreads, 0, stream>>>(table, partial.data<double>() + first);
      check_launch("clip_grad_norm");
    });
  });
  sum_partials_kernel<<<1, kThreads, 0, stream>>>(partial.data<double>(), n_partials, out.data<double>());
  check_launch("clip_grad_norm");
  return total + out.item();  // waits for the stream
}

void optim_scale(const std::vector<Tensor>& gs, double scale) {
  if (gs.empty()) return;
  const DType dtype = gs.front().dtype();
  const Device dev = gs.front().device();
  std::vector<std::array<void*, 1>> ptrs;
  std::vector<int64_t> ns;
  std::vector<Written> written;
  for (size_t i = 0; i < gs.size(); ++i) {
    check_listed(gs[i], "clip_grad_norm", "g", i, dtype, dev, gs[i].shape());
    add_written(written, gs[i], i);
    ptrs.push_back({gs[i].raw_data()});
    ns.push_back(gs[i].numel());
  }
  check_disjoint(std::move(written), "clip_grad_norm");
  const cudaStream_t stream = context(dev.index).stream;
  on_float(dtype, "clip_grad_norm", [&]<typename T>() {
    for_each_table<1>(ptrs, ns, [&](const TensorTable<1>& table, int blocks, int64_t) {
      scale_kernel<T><<<blocks, kThreads, 0, stream>>>(table, T(scale));
      check_launch("clip_grad_norm");
    });
  });
}

OptimKernels optim_kernels() {
  return {.sgd_step = optim_sgd_step,
          .adam_step = optim_adam_step,
          .sum_squares = optim_sum_squares,
          .scale = optim_scale};
}

}  // namespace seqnet::cuda
