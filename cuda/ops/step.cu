// cuda/ops/step.cu — the CUDA step kernels (contract: ops/kernels/step.h; the CPU twins, which are
// their oracle: ops/cpu/step.cpp). They run on the stream of the current GPU (the one the
// stepper's buffers were allocated on), never wait for it, and allocate nothing, so that a whole
// step can be recorded once as a CUDA graph and replayed (models/step/, docs/generation.md).
//
// At batch N ≤ 8 a product is one block per output row: its threads stride over the row's K
// weights, each weight is read once and multiplied into all N inputs, and a fixed-order reduction
// sums the threads, bias included (batch-1 generation is a chain of such matrix–vector products,
// where cuBLAS's general kernels and a separate bias pass cost more than the product). Larger
// batches use cuBLAS.
#include <cooperative_groups.h>

#include <algorithm>
#include <cmath>

#include "core/philox.h"
#include "core/rng.h"
#include "cuda/backend.h"
#include "cuda/context.h"
#include "cuda/round_nearest.cuh"

namespace seqnet::cuda {

namespace {

constexpr int kMaxWarpBatch = 8;  // affine: our row kernel up to this batch, cuBLAS above
static_assert(kGatedAffineMaxBatch <= kMaxWarpBatch, "gated_affine sums like the row kernel");

// The stream of the calling thread's current GPU (the steppers make their device current,
// DeviceApi::make_current). Contexts live as long as the process, so each thread keeps the last one
// it looked up (context() takes a lock).
Context& current_context(const char* op) {
  int index = 0;
  check_cuda(cudaGetDevice(&index), op, "cudaGetDevice");
  thread_local int cached_index = -1;
  thread_local Context* cached = nullptr;
  if (index != cached_index) cached = &context(index), cached_index = index;
  return *cached;
}

// Y[n, o] (+)= bias[o] + Σ_k W[o, k] X[n, k] for N ≤ kMaxWarpBatch: one block of kRowThreads
// threads per row o. The threads stride over the row (4 loads in flight each), every weight is
// read once and multiplied into all N inputs; the lanes of each warp are summed by shuffles, the
// warps in a fixed order through shared memory (so a rerun is bitwise identical). A row of a
// batch-1 step is a few hundred to a few thousand weights: one warp per row would leave the GPU
// nearly idle, each lane waiting for one load after another. With Ring (affine_ring), thread n
// then pushes its result into the ring's queue and gathers the taps of its channel o — column o
// of the queue and the window, which no other block touches — as ring_push_gather_kernel does.
constexpr int kRowThreads = 128;
template <bool Ring>
__global__ void affine_rows_kernel(int64_t N, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                                   const float* bias, float* Y, int64_t ldy, bool accumulate, StepRing ring) {
  __shared__ float part[kRowThreads / 32][kMaxWarpBatch];
  const int64_t o = blockIdx.x;
  const int t = threadIdx.x, lane = t % 32, warp = t / 32;
  float acc[kMaxWarpBatch];
#pragma unroll
  for (int n = 0; n < kMaxWarpBatch; ++n) acc[n] = 0.0f;
  const float* w = W + o * ldw;
#pragma unroll 4
  for (int64_t k = t; k < K; k += kRowThreads) {
    const float wk = __ldg(w + k);
#pragma unroll
    for (int n = 0; n < kMaxWarpBatch; ++n)
      if (n < N) acc[n] += wk * X[n * ldx + k];
  }
#pragma unroll
  for (int n = 0; n < kMaxWarpBatch; ++n) {
    float v = acc[n];
    for (int off = 16; off > 0; off /= 2) v += __shfl_down_sync(0xffffffffu, v, off);
    if (lane == 0) part[warp][n] = v;
  }
  __syncthreads();
  if (t < N) {
    float v = 0.0f;
    for (int j = 0; j < kRowThreads / 32; ++j) v += part[j][t];
    if (bias) v += bias[o];
    float* y = Y + t * ldy + o;
    const float out = accumulate ? *y + v : v;
    *y = out;
    if constexpr (Ring) {
      const int64_t M = gridDim.x, p = *ring.pos, T = ring.taps;
      ring.queue[(ring_slot(p, ring.slots) * N + t) * M + o] = out;
      for (int64_t m = 0; m + 1 < T; ++m)
        ring.window[(t * T + m) * M + o] =
            ring.queue[(ring_slot(p - ring.dilation * (T - 1 - m), ring.slots) * N + t) * M + o];
      ring.window[(t * T + T - 1) * M + o] = out;  // the newest tap: the slot just written
    }
  }
}

// out[n, o] = tanh(f) · σ(g) + id[n, o] with f, g rows o and C + o of bias + W·X[n]: one block of
// kRowThreads per channel o, each row summed exactly as affine_rows_kernel sums it (the same
// strides, shuffles and fixed warp order, bias last) and the gate computed as gated_kernel does,
// so the fused step gives the bits of affine + gated on the GPU. Then thread n < N pushes
// sequence n's column col + o of every window this output feeds (its older rows were read at the
// start, so that their latency hides behind the product); no other block touches those columns.
__global__ void gated_affine_kernel(int64_t N, int64_t C, int64_t K, const float* X, int64_t ldx, const float* W,
                                    int64_t ldw, const float* bias, const float* id, int64_t ld_id, float* out,
                                    int64_t ld_out, StepPushes pushes) {
  __shared__ float part[2][kRowThreads / 32][kMaxWarpBatch];
  const int64_t o = blockIdx.x;
  const int t = threadIdx.x, lane = t % 32, warp = t / 32;
  float old[kMaxStepPushes][kMaxPushRows - 1];
  if (t < N) {
#pragma unroll
    for (int i = 0; i < kMaxStepPushes; ++i)
      if (i < pushes.count) {
        const StepPush& p = pushes.push[i];
        const float* w = p.window + (t * p.rows * p.width + p.col + o);
#pragma unroll
        for (int r = 0; r + 1 < kMaxPushRows; ++r)
          if (r + 1 < p.rows) old[i][r] = w[(r + 1) * p.width];
      }
  }
  float acc[2][kMaxWarpBatch];
#pragma unroll
  for (int n = 0; n < kMaxWarpBatch; ++n) acc[0][n] = acc[1][n] = 0.0f;
  const float* wf = W + o * ldw;
  const float* wg = W + (C + o) * ldw;
#pragma unroll 4
  for (int64_t k = t; k < K; k += kRowThreads) {
    const float f = __ldg(wf + k), g = __ldg(wg + k);
#pragma unroll
    for (int n = 0; n < kMaxWarpBatch; ++n)
      if (n < N) {
        const float x = X[n * ldx + k];
        acc[0][n] += f * x;
        acc[1][n] += g * x;
      }
  }
#pragma unroll
  for (int r = 0; r < 2; ++r)
#pragma unroll
    for (int n = 0; n < kMaxWarpBatch; ++n) {
      float v = acc[r][n];
      for (int off = 16; off > 0; off /= 2) v += __shfl_down_sync(0xffffffffu, v, off);
      if (lane == 0) part[r][warp][n] = v;
    }
  __syncthreads();
  if (t < N) {
    float f = 0.0f, g = 0.0f;
    for (int j = 0; j < kRowThreads / 32; ++j) f += part[0][j][t], g += part[1][j][t];
    if (bias) f += bias[o], g += bias[C + o];
    float y = mul_rn(tanhf(f), 1.0f / (1.0f + expf(-g)));  // not fused with the + id below, as on the CPU
    if (id) y += id[t * ld_id + o];
    out[t * ld_out + o] = y;
#pragma unroll
    for (int i = 0; i < kMaxStepPushes; ++i)
      if (i < pushes.count) {
        const StepPush& p = pushes.push[i];
        float* w = p.window + (t * p.rows * p.width + p.col + o);
#pragma unroll
        for (int r = 0; r + 1 < kMaxPushRows; ++r)
          if (r + 1 < p.rows) w[r * p.width] = old[i][r];
        const float v = p.src == out && p.ld_src == ld_out ? y : p.src[t * p.ld_src + o];
        w[(p.rows - 1) * p.width] = p.relu && v < 0.0f ? 0.0f : v;  // as relu_kernel: NaN stays NaN
      }
  }
}

// Y[n, o] := bias[o] (or += bias[o]), before a cuBLAS product with β = 1.
__global__ void bias_rows_kernel(int64_t N, int64_t M, const float* bias, float* Y, int64_t ldy, bool accumulate) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * M) return;
  const int64_t n = i / M, o = i % M;
  float* y = Y + n * ldy + o;
  *y = accumulate ? *y + bias[o] : bias[o];
}

