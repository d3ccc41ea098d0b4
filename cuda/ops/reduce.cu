// cuda/ops/reduce.cu — the CUDA reduction kernels (contract: ops/kernels/reduce.h; the CPU twins:
// ops/cpu/reduce.cpp). No atomics: a rerun is bitwise identical.
//
// sum_all: accumulated in double like the CPU. Pass 1: a fixed grid (set by n alone) of blocks,
// each thread summing a grid-stride slice, each block combining its threads in a fixed shared-
// memory tree into one partial; pass 2: one block combining the partials the same way, writing T.
//
// sum_to: with many outputs, one thread per output element loops over every element of g that
// maps to it, in the CPU's order (g row-major; when the last dimension is summed, each run of it
// is summed on its own, from 0, and then added), accumulating in T as the CPU does — the same
// additions in the same order, so the result matches the CPU's bit for bit. With few outputs that
// each sum many elements (bias gradients: up to 16 383 outputs, each over ≥ 256 elements), one
// block per output sums in double in a fixed tree (deterministic, within rounding of the CPU):
// one thread per output there took 2.7 ms of char_tcn's 12 ms step on an H200.
#include <algorithm>

#include "cuda/backend.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/strided_index.h"

namespace seqnet::cuda {

namespace {

// Most blocks of sum_all's first pass (each thread then strides over the rest).
constexpr int64_t kMaxSumBlocks = 1024;

// partial[b] = Σ_{i ≡ thread's slice} double(x[i]) over block b's threads.
template <typename T>
__global__ void sum_partials_kernel(double* partial, const T* x, int64_t n) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  double acc = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) acc += double(x[i]);
  const double total = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// out[0] = T(Σ_b partial[b]); one block.
template <typename T>
__global__ void sum_combine_kernel(T* out, const double* partial, int64_t blocks) {
  double acc = 0;
  for (int64_t b = threadIdx.x; b < blocks; b += blockDim.x) acc += partial[b];
  const double total = block_sum(acc);
  if (threadIdx.x == 0) out[0] = T(total);
}

// How sum_to walks g for one output element.
//   kept:    the dimensions of g that out keeps (out's expanded stride != 0), row-major; thread i's
//            element has out offset off[0] and g base offset off[1].
//   reduced: the summed dimensions of g except the last, with g's strides (row-major).
//   inner:   the last dimension of g when it is summed (n_inner = its size, inner_stride = g's
//            stride there), else n_inner = 1.
struct SumToPlan {
  StridedIndex<2> kept;
  StridedIndex<1> reduced;
  int64_t n_reduced = 1;  // Π reduced sizes
  int64_t n_inner = 1;
  int64_t inner_stride = 0;
};

// out[o] = Σ_{outer reduced k, row-major} (Σ_{q < n_inner} g[base + off(k) + q·inner_stride])
template <typename T>
__global__ void sum_to_kernel(T* out, const T* g, SumToPlan plan, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int64_t off[2];
  offsets(plan.kept, i, off);
  const T* base = g + off[1];
  T sum = 0;
  for (int64_t k = 0; k < plan.n_reduced; ++k) {
    int64_t r[1];
    offsets(plan.reduced, k, r);
    const T* row = base + r[0];
    T acc = 0;
    for (int64_t q = 0; q < plan.n_inner; ++q) acc += row[q * plan.inner_stride];
    sum += acc;
  }
  out[off[0]] = sum;
}

// The same sums with one block per output element, for few outputs each summing many elements
// (a bias gradient: 49 or 10 000 outputs, each over every position of the batch), where one thread
// per output would leave the GPU idle: the block's threads take a strided share of the reduced
// elements r = k·n_inner + q in order, then combine in block_sum's fixed tree (deterministic; the
// order differs from the CPU's, within rounding).
template <typename T>
__global__ void sum_to_blocks_kernel(T* out, const T* g, SumToPlan plan) {
  const int64_t i = blockIdx.x;
  int64_t off[2];
  offsets(plan.kept, i, off);
  const T* base = g + off[1];
  const int64_t total = plan.n_reduced * plan.n_inner;
  double acc = 0;
  for (int64_t r = threadIdx.x; r < total; r += blockDim.x) {
    const int64_t k = r / plan.n_inner, q = r % plan.n_inner;
    int64_t ro[1];
    offsets(plan.reduced, k, ro);
    acc += double(base[ro[0] + q * plan.inner_stride]);
  }
  const double sum = block_sum(acc);
  if (threadIdx.x == 0) out[off[0]] = T(sum);
}

// sum_to takes one block per output below this many outputs when each sums at least
// kBlockSumMin elements (one thread per output would then leave most of the GPU idle).
constexpr int64_t kBlockSumMaxOutputs = 16384, kBlockSumMin = 256;

// f.template operator()<T>() for f32 / f64; an Error naming `op` otherwise.
template <class F>
void on_float(DType t, const char* op, F&& f) {
  if (t == DType::F32) return f.template operator()<float>();
  if (t == DType::F64) return f.template operator()<double>();
  fail(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, dtype_name(t)));
}

}  // namespace

