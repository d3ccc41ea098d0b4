// ops/cpu/step.cpp — the CPU step kernels (contract: ops/kernels/step.h; the CUDA twins:
// cuda/ops/step.cu). Plain loops and one BLAS call per product; nothing allocates. The step
// modes call them from every member of a step::StepTeam with that member's channel range, so
// each writes only its own channels (window_push and one_hot_push run on one member).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/philox.h"
#include "core/rng.h"
#include "ops/cpu/cpu_backend.h"
#include "ops/cpu/vmath.h"

namespace seqnet::cpu {

// Y (+)= X · Wᵀ + bias: one sgemv at N = 1, one sgemm otherwise, the bias copied in first.
void step_affine(int64_t N, int64_t M, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                 const float* bias, float* Y, int64_t ldy, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (bias) {
    for (int64_t n = 0; n < N; ++n) {
      float* y = Y + n * ldy;
      if (accumulate)
        for (int64_t o = 0; o < M; ++o) y[o] += bias[o];
      else
        std::memcpy(y, bias, size_t(M) * sizeof(float));
    }
  }
  const float beta = (bias || accumulate) ? 1.0f : 0.0f;
  if (K == 0) {
    if (beta == 0.0f)
      for (int64_t n = 0; n < N; ++n) std::memset(Y + n * ldy, 0, size_t(M) * sizeof(float));
    return;
  }
  if (N == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(M), int(K), 1.0f, W, int(ldw), X, 1, beta, Y, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(N), int(M), int(K), 1.0f, X, int(ldx), W, int(ldw), beta,
                Y, int(ldy));
}

void step_gated(int64_t N, int64_t C, int64_t c0, int64_t c1, const float* fg, const float* id, int64_t ld_id,
                float* out, int64_t ld_out) {
  for (int64_t n = 0; n < N; ++n) {
    const float* f = fg + n * 2 * C;
    const float* g = f + C;
    float* y = out + n * ld_out;
    gated_f32(y + c0, nullptr, nullptr, f + c0, g + c0, c1 - c0);  // the training forward's values (vmath.h)
    if (id) {
      const float* i = id + n * ld_id;
      for (int64_t o = c0; o < c1; ++o) y[o] += i[o];
    }
  }
}

// The channels [o0, o1) of gated_affine's and lookup's window pushes (ops/kernels/step.h): column
// col + o of each window moves one row up and gets src[n, o] (relu'd where asked) as its newest.
static void push_columns(const StepPushes& pushes, int64_t N, int64_t o0, int64_t o1) {
  const int64_t m = o1 - o0;
  for (int i = 0; i < pushes.count; ++i) {
    const StepPush& p = pushes.push[i];
    for (int64_t n = 0; n < N; ++n) {
      float* w = p.window + n * p.rows * p.width + p.col + o0;
      for (int64_t r = 0; r + 1 < p.rows; ++r)
        std::memmove(w + r * p.width, w + (r + 1) * p.width, size_t(m) * sizeof(float));
      float* last = w + (p.rows - 1) * p.width;
      const float* src = p.src + n * p.ld_src + o0;
      if (p.relu)
        for (int64_t j = 0; j < m; ++j) last[j] = std::max(src[j], 0.0f);  // as step_relu: NaN stays NaN
      else
        std::memmove(last, src, size_t(m) * sizeof(float));
    }
  }
}

// affine then gated, chunk by chunk of channels through buffers on the stack (nothing allocates):
// the same products (step_affine) and the same gate (step_gated) as the two kernels in a row.
// Each chunk's window pushes follow its gate, as the GPU's blocks push their channel's columns
// right after their product.
void step_gated_affine(int64_t N, int64_t C, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                       const float* bias, const float* id, int64_t ld_id, float* out, int64_t ld_out,
                       const StepPushes& pushes) {
  if (!(N >= 0 && N <= kGatedAffineMaxBatch))
    fail(fmt::format("step gated_affine: batch {} outside [0, {}]", N, kGatedAffineMaxBatch));
  if (N == 0 || C <= 0) return;
  if (const char* wrong = step_pushes_error(pushes, N, C, K, X, ldx, id, ld_id, out, ld_out))
    fail(fmt::format("step gated_affine: {} ({} pushes of {} channels)", wrong, pushes.count, C));
  constexpr int64_t kChunk = 128;
  float fg[kGatedAffineMaxBatch * 2 * kChunk];
  for (int64_t o0 = 0; o0 < C; o0 += kChunk) {
    const int64_t m = std::min(kChunk, C - o0);
    // fg rows (N, 2m): [filter rows o0 … o0 + m, gate rows C + o0 … C + o0 + m]
    step_affine(N, m, K, X, ldx, W + o0 * ldw, ldw, bias ? bias + o0 : nullptr, fg, 2 * m, false);
    step_affine(N, m, K, X, ldx, W + (C + o0) * ldw, ldw, bias ? bias + C + o0 : nullptr, fg + m, 2 * m, false);
    step_gated(N, m, 0, m, fg, id ? id + o0 : nullptr, ld_id, out + o0, ld_out);
    push_columns(pushes, N, o0, o0 + m);  // this chunk's columns of every window it feeds
  }
}

void step_relu(int64_t N, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* y, int64_t ldy) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = c0; o < c1; ++o) y[n * ldy + o] = std::max(x[n * ldx + o], 0.0f);
}