__global__ void gated_kernel(int64_t N, int64_t C, int64_t c0, int64_t width, const float* fg, const float* id,
                             int64_t ld_id, float* out, int64_t ld_out) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * width) return;
  const int64_t n = i / width, o = c0 + i % width;
  const float f = fg[n * 2 * C + o], g = fg[n * 2 * C + C + o];
  float y = mul_rn(tanhf(f), 1.0f / (1.0f + expf(-g)));  // not fused with the + id below, as on the CPU
  if (id) y += id[n * ld_id + o];
  out[n * ld_out + o] = y;
}

__global__ void relu_kernel(int64_t N, int64_t c0, int64_t width, const float* x, int64_t ldx, float* y, int64_t ldy) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * width) return;
  const int64_t n = i / width, o = c0 + i % width;
  const float v = x[n * ldx + o];
  y[n * ldy + o] = v < 0.0f ? 0.0f : v;  // std::max(v, 0) as the CPU twin: NaN stays NaN (fmaxf gives 0)
}

__global__ void leaky_relu_kernel(int64_t N, int64_t c0, int64_t width, const float* x, int64_t ldx, float* y,
                                  int64_t ldy, float slope) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * width) return;
  const int64_t n = i / width, o = c0 + i % width;
  const float v = x[n * ldx + o];
  y[n * ldy + o] = v >= 0.0f ? v : slope * v;
}

