// cuda/ops/embedding.cu — the CUDA embedding kernels (contract: ops/kernels/embedding.h; the CPU
// twins: ops/cpu/embedding.cpp).
//
// forward: one block finds the first id outside [0, V) (a fixed-order min tree, no atomics); the
// host copies it back and throws the CPU's message before anything is written; then one thread per
// output element gathers y[k, j] = E[ids[k], j].
// backward: no atomics, so the result is deterministic and bitwise equal to the CPU's serial
// scatter-add. The ids are copied to the host and bucketed into a CSR (for each vocabulary row v the
// positions k with ids[k] = v, in increasing k: a stable counting sort), uploaded, and one thread
// per (v, j) sums dy[k, j] over its positions in that order, starting from 0 — the CPU's
// dE[v, j] = 0 + dy[k1, j] + dy[k2, j] + ..., the same additions in the same order. Rows no id
// selects get 0.
#include <vector>

#include "cuda/backend.h"
#include "cuda/context.h"

namespace seqnet::cuda {

namespace {

constexpr int kCheckThreads = 256;  // a power of two (tree reduction)

// One block: res[0] = the first k with ids[k] ∉ [0, V) (n when none).
__global__ void first_bad_id_kernel(const int64_t* ids, int64_t n, int64_t V, int64_t* res) {
  __shared__ int64_t sb[kCheckThreads];
  int64_t bad = n;
  for (int64_t k = threadIdx.x; k < n; k += kCheckThreads) {
    if (ids[k] < 0 || ids[k] >= V) {
      bad = k;  // k grows: the thread's first is its least
      break;
    }
  }
  sb[threadIdx.x] = bad;
  __syncthreads();
  for (int s = kCheckThreads / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) sb[threadIdx.x] = min(sb[threadIdx.x], sb[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) res[0] = sb[0];
}

// y[k, j] = E[ids[k], j], one thread per element of y (n·D).
template <typename T>
__global__ void gather_kernel(T* y, const T* E, const int64_t* ids, int64_t D, int64_t total) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const int64_t k = i / D, j = i % D;
  y[i] = E[ids[k] * D + j];
}

// dE[v, j] = Σ dy[pos[q], j] for q in [row_start[v], row_start[v + 1]), in increasing q (= k).
template <typename T>
__global__ void csr_sum_kernel(T* dE, const T* dy, const int64_t* row_start, const int64_t* pos, int64_t D,
                               int64_t total) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const int64_t v = i / D, j = i % D;
  T acc = 0;
  for (int64_t q = row_start[v]; q < row_start[v + 1]; ++q) acc += dy[pos[q] * D + j];
  dE[i] = acc;
}

// f.template operator()<T>() for f32 / f64; an Error naming `op` otherwise.
template <class F>
void on_float(DType t, const char* op, F&& f) {
  if (t == DType::F32) return f.template operator()<float>();
  if (t == DType::F64) return f.template operator()<double>();
  fail(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, dtype_name(t)));
}

[[noreturn]] void fail_id(const char* op, int64_t id, int64_t k, int64_t vocab, const Tensor& E) {
  fail(fmt::format("{}: id {} at position {} is out of range for a vocabulary of {} (weight {})", op, id, k, vocab,
                   E.describe()));
}

// For each vocabulary row v, the positions k with ids[k] = v in increasing k (a stable counting
// sort): row v's are positions[row_start[v] .. row_start[v + 1]). Ids outside [0, vocab) throw
// forward's message (the CPU's backward would write out of bounds; forward has checked them).
struct EmbeddingCsr {
  std::vector<int64_t> row_start, positions;
};

EmbeddingCsr build_csr(const Tensor& ids, int64_t vocab, const Tensor& dE) {
  const std::vector<int64_t> id = ids.to_vector<int64_t>();  // waits for the stream
  const size_t n = id.size();
  EmbeddingCsr csr;
  csr.row_start.assign(size_t(vocab) + 1, 0);
  csr.positions.resize(n);
  for (size_t k = 0; k < n; ++k) {
    if (id[k] < 0 || id[k] >= vocab) fail_id("embedding", id[k], int64_t(k), vocab, dE);
    ++csr.row_start[size_t(id[k]) + 1];
  }
  for (size_t v = 0; v < size_t(vocab); ++v) csr.row_start[v + 1] += csr.row_start[v];
  std::vector<int64_t> next(csr.row_start.begin(), csr.row_start.end() - 1);
  for (size_t k = 0; k < n; ++k) {
    const size_t slot = size_t(next[size_t(id[k])]++);
    csr.positions[slot] = int64_t(k);
  }
  return csr;
}

}  // namespace

// y[k] = E[ids[k]], after checking every id is in [0, vocab)
void embedding_forward(const Tensor& ids, const Tensor& E, Tensor& y) {
  const char* op = "embedding";
  const int64_t vocab = E.size(0), dim = E.size(1);
  const int64_t n = ids.numel();
  const Context& ctx = context_of(y);
  if (n > 0) {
    const Tensor res = Tensor::empty({1}, DType::I64, ids.device());
    first_bad_id_kernel<<<1, kCheckThreads, 0, ctx.stream>>>(ids.data<int64_t>(), n, vocab, res.data<int64_t>());
    check_launch(op);
    const int64_t k = res.to_vector<int64_t>()[0];  // waits for the stream
    if (k < n) fail_id(op, ids.reshape({n}).narrow(0, k, 1).to_vector<int64_t>()[0], k, vocab, E);
  }
  on_float(E.dtype(), op, [&]<typename T>() {
    const int64_t total = n * dim;
    if (total == 0) return;
    gather_kernel<T><<<blocks_for(total), kThreads, 0, ctx.stream>>>(y.data<T>(), E.data<T>(), ids.data<int64_t>(),
                                                                     dim, total);
    check_launch(op);
  });
}

// dE[v] = Σ_{k : ids[k] = v} dy[k], summed in increasing k (see the file comment)
void embedding_backward(const Tensor& ids, const Tensor& dy, Tensor& dE) {
  const char* op = "embedding";
  const int64_t vocab = dE.size(0), dim = dE.size(1);
  const int64_t n = ids.numel();
  on_float(dy.dtype(), op, [&]<typename T>() {
    const int64_t total = vocab * dim;
    if (total == 0) return;
    if (n == 0) {
      dE.fill_(0.0);
      return;
    }
    const EmbeddingCsr csr = build_csr(ids, vocab, dE);
    const Tensor d_start = Tensor::from_vector(csr.row_start, {vocab + 1}).to(dE.device());
    const Tensor d_pos = Tensor::from_vector(csr.positions, {n}).to(dE.device());
    csr_sum_kernel<T><<<blocks_for(total), kThreads, 0, context_of(dE).stream>>>(
        dE.data<T>(), dy.data<T>(), d_start.data<int64_t>(), d_pos.data<int64_t>(), dim, total);
    check_launch("embedding backward");
  });
}

EmbeddingKernels embedding_kernels() { return {.forward = embedding_forward, .backward = embedding_backward}; }

}  // namespace seqnet::cuda
