// cuda/ops/optim.cu — the CUDA optimiser kernels (contract: ops/kernels/optim.h; the CPU twins:
// ops/cpu/optim.cpp).
//
// sgd_step, adam_step and scale: one thread per element, the CPU loop's arithmetic in its order
// with the scalars rounded to T on the host as the CPU rounds them. The arithmetic goes through
// the round-to-nearest intrinsics (cuda/round_nearest.cuh), which nvcc never fuses into FMAs:
// each product and sum is rounded separately, as the source expression reads (GCC with
// -march=native may contract a·b + c into an FMA on the CPU, so the last bit can differ there);
// sqrt and division are the correctly rounded ones.
// sum_squares: Σ double(g_i)² in double over all the tensors, deterministic — per tensor a fixed
// grid of blocks each sums a fixed strided subset in order and reduces it in a fixed shared-memory
// tree, into that tensor's segment of one partials buffer; one block reduces all the partials the
// same way; the host reads the result once and adds it to acc. No atomics. The order differs from the
// CPU's serial acc + g_0² + g_1² + ... (within tolerance).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda/backend.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/round_nearest.cuh"

namespace seqnet::cuda {

namespace {

// v = momentum·v + g;  p −= lr·v
template <typename T>
__global__ void sgd_momentum_kernel(T* w, const T* g, T* v, T lr, T momentum, int64_t n) {
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= n) return;
  const T vk = add_rn(mul_rn(momentum, v[k]), g[k]);
  v[k] = vk;
  w[k] = sub_rn(w[k], mul_rn(lr, vk));
}

// p −= lr·g
template <typename T>
__global__ void sgd_kernel(T* w, const T* g, T lr, int64_t n) {
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < n) w[k] = sub_rn(w[k], mul_rn(lr, g[k]));
}

// m = b1·m + (1 − b1)·g;  v = b2·v + (1 − b2)·g·g;  p −= step·m / (sqrt(v)/sq + eps)
template <typename T>
__global__ void adam_kernel(T* w, const T* g, T* m, T* v, T b1, T one_minus_b1, T b2, T one_minus_b2, T step, T sq,
                            T eps, int64_t n) {
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= n) return;
  const T gk = g[k];
  const T mk = add_rn(mul_rn(b1, m[k]), mul_rn(one_minus_b1, gk));
  const T vk = add_rn(mul_rn(b2, v[k]), mul_rn(mul_rn(one_minus_b2, gk), gk));
  m[k] = mk;
  v[k] = vk;
  w[k] = sub_rn(w[k], div_rn(mul_rn(step, mk), add_rn(div_rn(sqrt_rn(vk), sq), eps)));
}

template <typename T>
__global__ void scale_kernel(T* d, T factor, int64_t n) {
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < n) d[k] = mul_rn(d[k], factor);
}

// ---- deterministic Σ double(g)² ------------------------------------------------------------------

constexpr int kReduceThreads = kThreads;  // block_sum (cuda/block_reduce.cuh) reduces kThreads threads
constexpr int kMaxReduceBlocks = 1024;