__global__ void add_kernel(int64_t N, int64_t c0, int64_t width, const float* x, int64_t ldx, float* y, int64_t ldy) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * width) return;
  const int64_t n = i / width, o = c0 + i % width;
  y[n * ldy + o] += x[n * ldx + o];
}

// One thread per (n, c): it writes its element of the new slot and gathers the same element of
// every tap (its own write included), so no thread reads what another writes.
__global__ void ring_push_gather_kernel(int64_t N, int64_t C, int64_t c0, int64_t width, int64_t slots,
                                        int64_t dilation, int64_t K, float* queue, const int64_t* pos, const float* x,
                                        int64_t ldx, float* window) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * width) return;
  const int64_t n = i / width, c = c0 + i % width, p = *pos;
  queue[(ring_slot(p, slots) * N + n) * C + c] = x[n * ldx + c];
  for (int64_t m = 0; m < K; ++m)
    window[(n * K + m) * C + c] = queue[(ring_slot(p - dilation * (K - 1 - m), slots) * N + n) * C + c];
}

// One thread per (n, column j): it moves its column one row up and writes the newest element.
__global__ void window_push_kernel(int64_t N, int64_t rows, int64_t width, float* window, const float* x, int64_t ldx,
                                   int64_t cx, const float* cond, int64_t ldc) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * width) return;
  const int64_t n = i / width, j = i % width;
  float* w = window + n * rows * width + j;
  for (int64_t r = 0; r + 1 < rows; ++r) w[r * width] = w[(r + 1) * width];
  if (j < cx)
    w[(rows - 1) * width] = x[n * ldx + j];
  else if (cond)
    w[(rows - 1) * width] = cond[n * ldc + (j - cx)];
}

// Row n of an (N, rows) window of ids moves one entry up; the newest entry := id (one thread).
__device__ void push_id(int64_t* window, int64_t rows, int64_t n, int64_t id) {
  int64_t* iw = window + n * rows;
  for (int64_t r = 0; r + 1 < rows; ++r) iw[r] = iw[r + 1];
  iw[rows - 1] = id;
}

__global__ void one_hot_push_kernel(int64_t N, int64_t rows, int64_t V, float* window, int64_t* ids_window,
                                    const int64_t* ids, int64_t ld_ids) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * V) return;
  const int64_t n = i / V, j = i % V;
  const int64_t id = ids[n * ld_ids];
  float* w = window + n * rows * V + j;
  for (int64_t r = 0; r + 1 < rows; ++r) w[r * V] = w[(r + 1) * V];
  w[(rows - 1) * V] = j == id ? 1.0f : 0.0f;
  if (j == 0 && ids_window) push_id(ids_window, rows, n, id);
}

// One thread per (n, o): its sum of K weight columns, then its column of every window it pushes
// (gated_affine's pushes, done by the thread that owns the element).
__global__ void lookup_kernel(int64_t N, int64_t c0, int64_t width, int64_t K, int64_t V, const float* W, int64_t ldw,
                              const int64_t* ids, const float* bias, float* Y, int64_t ldy, StepPushes pushes) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N * width) return;
  const int64_t n = i / width, o = c0 + i % width;
  float acc = bias ? bias[o] : 0.0f;
  for (int64_t m = 0; m < K; ++m) acc += W[o * ldw + m * V + ids[n * K + m]];
  Y[n * ldy + o] = acc;
  for (int j = 0; j < pushes.count; ++j) {
    const StepPush& p = pushes.push[j];
    float* w = p.window + (n * p.rows * p.width + p.col + o);
    for (int64_t r = 0; r + 1 < p.rows; ++r) w[r * p.width] = w[(r + 1) * p.width];
    const float v = p.src == Y && p.ld_src == ldy ? acc : p.src[n * p.ld_src + o];
    w[(p.rows - 1) * p.width] = p.relu && v < 0.0f ? 0.0f : v;
  }
}