void reduce_sum_all(const Tensor& x, Tensor& out) {
  on_float(x.dtype(), "sum", [&]<typename T>() {
    const Tensor xc = x.contiguous();
    const int64_t n = xc.numel();
    const int64_t blocks = std::clamp<int64_t>(int64_t(blocks_for(n)), 1, kMaxSumBlocks);
    const Context& ctx = context_of(out);
    Tensor partial = Tensor::empty({blocks}, DType::F64, out.device());
    sum_partials_kernel<T><<<unsigned(blocks), kThreads, 0, ctx.stream>>>(partial.data<double>(), xc.data<T>(), n);
    check_launch("sum");
    sum_combine_kernel<T><<<1, kThreads, 0, ctx.stream>>>(out.data<T>(), partial.data<double>(), blocks);
    check_launch("sum");
  });
}

void reduce_sum_to(const Tensor& g, Tensor& out) {
  on_float(g.dtype(), "sum_to", [&]<typename T>() {
    const int64_t n = out.numel();
    if (n == 0) return;
    const Tensor oe = out.expand(g.shape());
    const int nd = g.dim();
    if (nd > kMaxDims) fail(fmt::format("sum_to: {} has more than {} dimensions", g.describe(), kMaxDims));
    SumToPlan plan;
    // The CPU sums a run of the last dimension on its own when out's expanded stride there is 0.
    const bool inner_summed = nd > 0 && oe.stride(nd - 1) == 0;
    if (inner_summed) {
      plan.n_inner = g.size(nd - 1);
      plan.inner_stride = g.stride(nd - 1);
    }
    for (int d = 0; d < nd; ++d) {
      if (oe.stride(d) != 0) {
        const int k = plan.kept.dims++;
        plan.kept.shape[k] = g.size(d);
        plan.kept.strides[0][k] = oe.stride(d);
        plan.kept.strides[1][k] = g.stride(d);
      } else if (d < nd - 1) {
        const int k = plan.reduced.dims++;
        plan.reduced.shape[k] = g.size(d);
        plan.reduced.strides[0][k] = g.stride(d);
        plan.n_reduced *= g.size(d);
      }
    }
    plan.kept = coalesced(plan.kept);  // the same offsets with fewer divisions
    plan.reduced = coalesced(plan.reduced);
    const Context& ctx = context_of(out);
    if (n < kBlockSumMaxOutputs && plan.n_reduced * plan.n_inner >= kBlockSumMin)
      sum_to_blocks_kernel<T><<<unsigned(n), kThreads, 0, ctx.stream>>>(out.data<T>(), g.data<T>(), plan);
    else
      sum_to_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(out.data<T>(), g.data<T>(), plan, n);
    check_launch("sum_to");
  });
}

ReduceKernels reduce_kernels() { return {.sum_all = reduce_sum_all, .sum_to = reduce_sum_to}; }

}  // namespace seqnet::cuda