// partial[b] = Σ double(g_i)² over i = b·kReduceThreads + t + k·gridDim·kReduceThreads (fixed order).
template <typename T>
__global__ void sum_squares_partial_kernel(const T* g, int64_t n, double* partial) {
  __shared__ double sh[kReduceThreads];
  double acc = 0;
  const int64_t step = int64_t(gridDim.x) * kReduceThreads;
  for (int64_t i = int64_t(blockIdx.x) * kReduceThreads + threadIdx.x; i < n; i += step) {
    const double x = double(g[i]);
    acc = __dadd_rn(acc, __dmul_rn(x, x));  // unfused
  }
  const double s = block_sum(acc, sh);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// One block: out[0] = Σ partial[0 .. nb).
__global__ void sum_partials_kernel(const double* partial, int nb, double* out) {
  __shared__ double sh[kReduceThreads];
  double acc = 0;
  for (int i = int(threadIdx.x); i < nb; i += kReduceThreads) acc += partial[i];
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

}  // namespace

// v = momentum·v + g;  p −= lr·v   (momentum 0: p −= lr·g)
void optim_sgd_step(Tensor& p, const Tensor& g, Tensor& velocity, double lr, double momentum) {
  on_float(p.dtype(), "SGD", [&]<typename T>() {
    const int64_t n = p.numel();
    if (n == 0) return;
    const cudaStream_t stream = context_of(p).stream;
    if (momentum != 0.0)
      sgd_momentum_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(p.data<T>(), g.data<T>(), velocity.data<T>(),
                                                                      T(lr), T(momentum), n);
    else
      sgd_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(p.data<T>(), g.data<T>(), T(lr), n);
    check_launch("SGD");
  });
}

void optim_adam_step(Tensor& p, const Tensor& g, Tensor& mt, Tensor& vt, const AdamStep& s) {
  on_float(p.dtype(), "Adam", [&]<typename T>() {
    const int64_t n = p.numel();
    if (n == 0) return;
    const T b1 = T(s.beta1), b2 = T(s.beta2), step = T(s.lr / s.bias_correction1),
            sq = T(std::sqrt(s.bias_correction2)), eps = T(s.eps);
    // (T(1) − b1) and (T(1) − b2) in T, as the CPU loop computes them
    adam_kernel<T><<<blocks_for(n), kThreads, 0, context_of(p).stream>>>(
        p.data<T>(), g.data<T>(), mt.data<T>(), vt.data<T>(), b1, T(T(1) - b1), b2, T(T(1) - b2), step, sq, eps, n);
    check_launch("Adam");
  });
}

// acc + Σ over gs of Σ double(g_k)²: each tensor's blocks write their partials into its own
// segment of one buffer, one block sums the whole buffer, and the host reads it once.
double optim_sum_squares(const std::vector<Tensor>& gs, double total) {
  std::vector<int> blocks(gs.size(), 0);
  int64_t n_partials = 0;
  for (size_t i = 0; i < gs.size(); ++i) {
    const int64_t n = gs[i].numel();
    if (n > 0) blocks[i] = int(std::clamp<int64_t>((n + kReduceThreads - 1) / kReduceThreads, 1, kMaxReduceBlocks));
    n_partials += blocks[i];
  }
  if (n_partials == 0) return total;
  const Device dev = gs.front().device();
  const Tensor partial = Tensor::empty({n_partials}, DType::F64, dev);
  const Tensor out = Tensor::empty({1}, DType::F64, dev);
  const cudaStream_t stream = context_of(partial).stream;
  int64_t at = 0;
  for (size_t i = 0; i < gs.size(); ++i) {
    const Tensor& g = gs[i];
    if (blocks[i] == 0) continue;
    if (g.device() != dev)
      fail(fmt::format("clip_grad_norm: gradients on two devices ({} and {})", dev.str(), g.device().str()));
    on_float(g.dtype(), "clip_grad_norm", [&]<typename T>() {
      sum_squares_partial_kernel<T>
          <<<blocks[i], kReduceThreads, 0, stream>>>(g.data<T>(), g.numel(), partial.data<double>() + at);
      check_launch("clip_grad_norm");
    });
    at += blocks[i];
  }
  sum_partials_kernel<<<1, kReduceThreads, 0, stream>>>(partial.data<double>(), int(n_partials), out.data<double>());
  check_launch("clip_grad_norm");
  return total + out.item();  // waits for the stream
}

void optim_scale(Tensor& g, double scale) {
  on_float(g.dtype(), "clip_grad_norm", [&]<typename T>() {
    const int64_t n = g.numel();
    if (n == 0) return;
    scale_kernel<T><<<blocks_for(n), kThreads, 0, context_of(g).stream>>>(g.data<T>(), T(scale), n);
    check_launch("clip_grad_norm");
  });
}

OptimKernels optim_kernels() {
  return {.sgd_step = optim_sgd_step,
          .adam_step = optim_adam_step,
          .sum_squares = optim_sum_squares,
          .scale = optim_scale};
}

}  // namespace seqnet::cuda