// One block per row n. The arg-max follows the CPU's sequential rule (the first maximum; a NaN
// in class 0 makes class 0 the arg-max, a NaN elsewhere never wins); the probabilities are summed
// by thread 0 in class order from a shared chunk, exactly as the CPU sums them.
constexpr int kSampleThreads = 256;
// One thread per key: frame[n, c] = u < σ(x / T) (T = 0: x > 0), u from block first + (s·N + n)·C + c
// *count := s + 1 once every block of the grid has read *count (as s): each block's thread 0, after
// the block's barrier, counts the block in `arrived`; the last to arrive ticks and restores
// `arrived` to 0 for the next kernel (the last-block-done pattern; the fence orders the block's
// reads of *count before its arrival). Every thread of the block must call it.
__device__ void tick_when_all_blocks_read(int64_t* count, int64_t s, unsigned* arrived) {
  __syncthreads();
  if (threadIdx.x != 0) return;
  if (gridDim.x == 1) {
    *count = s + 1;
    return;
  }
  __threadfence();
  if (atomicAdd(arrived, 1u) == gridDim.x - 1) {
    __threadfence();  // the stores after the atomic (free on real hardware; the model asks for it)
    *arrived = 0;
    *count = s + 1;
  }
}

__global__ void bernoulli_kernel(int64_t N, int64_t C, const float* logits, int64_t ld, double temperature,
                                 uint64_t seed, uint64_t first_block, int64_t* count, float* frame, float* history,
                                 unsigned* tick_arrived) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const uint64_t s = uint64_t(*count);
  if (i < N * C) {  // (no early return: every thread reaches the tick's barrier)
    const int64_t n = i / C, c = i % C;
    const bool on = bernoulli_key(logits[n * ld + c], temperature, seed,
                                  first_block + (s * uint64_t(N) + uint64_t(n)) * uint64_t(C) + uint64_t(c));
    const float v = on ? 1.0f : 0.0f;
    frame[n * C + c] = v;
    if (history) history[(s * uint64_t(N) + uint64_t(n)) * uint64_t(C) + uint64_t(c)] = v;
  }
  if (tick_arrived) tick_when_all_blocks_read(count, int64_t(s), tick_arrived);
}