void step_leaky_relu(int64_t N, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* y, int64_t ldy,
                     float slope) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = c0; o < c1; ++o) {
      const float v = x[n * ldx + o];
      y[n * ldy + o] = v >= 0.0f ? v : slope * v;
    }
}

void step_add(int64_t N, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* y, int64_t ldy) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = c0; o < c1; ++o) y[n * ldy + o] += x[n * ldx + o];
}

void step_ring_push_gather(int64_t N, int64_t C, int64_t c0, int64_t c1, int64_t slots, int64_t dilation, int64_t K,
                           float* queue, const int64_t* pos, const float* x, int64_t ldx, float* window) {
  const int64_t p = *pos, bytes = (c1 - c0) * int64_t(sizeof(float));
  float* head = queue + ring_slot(p, slots) * N * C;
  for (int64_t n = 0; n < N; ++n) std::memcpy(head + n * C + c0, x + n * ldx + c0, size_t(bytes));
  for (int64_t m = 0; m < K; ++m) {
    const float* tap = queue + ring_slot(p - dilation * (K - 1 - m), slots) * N * C;
    for (int64_t n = 0; n < N; ++n) std::memcpy(window + (n * K + m) * C + c0, tap + n * C + c0, size_t(bytes));
  }
}

// The product, then the ring push of all its channels: the two kernels a GPU runs as one.
void step_affine_ring(int64_t N, int64_t M, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                      const float* bias, float* Y, int64_t ldy, bool accumulate, const StepRing& r) {
  if (M <= 0 || N <= 0) return;
  if (const char* wrong = step_ring_error(r, N, M, K, X, ldx, W, ldw, bias, Y, ldy))
    fail(fmt::format("step affine_ring: {} (N = {}, M = {}, {} slots, {} taps)", wrong, N, M, r.slots, r.taps));
  step_affine(N, M, K, X, ldx, W, ldw, bias, Y, ldy, accumulate);
  step_ring_push_gather(N, M, 0, M, r.slots, r.dilation, r.taps, r.queue, r.pos, Y, ldy, r.window);
}

void step_window_push(int64_t N, int64_t rows, int64_t width, float* window, const float* x, int64_t ldx, int64_t cx,
                      const float* cond, int64_t ldc) {
  for (int64_t n = 0; n < N; ++n) {
    float* w = window + n * rows * width;
    std::memmove(w, w + width, size_t((rows - 1) * width) * sizeof(float));
    float* last = w + (rows - 1) * width;
    std::memcpy(last, x + n * ldx, size_t(cx) * sizeof(float));
    if (cond) std::memcpy(last + cx, cond + n * ldc, size_t(width - cx) * sizeof(float));
  }
}

// Row n of an (N, rows) window of ids moves one entry up; the newest entry := id.
static void push_id(int64_t* window, int64_t rows, int64_t n, int64_t id) {
  int64_t* iw = window + n * rows;
  std::memmove(iw, iw + 1, size_t(rows - 1) * sizeof(int64_t));
  iw[rows - 1] = id;
}

void step_one_hot_push(int64_t N, int64_t rows, int64_t V, float* window, int64_t* ids_window, const int64_t* ids,
                       int64_t ld_ids) {
  if (const char* wrong = one_hot_push_error(N, rows, ids_window, ids, ld_ids))
    fail(fmt::format("step one_hot_push: {}", wrong));
  for (int64_t n = 0; n < N; ++n) {
    const int64_t id = ids[n * ld_ids];
    float* w = window + n * rows * V;
    std::memmove(w, w + V, size_t((rows - 1) * V) * sizeof(float));
    std::memset(w + (rows - 1) * V, 0, size_t(V) * sizeof(float));
    w[(rows - 1) * V + id] = 1.0f;
    if (ids_window) push_id(ids_window, rows, n, id);
  }
}

void step_lookup(int64_t N, int64_t c0, int64_t c1, int64_t K, int64_t V, const float* W, int64_t ldw,
                 const int64_t* ids, const float* bias, float* Y, int64_t ldy, const StepPushes& pushes) {
  if (c1 <= c0 || N <= 0) return;
  if (const char* wrong = lookup_pushes_error(pushes, N, c0, c1, K, V, W, ldw, ids, bias, Y, ldy))
    fail(fmt::format("step lookup: {} ({} pushes of {} channels)", wrong, pushes.count, c1));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = c0; o < c1; ++o) {
      float acc = bias ? bias[o] : 0.0f;
      for (int64_t m = 0; m < K; ++m) acc += W[o * ldw + m * V + ids[n * K + m]];
      Y[n * ldy + o] = acc;
    }
  push_columns(pushes, N, c0, c1);
}