// The draw of sequence n at step s by the kSampleThreads threads of one block (the sample kernel,
// and the draw stage of the WaveNet loop).
__device__ void sample_row(int64_t n, int64_t s_, int64_t C, const float* logits, int64_t ld, double temperature,
                           uint64_t seed, uint64_t first_block, int64_t N, int64_t* ids, int64_t ids_rows,
                           int64_t* history) {
  __shared__ float best_v[kSampleThreads];
  __shared__ int64_t best_c[kSampleThreads];
  __shared__ double p[kSampleThreads];
  __shared__ double total_s;
  __shared__ int64_t pick_s;
  const int t = threadIdx.x;
  const float* l = logits + n * ld;
  // Per thread: its best (value, class) among c ≡ t, non-NaN only (c = −1: none yet).
  float bv = 0.0f;
  int64_t bc = -1;
  for (int64_t c = t; c < C; c += kSampleThreads) {
    const float v = l[c];
    if (v == v && (bc < 0 || v > bv)) bv = v, bc = c;
  }
  best_v[t] = bv, best_c[t] = bc;
  __syncthreads();
  for (int half = kSampleThreads / 2; half > 0; half /= 2) {
    if (t < half) {
      const float ov = best_v[t + half];
      const int64_t oc = best_c[t + half];
      if (oc >= 0 && (best_c[t] < 0 || ov > best_v[t] || (ov == best_v[t] && oc < best_c[t])))
        best_v[t] = ov, best_c[t] = oc;
    }
    __syncthreads();
  }
  const int64_t best = (l[0] != l[0] || best_c[0] < 0) ? 0 : best_c[0];
  const uint64_t s = uint64_t(s_);
  if (temperature == 0) {
    if (t == 0) {
      push_id(ids, ids_rows, n, best);
      if (history) history[s * uint64_t(N) + uint64_t(n)] = best;
    }
    return;
  }
  const double m = l[best];
  if (t == 0) total_s = 0.0;
  for (int64_t c0 = 0; c0 < C; c0 += kSampleThreads) {
    if (c0 + t < C) p[t] = exp((double(l[c0 + t]) - m) / temperature);
    __syncthreads();
    if (t == 0)
      for (int64_t j = 0; j < kSampleThreads && c0 + j < C; ++j) total_s += p[j];
    __syncthreads();
  }
  const PhiloxBlock b = philox_block(seed, first_block + s * uint64_t(N) + uint64_t(n));
  double u = u64_to_unit_double((uint64_t(b.lane[0]) << 32) | b.lane[1]) * total_s;
  if (t == 0) pick_s = -1;
  // Every thread reads pick_s only after the barrier that follows thread 0's scan, and thread 0
  // writes it again only after the next chunk's barrier: no read shares an interval with a write.
  for (int64_t c0 = 0; c0 < C; c0 += kSampleThreads) {
    if (C > kSampleThreads) {  // (one chunk: p still holds its values from the sum)
      if (c0 + t < C) p[t] = exp((double(l[c0 + t]) - m) / temperature);
      __syncthreads();
    }
    if (t == 0)
      for (int64_t j = 0; j < kSampleThreads && c0 + j < C; ++j)
        if ((u -= p[j]) < 0) {
          pick_s = c0 + j;
          break;
        }
    __syncthreads();
    if (pick_s >= 0) break;
  }
  if (t == 0) {
    const int64_t pick = pick_s >= 0 ? pick_s : C - 1;
    push_id(ids, ids_rows, n, pick);
    if (history) history[s * uint64_t(N) + uint64_t(n)] = pick;
  }
}

// tick_arrived: null, or the context's counter (then *count ticks after every block's draw).
__global__ void sample_kernel(int64_t C, const float* logits, int64_t ld, double temperature, uint64_t seed,
                              uint64_t first_block, int64_t* count, int64_t N, int64_t* ids, int64_t ids_rows,
                              int64_t* history, unsigned* tick_arrived) {
  const int64_t s = *count;
  sample_row(blockIdx.x, s, C, logits, ld, temperature, seed, first_block, N, ids, ids_rows, history);
  if (tick_arrived) tick_when_all_blocks_read(count, s, tick_arrived);
}

// ---- the WaveNet generation loop as one persistent kernel (ops/kernels/wavenet_loop.h) ----------

// A worker is a warp: its lanes stride over a row's weights (each weight read once for all N
// sequences), and butterfly shuffles give every lane the row's sums.
struct WarpLanes {
  int64_t lane = 0, width = 32;
  __device__ void partial(const float* w, const float* x, int64_t ldx, int64_t N, int64_t K, float* acc,
                          bool relu_x) const {
    for (int64_t k = lane; k < K; k += 32) {
      const float wk = __ldg(w + k);
#pragma unroll
      for (int n = 0; n < kWaveNetLoopMaxBatch; ++n)
        if (n < N) {
          const float v = __ldcg(x + n * ldx + k);
          acc[n] += wk * (relu_x ? (v < 0.0f ? 0.0f : v) : v);
        }
    }
  }
  __device__ void reduce(float* acc, int64_t N) const {
#pragma unroll
    for (int n = 0; n < kWaveNetLoopMaxBatch; ++n)
      if (n < N)
        for (int off = 16; off > 0; off /= 2) acc[n] += __shfl_xor_sync(0xffffffffu, acc[n], off);
  }
  template <class T>
  __device__ T ld(const T* p) const {
    return __ldcg(p);
  }
};

// Every block stays resident for samples s_begin … s_end − 1 (a cooperative launch); grid.sync()
// is the barrier between two stages. The draw: block b draws sequence b (kSampleThreads threads).
constexpr int kLoopThreads = 256;
static_assert(kLoopThreads == kSampleThreads, "the draw stage runs sample_row on a whole block");
// (One block per SM is all the loop asks for: 153 registers, no spills.)
__global__ void __launch_bounds__(kLoopThreads, 1) wavenet_loop_kernel(WaveNetLoop a, int64_t s_begin, int64_t s_end) {
  cooperative_groups::grid_group grid = cooperative_groups::this_grid();
  constexpr int64_t kWarps = kLoopThreads / 32;
  const int64_t worker = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32, workers = int64_t(gridDim.x) * kWarps;
  const WarpLanes lanes{int64_t(threadIdx.x % 32)};
  const int64_t p0 = *a.pos, stages = wavenet_loop_stages(a);
  for (int64_t s = s_begin; s < s_end; ++s) {
    const int64_t p = p0 + 1 + (s - s_begin);
    for (int64_t stage = 0; stage + 1 < stages; ++stage) {
      wavenet_loop_stage(a, p, stage, worker, workers, lanes);
      grid.sync();
    }
    for (int64_t n = blockIdx.x; n < a.N; n += gridDim.x) {
      sample_row(n, s, a.C, a.logits, a.C, a.temperature, a.seed, a.first_block, a.N, a.ids, 1, a.history);
      __syncthreads();
    }
    grid.sync();
  }
  if (blockIdx.x == 0 && threadIdx.x == 0) *a.pos = p0 + (s_end - s_begin);  // every read of *pos was before
}

__global__ void tick_kernel(int64_t* counter, int64_t modulo) {
  *counter = modulo > 0 ? (*counter + 1) % modulo : *counter + 1;
}

}  // namespace

void step_affine(int64_t N, int64_t M, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                 const float* bias, float* Y, int64_t ldy, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  Context& ctx = current_context("step affine");
  if (N <= kMaxWarpBatch) {
    affine_rows_kernel<false>
        <<<unsigned(M), kRowThreads, 0, ctx.stream>>>(N, K, X, ldx, W, ldw, bias, Y, ldy, accumulate, StepRing{});
    check_launch("step affine");
    return;
  }
  if (bias) {
    bias_rows_kernel<<<blocks_for(N * M), kThreads, 0, ctx.stream>>>(N, M, bias, Y, ldy, accumulate);
    check_launch("step affine (bias)");
  }
  const float alpha = 1.0f, beta = (bias || accumulate) ? 1.0f : 0.0f;
  if (K == 0) {
    if (beta == 0.0f)
      check_cuda(cudaMemset2DAsync(Y, size_t(ldy) * sizeof(float), 0, size_t(M) * sizeof(float), size_t(N), ctx.stream),
                 "step affine", "cudaMemset2DAsync");
    return;
  }
  // Row-major Y (N, M) = X (N, K) · Wᵀ is column-major Yᵀ (M, N) = Wᵀ-as-stored (K, M)ᵀ · Xᵀ (K, N).
  check_cublas(cublasSgemm(ctx.blas, CUBLAS_OP_T, CUBLAS_OP_N, int(M), int(N), int(K), &alpha, W, int(ldw), X, int(ldx),
                           &beta, Y, int(ldy)),
               "step affine", "cublasSgemm");
}

void step_gated(int64_t N, int64_t C, int64_t c0, int64_t c1, const float* fg, const float* id, int64_t ld_id,
                float* out, int64_t ld_out) {
  if (c1 <= c0 || N <= 0) return;
  Context& ctx = current_context("step gated");
  gated_kernel<<<blocks_for(N * (c1 - c0)), kThreads, 0, ctx.stream>>>(N, C, c0, c1 - c0, fg, id, ld_id, out, ld_out);
  check_launch("step gated");
}

void step_relu(int64_t N, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* y, int64_t ldy) {
  if (c1 <= c0 || N <= 0) return;
  Context& ctx = current_context("step relu");
  relu_kernel<<<blocks_for(N * (c1 - c0)), kThreads, 0, ctx.stream>>>(N, c0, c1 - c0, x, ldx, y, ldy);
  check_launch("step relu");
}

void step_leaky_relu(int64_t N, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* y, int64_t ldy,
                     float slope) {
  if (c1 <= c0 || N <= 0) return;
  Context& ctx = current_context("step leaky_relu");
  leaky_relu_kernel<<<blocks_for(N * (c1 - c0)), kThreads, 0, ctx.stream>>>(N, c0, c1 - c0, x, ldx, y, ldy, slope);
  check_launch("step leaky_relu");
}

void step_add(int64_t N, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* y, int64_t ldy) {
  if (c1 <= c0 || N <= 0) return;
  Context& ctx = current_context("step add");
  add_kernel<<<blocks_for(N * (c1 - c0)), kThreads, 0, ctx.stream>>>(N, c0, c1 - c0, x, ldx, y, ldy);
  check_launch("step add");
}