// The draw of seqnet generate (train/cli/generate.cpp, sample_categorical), from a given block.
void step_sample(int64_t N, int64_t C, const float* logits, int64_t ld, double temperature, uint64_t seed,
                 uint64_t first_block, int64_t* count, int64_t* ids, int64_t ids_rows, int64_t* history, bool tick) {
  if (ids_rows < 1) fail(fmt::format("step sample: ids_rows must be at least 1, got {}", ids_rows));
  const uint64_t s = uint64_t(*count);
  for (int64_t n = 0; n < N; ++n) {
    const float* l = logits + n * ld;
    int64_t best = 0;
    for (int64_t c = 1; c < C; ++c)
      if (l[c] > l[best]) best = c;
    int64_t pick = best;
    if (temperature != 0) {
      const double m = l[best];
      double total = 0;
      for (int64_t c = 0; c < C; ++c) total += std::exp((double(l[c]) - m) / temperature);
      const PhiloxBlock b = philox_block(seed, first_block + s * uint64_t(N) + uint64_t(n));
      double u = u64_to_unit_double((uint64_t(b.lane[0]) << 32) | b.lane[1]) * total;
      pick = C - 1;
      for (int64_t c = 0; c < C; ++c)
        if ((u -= std::exp((double(l[c]) - m) / temperature)) < 0) {
          pick = c;
          break;
        }
    }
    push_id(ids, ids_rows, n, pick);
    if (history) history[s * uint64_t(N) + uint64_t(n)] = pick;
  }
  if (tick) *count = int64_t(s) + 1;
}

// The key draw of seqnet generate's music path: key c of sequence n at step s from its own block.
void step_bernoulli(int64_t N, int64_t C, const float* logits, int64_t ld, double temperature, uint64_t seed,
                    uint64_t first_block, int64_t* count, float* frame, float* history, bool tick) {
  const uint64_t s = uint64_t(*count);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const bool on = bernoulli_key(logits[n * ld + c], temperature, seed,
                                    first_block + (s * uint64_t(N) + uint64_t(n)) * uint64_t(C) + uint64_t(c));
      frame[n * C + c] = on ? 1.0f : 0.0f;
      if (history) history[(s * uint64_t(N) + uint64_t(n)) * uint64_t(C) + uint64_t(c)] = frame[n * C + c];
    }
  if (tick) *count = int64_t(s) + 1;
}

void step_tick(int64_t* counter, int64_t modulo) { *counter = modulo > 0 ? (*counter + 1) % modulo : *counter + 1; }

namespace {
// Lane `lane` of a worker of the emulated loop: each lane forms the whole of a dot product (a plain
// sum in column order) — what every lane holds after the GPU's reduce — and takes its own share
// of a stage's elements, as a GPU lane does.
struct HostLanes {
  int64_t lane = 0, width = 1;
  void partial(const float* w, const float* x, int64_t ldx, int64_t N, int64_t K, float* acc, bool relu_x) const {
    for (int64_t n = 0; n < N; ++n) {
      const float* xn = x + n * ldx;
      float s = acc[n];
      for (int64_t k = 0; k < K; ++k) s += w[k] * (relu_x ? std::max(xn[k], 0.0f) : xn[k]);
      acc[n] = s;
    }
  }
  void reduce(float*, int64_t) const {}
  template <class T>
  T ld(const T* p) const {
    return *p;
  }
};
}  // namespace

void wavenet_loop_emulated(const WaveNetLoop& a, int64_t s_begin, int64_t s_end, int64_t workers, bool reverse,
                           int64_t lanes) {
  if (s_end <= s_begin) return;
  const int64_t p0 = *a.pos, stages = wavenet_loop_stages(a);
  for (int64_t s = s_begin; s < s_end; ++s) {
    const int64_t p = p0 + 1 + (s - s_begin);
    // every stage but the draw, its workers (and their lanes) one after another (the barrier: the
    // end of the loop)
    for (int64_t stage = 0; stage + 1 < stages; ++stage)
      for (int64_t j = 0; j < workers; ++j)
        for (int64_t l = 0; l < lanes; ++l)
          wavenet_loop_stage(a, p, stage, reverse ? workers - 1 - j : j, workers, HostLanes{l, lanes});
    step_sample(a.N, a.C, a.logits, a.C, a.temperature, a.seed, a.first_block, &s, a.ids, 1, a.history, false);
  }
  *a.pos = p0 + (s_end - s_begin);
}

void step_wavenet_loop(const WaveNetLoop& a, int64_t s_begin, int64_t s_end) {
  wavenet_loop_emulated(a, s_begin, s_end, 1, false, 1);
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

}  // namespace seqnet::cpu