void step_ring_push_gather(int64_t N, int64_t C, int64_t c0, int64_t c1, int64_t slots, int64_t dilation, int64_t K,
                           float* queue, const int64_t* pos, const float* x, int64_t ldx, float* window) {
  if (c1 <= c0 || N <= 0) return;
  Context& ctx = current_context("step ring_push_gather");
  ring_push_gather_kernel<<<blocks_for(N * (c1 - c0)), kThreads, 0, ctx.stream>>>(N, C, c0, c1 - c0, slots, dilation, K,
                                                                                  queue, pos, x, ldx, window);
  check_launch("step ring_push_gather");
}

// One launch at N ≤ kMaxWarpBatch (the row kernel with its ring epilogue); above, cuBLAS's product
// and then the ring push as two.
void step_affine_ring(int64_t N, int64_t M, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                      const float* bias, float* Y, int64_t ldy, bool accumulate, const StepRing& r) {
  if (M <= 0 || N <= 0) return;
  if (const char* wrong = step_ring_error(r, N, M, K, X, ldx, W, ldw, bias, Y, ldy))
    fail(fmt::format("step affine_ring: {} (N = {}, M = {}, {} slots, {} taps)", wrong, N, M, r.slots, r.taps));
  if (N <= kMaxWarpBatch) {
    Context& ctx = current_context("step affine_ring");
    affine_rows_kernel<true>
        <<<unsigned(M), kRowThreads, 0, ctx.stream>>>(N, K, X, ldx, W, ldw, bias, Y, ldy, accumulate, r);
    check_launch("step affine_ring");
    return;
  }
  step_affine(N, M, K, X, ldx, W, ldw, bias, Y, ldy, accumulate);
  step_ring_push_gather(N, M, 0, M, r.slots, r.dilation, r.taps, r.queue, r.pos, Y, ldy, r.window);
}

void step_window_push(int64_t N, int64_t rows, int64_t width, float* window, const float* x, int64_t ldx, int64_t cx,
                      const float* cond, int64_t ldc) {
  if (N <= 0 || width <= 0) return;
  Context& ctx = current_context("step window_push");
  window_push_kernel<<<blocks_for(N * width), kThreads, 0, ctx.stream>>>(N, rows, width, window, x, ldx, cx, cond, ldc);
  check_launch("step window_push");
}

void step_one_hot_push(int64_t N, int64_t rows, int64_t V, float* window, int64_t* ids_window, const int64_t* ids,
                       int64_t ld_ids) {
  if (const char* wrong = one_hot_push_error(N, rows, ids_window, ids, ld_ids))
    fail(fmt::format("step one_hot_push: {}", wrong));
  if (N <= 0 || V <= 0) return;
  Context& ctx = current_context("step one_hot_push");
  one_hot_push_kernel<<<blocks_for(N * V), kThreads, 0, ctx.stream>>>(N, rows, V, window, ids_window, ids, ld_ids);
  check_launch("step one_hot_push");
}

void step_lookup(int64_t N, int64_t c0, int64_t c1, int64_t K, int64_t V, const float* W, int64_t ldw,
                 const int64_t* ids, const float* bias, float* Y, int64_t ldy, const StepPushes& pushes) {
  if (c1 <= c0 || N <= 0) return;
  if (const char* wrong = lookup_pushes_error(pushes, N, c0, c1, K, V, W, ldw, ids, bias, Y, ldy))
    fail(fmt::format("step lookup: {} ({} pushes of {} channels)", wrong, pushes.count, c1));
  Context& ctx = current_context("step lookup");
  lookup_kernel<<<blocks_for(N * (c1 - c0)), kThreads, 0, ctx.stream>>>(N, c0, c1 - c0, K, V, W, ldw, ids, bias, Y, ldy,
                                                                        pushes);
  check_launch("step lookup");
}

void step_tick(int64_t* counter, int64_t modulo);

void step_sample(int64_t N, int64_t C, const float* logits, int64_t ld, double temperature, uint64_t seed,
                 uint64_t first_block, int64_t* count, int64_t* ids, int64_t ids_rows, int64_t* history, bool tick) {
  if (ids_rows < 1) fail(fmt::format("step sample: ids_rows must be at least 1, got {}", ids_rows));
  if (N <= 0 || C <= 0) {
    if (tick) step_tick(count, 0);
    return;
  }
  Context& ctx = current_context("step sample");
  sample_kernel<<<unsigned(N), kSampleThreads, 0, ctx.stream>>>(C, logits, ld, temperature, seed, first_block, count, N,
                                                                ids, ids_rows, history, tick ? ctx.arrived : nullptr);
  check_launch("step sample");
}

void step_bernoulli(int64_t N, int64_t C, const float* logits, int64_t ld, double temperature, uint64_t seed,
                    uint64_t first_block, int64_t* count, float* frame, float* history, bool tick) {
  if (N <= 0 || C <= 0) {
    if (tick) step_tick(count, 0);
    return;
  }
  Context& ctx = current_context("step bernoulli");
  bernoulli_kernel<<<blocks_for(N * C), kThreads, 0, ctx.stream>>>(N, C, logits, ld, temperature, seed, first_block,
                                                                   count, frame, history, tick ? ctx.arrived : nullptr);
  check_launch("step bernoulli");
}

void step_tick(int64_t* counter, int64_t modulo) {
  Context& ctx = current_context("step tick");
  tick_kernel<<<1, 1, 0, ctx.stream>>>(counter, modulo);
  check_launch("step tick");
}

void step_wavenet_loop(const WaveNetLoop& a, int64_t s_begin, int64_t s_end) {
  if (s_end <= s_begin) return;
  if (!(a.N >= 1 && a.N <= kWaveNetLoopMaxBatch))
    fail(fmt::format("step wavenet_loop: batch {} outside [1, {}]", a.N, kWaveNetLoopMaxBatch));
  Context& ctx = current_context("step wavenet_loop");
  int device = 0, cooperative = 0, sms = 0, per_sm = 0;
  check_cuda(cudaGetDevice(&device), "step wavenet_loop", "cudaGetDevice");
  check_cuda(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device), "step wavenet_loop",
             "cudaDeviceGetAttribute");
  if (!cooperative) fail(fmt::format("step wavenet_loop: GPU {} does not support cooperative launches", device));
  check_cuda(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "step wavenet_loop",
             "cudaDeviceGetAttribute");
  check_cuda(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, wavenet_loop_kernel, kLoopThreads, 0),
             "step wavenet_loop", "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  // Every block must be resident at once (the barrier waits for all of them).
  const int64_t resident = int64_t(sms) * per_sm;
  if (resident < a.N) fail(fmt::format("step wavenet_loop: only {} blocks fit on GPU {} at once", resident, device));
  constexpr int64_t kWarps = kLoopThreads / 32;
  const int64_t widest = std::max({a.D, a.R + a.S, a.C, int64_t(1)});
  int64_t blocks = a.grid_blocks > 0 ? a.grid_blocks : std::min(int64_t(sms), (widest + kWarps - 1) / kWarps);
  blocks = std::max(std::min(blocks, resident), a.N);
  WaveNetLoop args = a;
  void* params[] = {&args, &s_begin, &s_end};
  check_cuda(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(wavenet_loop_kernel), dim3(unsigned(blocks)),
                                         dim3(kLoopThreads), params, 0, ctx.stream),
             "step wavenet_loop", "cudaLaunchCooperativeKernel");
  check_launch("step wavenet_loop");
}

void step_gated_affine(int64_t N, int64_t C, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                       const float* bias, const float* id, int64_t ld_id, float* out, int64_t ld_out,
                       const StepPushes& pushes) {
  if (!(N >= 0 && N <= kGatedAffineMaxBatch))
    fail(fmt::format("step gated_affine: batch {} outside [0, {}]", N, kGatedAffineMaxBatch));
  if (N == 0 || C <= 0) return;
  if (const char* wrong = step_pushes_error(pushes, N, C, K, X, ldx, id, ld_id, out, ld_out))
    fail(fmt::format("step gated_affine: {} ({} pushes of {} channels)", wrong, pushes.count, C));
  Context& ctx = current_context("step gated_affine");
  gated_affine_kernel<<<unsigned(C), kRowThreads, 0, ctx.stream>>>(N, C, K, X, ldx, W, ldw, bias, id, ld_id, out,
                                                                   ld_out, pushes);
  check_launch("step gated_affine");
}

StepKernels step_kernels() {
  return {.affine = step_affine,
          .gated = step_gated,
          .gated_affine = step_gated_affine,
          .affine_ring = step_affine_ring,
          .relu = step_relu,
          .leaky_relu = step_leaky_relu,
          .add = step_add,
          .ring_push_gather = step_ring_push_gather,
          .window_push = step_window_push,
          .one_hot_push = step_one_hot_push,
          .lookup = step_lookup,
          .sample = step_sample,
          .bernoulli = step_bernoulli,
          .tick = step_tick,
          .wavenet_loop = step_wavenet_loop};
}

}  // namespace seqnet::cuda
