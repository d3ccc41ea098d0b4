// ops/kernels/step.h — the step family's kernel contract: the few float32 kernels the step modes of
// models/step/ (fast autoregressive generation, docs/generation.md) are made of.
//
// A step computes one new column per layer, not a tensor op: every operand is a raw pointer into
// a buffer of the backend's device (host memory for the CPU, GPU memory for CUDA), rows `ld…`
// floats apart. Raw pointers, because a step runs once per generated sample and must not allocate
// (a Tensor view would). None of these is differentiable (generation runs under no-grad), so the
// family has no backward. Every kernel takes the channel range [c0, c1) it computes, so that the
// CPU can split a step's rows over a team of threads (step::StepTeam); the GPU always passes the
// whole range. Counters that change every step (`pos`, `count`) are read through pointers in the
// device's memory, so that a recorded step (a CUDA graph) stays valid from one step to the next.
//
//   affine           Y[n, o] = bias[o] + Σ_k W[o, k] · X[n, k]            o ∈ [0, M), n < N
//                    (accumulate: Y[n, o] += that); bias may be null
//   gated            out[n, o] = tanh(fg[n, o]) · σ(fg[n, C + o]) + id[n, o]   o ∈ [c0, c1)
//                    (fg rows 2C apart; id may be null: no identity)
//   gated_affine     affine then gated in one kernel, for N ≤ kGatedAffineMaxBatch:
//                    out[n, o] = tanh(b[o] + Σ_k W[o, k] X[n, k]) · σ(b[C + o] + Σ_k W[C + o, k] X[n, k])
//                                + id[n, o]                                o ∈ [0, C)
//                    (W: the 2C filter then gate rows, ldw apart; id may be null). A gated conv's
//                    step on a GPU at small batch: one launch instead of two, no fg round trip.
//                    Then the `pushes` (at most kMaxStepPushes): each is a window_push of C
//                    columns into the window of a layer this output feeds — columns [col, col + C)
//                    of every row move one row up and the newest row's get src[n, 0..C) — done
//                    channel by channel (channel o moves column col + o and reads src[n, o]), so
//                    that the push costs no launch of its own. src may be `out` (channel o is then
//                    this kernel's own result) or memory the kernel does not write; a window may
//                    not overlap X, id, out or another push's columns; rows ≤ kMaxPushRows. A push
//                    with `relu` writes max(src, 0) (NaN stays NaN, as relu): the output conv's input.
//   affine_ring      affine, then ring_push_gather of its output Y (M channels, all of them) into
//                    the queue and window that `ring` names (StepRing: the next WaveNet layer's):
//                    the WaveNet's residual conv and the next layer's queue push as one launch on a
//                    GPU at N ≤ 8 (above: the two kernels). The queue and the window may not
//                    overlap X, W, bias, Y or each other.
//   relu             y[n, o] = max(x[n, o], 0)                              o ∈ [c0, c1)
//   leaky_relu       y[n, o] = x[n, o] ≥ 0 ? x[n, o] : slope · x[n, o]       o ∈ [c0, c1)   (x may be y)
//   add              y[n, o] += x[n, o]                                     o ∈ [c0, c1)
//   ring_push_gather the WaveNet/TCN queue: queue[p mod S][n, :] := x[n, :] with p = *pos, then
//                    window[n, m·C + c] := queue[(p − d·(K−1−m)) mod S][n, c] for the K taps m
//                    (queue (S, N, C), window (N, K·C); channels [c0, c1) only)
//   window_push      a layer's last `rows` inputs (N, rows, width): every row moves one up (the
//                    oldest drops out); the newest := [x[n, 0..cx), cond[n, 0..width−cx)]
//   one_hot_push     the same for a one-hot input column: window (N, rows, V) gets the row
//                    one_hot(ids[n·ld_ids]), and ids_window (N, rows) i64 the index itself (ids_window
//                    may be null: the caller's draw pushed it there already, and ids points at its
//                    newest entry, ld_ids = rows; when given, ids may not lie inside it)
//   lookup           Y[n, o] = bias[o] + Σ_m W[o, m·V + ids[n·K + m]]       o ∈ [c0, c1)
//                    (a conv of K taps over one-hot columns: K weight columns instead of a product),
//                    then the `pushes` as gated_affine's, channel o of each for o ∈ [c0, c1)
//   sample           with s = *count: d_n := a draw from softmax(logits[n, :] / T) using Philox
//                    block (first_block + s·N + n) of `seed` (T = 0: the first arg-max), pushed into
//                    ids (N, ids_rows): row n moves one entry up (the oldest drops out) and its newest
//                    entry := d_n (ids_rows 1: ids[n] := d_n; more: the window of the last ids_rows
//                    inputs that a lookup reads, so that no push kernel runs before it); and
//                    history[s·N + n] := d_n (history may be null). The draw is exactly
//                    sample_categorical's: u = 53-bit uniform of lanes (0, 1) · Σ_c p_c, summed in
//                    double in class order, and the first class where the running sum passes u.
//   bernoulli        with s = *count: frame[n, c] := 1 if u < σ(logits[n, c] / T) else 0 (T = 0: 1 if the
//                    logit > 0), u = the 53-bit uniform of lanes (0, 1) of Philox block
//                    (first_block + (s·N + n)·C + c) of `seed`, σ computed in double as
//                    1 / (1 + exp(−x / T)); and history[(s·N + n)·C + c] := frame[n, c] (history may be
//                    null). The draw of the music models (one independent key per block, keys in order).
//                    sample and bernoulli with `tick`: afterwards *count := s + 1, a generation loop's
//                    draw and its counter in one kernel (a GPU: the last of the kernel's blocks to
//                    finish, once every block has read s).
//   tick             *counter := (*counter + 1) mod modulo (modulo 0: no wrap)
//   wavenet_loop     samples s_begin … s_end − 1 of the WaveNet's generation loop in one call: per
//                    sample the stepper's step from the last draw, then the draw (the `sample` rule,
//                    Philox block first + s·N + n); *pos advances by s_end − s_begin. The stages,
//                    their barriers and the arguments: ops/kernels/wavenet_loop.h. N ≤ 8.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/philox.h"
#include "core/rng.h"
#include "ops/kernels/wavenet_loop.h"

namespace seqnet {

constexpr int64_t kGatedAffineMaxBatch = 8;  // gated_affine's largest batch
constexpr int kMaxStepPushes = 3;            // gated_affine's window pushes per call
constexpr int64_t kMaxPushRows = 16;         // and the rows of a window it pushes

// One window push that gated_affine (or lookup) does after its product (see above): the window
// (N, rows, width) gets src[n, 0..C) as the newest row's columns [col, col + C), its older rows
// moved up.
struct StepPush {
  float* window = nullptr;
  int64_t rows = 0, width = 0, col = 0;
  const float* src = nullptr;
  int64_t ld_src = 0;
  bool relu = false;  // the newest row gets max(src, 0)
};
struct StepPushes {
  int count = 0;
  StepPush push[kMaxStepPushes];
};

// The queue push and tap gather that affine_ring does after its product (ring_push_gather's
// arguments, for all of the product's M channels): queue (slots, N, M), window (N, taps·M), the
// ring position read through `pos` (device memory, so that a recorded step stays valid).
struct StepRing {
  float* queue = nullptr;
  int64_t slots = 0, dilation = 0, taps = 0;
  const int64_t* pos = nullptr;
  float* window = nullptr;
};

// affine_ring's check (both backends, N ≥ 1, M ≥ 1): a queue, a window and a position; taps ≥ 1
// and enough slots for the oldest tap (slots > dilation·(taps − 1)); neither the queue nor the
// window overlapping what the product reads or writes (X, W's M rows, bias, Y) or each other.
// Null if fine, else what is wrong.
inline const char* step_ring_error(const StepRing& r, int64_t N, int64_t M, int64_t K, const float* X, int64_t ldx,
                                   const float* W, int64_t ldw, const float* bias, const float* Y, int64_t ldy) {
  if (!r.queue || !r.window || !r.pos) return "a ring push without a queue, a window or a position";
  if (r.taps < 1 || r.dilation < 0 || r.slots <= r.dilation * (r.taps - 1))
    return "a ring push with fewer than 1 tap, a negative dilation, or fewer slots than its taps span";
  struct Range {
    const float* b = nullptr;
    const float* e = nullptr;
    bool overlaps(const Range& o) const { return b && o.b && b < o.e && o.b < e; }
  };
  const Range queue{r.queue, r.queue + r.slots * N * M}, window{r.window, r.window + N * r.taps * M};
  const Range reads[] = {X ? Range{X, X + (N - 1) * ldx + K} : Range{}, W ? Range{W, W + (M - 1) * ldw + K} : Range{},
                         bias ? Range{bias, bias + M} : Range{}, Y ? Range{Y, Y + (N - 1) * ldy + M} : Range{}};
  for (const Range& x : reads)
    if (queue.overlaps(x) || window.overlaps(x))
      return "a ring push whose queue or window overlaps the product's input, weights, bias or output";
  if (queue.overlaps(window)) return "a ring push whose queue overlaps its window";
  return nullptr;
}
// What both backends check before gated_affine runs, and lookup through lookup_pushes_error
// (N ≥ 1, C ≥ 1): the count; every push a
// window of 1 … kMaxPushRows rows with its columns inside the row and a source; no window
// overlapping what the kernel reads (X, id) or writes (out) or another push's columns; and every
// source either `out` itself (with out's row stride) or memory that neither out nor a window
// touches. Pointer ranges only: a check of the caller's arithmetic, not of what the memory holds.
// Null if fine, else what is wrong.
inline const char* step_pushes_error(const StepPushes& p, int64_t N, int64_t C, int64_t K, const float* X, int64_t ldx,
                                     const float* id, int64_t ld_id, const float* out, int64_t ld_out) {
  if (p.count < 0 || p.count > kMaxStepPushes) return "a count of window pushes outside [0, kMaxStepPushes = 3]";
  struct Range {  // [begin, end) of the floats a pointer's rows span (empty for null)
    const float* b = nullptr;
    const float* e = nullptr;
    bool overlaps(const Range& o) const { return b && o.b && b < o.e && o.b < e; }
  };
  auto rows = [&](const float* q, int64_t ld, int64_t width) {
    return q ? Range{q, q + (N - 1) * ld + width} : Range{};
  };
  const Range x = rows(X, ldx, K), i = rows(id, ld_id, C), o = rows(out, ld_out, C);
  for (int a = 0; a < p.count; ++a) {
    const StepPush& q = p.push[a];
    if (!q.window || !q.src) return "a window push without a window or a source";
    if (q.rows < 1 || q.rows > kMaxPushRows) return "a window push of rows outside [1, kMaxPushRows = 16]";
    if (q.col < 0 || q.col + C > q.width) return "a window push whose C columns fall outside the window's rows";
    const Range w{q.window, q.window + N * q.rows * q.width};
    if (w.overlaps(x) || w.overlaps(i) || w.overlaps(o))
      return "a window push into memory that overlaps the input, the identity or the output";
    const Range src = rows(q.src, q.ld_src, C);
    if (q.src == out ? q.ld_src != ld_out : src.overlaps(o))
      return "a window push whose source overlaps the output without being it";
    for (int c = 0; c < p.count; ++c) {
      const StepPush& r = p.push[c];
      if (!r.window) continue;
      const Range v{r.window, r.window + N * r.rows * r.width};
      if (src.overlaps(v)) return "a window push whose source lies in a pushed window";
      if (c == a || !w.overlaps(v)) continue;
      const bool same_rows = r.window == q.window && r.rows == q.rows && r.width == q.width;
      if (!same_rows || (q.col < r.col + C && r.col < q.col + C))
        return "two window pushes into the same columns of a window";
    }
  }
  return nullptr;
}
static_assert(kMaxStepPushes == 3 && kMaxPushRows == 16, "step_pushes_error's messages name the limits");

// lookup's check: step_pushes_error's for its output Y (channels [0, c1): a superset of the
// [c0, c1) it writes), and no window overlapping what it reads — the weight rows [c0, c1) of W,
// the ids (N·K), the bias [c0, c1). Null if fine, else what is wrong.
inline const char* lookup_pushes_error(const StepPushes& p, int64_t N, int64_t c0, int64_t c1, int64_t K, int64_t V,
                                       const float* W, int64_t ldw, const int64_t* ids, const float* bias,
                                       const float* Y, int64_t ldy) {
  if (const char* wrong = step_pushes_error(p, N, c1, 0, nullptr, 0, nullptr, 0, Y, ldy)) return wrong;
  const auto at = [](const void* q) { return reinterpret_cast<uintptr_t>(q); };
  struct Bytes {
    uintptr_t b = 0, e = 0;  // [b, e); empty for b == e
  };
  const Bytes reads[3] = {
      W ? Bytes{at(W + c0 * ldw), at(W + (c1 - 1) * ldw + K * V)} : Bytes{},
      ids ? Bytes{at(ids), at(ids + N * K)} : Bytes{},
      bias ? Bytes{at(bias + c0), at(bias + c1)} : Bytes{},
  };
  for (int a = 0; a < p.count; ++a) {
    const StepPush& q = p.push[a];
    const Bytes w{at(q.window), at(q.window + N * q.rows * q.width)};
    for (const Bytes& r : reads)
      if (r.b < r.e && w.b < r.e && r.b < w.e)
        return "a window push into memory that overlaps the weights, the ids or the bias";
  }
  return nullptr;
}

// one_hot_push's check (both backends): null if fine, else what is wrong.
inline const char* one_hot_push_error(int64_t N, int64_t rows, const int64_t* ids_window, const int64_t* ids,
                                      int64_t ld_ids) {
  if (rows < 1) return "a window of fewer than 1 row";
  if (ld_ids < 0) return "a negative stride between the sequences' ids";
  if (ids_window && N > 0) {
    const int64_t* last = ids + (N - 1) * ld_ids;  // ids spans [ids, last]
    if (ids < ids_window + N * rows && ids_window <= last)
      return "ids inside the window of ids it pushes them into (pass a null window: the draw pushed them)";
  }
  return nullptr;
}

// bernoulli's rule for one key, shared by both twins so that a seed gives the same frames on
// both: on when the 53-bit uniform of lanes (0, 1) of Philox block `block` of `seed` falls below
// σ(x / T), computed in double (T = 0: on when x > 0).
SEQNET_HOST_DEVICE inline bool bernoulli_key(double x, double temperature, uint64_t seed, uint64_t block) {
  if (temperature == 0) return x > 0;
  const PhiloxBlock b = philox_block(seed, block);
  return u64_to_unit_double((uint64_t(b.lane[0]) << 32) | b.lane[1]) < 1.0 / (1.0 + ::exp(-x / temperature));
}

struct StepKernels {
  void (*affine)(int64_t N, int64_t M, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                 const float* bias, float* Y, int64_t ldy, bool accumulate);
  void (*gated)(int64_t N, int64_t C, int64_t c0, int64_t c1, const float* fg, const float* id, int64_t ld_id,
                float* out, int64_t ld_out);
  void (*gated_affine)(int64_t N, int64_t C, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                       const float* bias, const float* id, int64_t ld_id, float* out, int64_t ld_out,
                       const StepPushes& pushes);
  void (*affine_ring)(int64_t N, int64_t M, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                      const float* bias, float* Y, int64_t ldy, bool accumulate, const StepRing& ring);
  void (*relu)(int64_t N, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* y, int64_t ldy);
  void (*leaky_relu)(int64_t N, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* y, int64_t ldy,
                     float slope);
  void (*add)(int64_t N, int64_t c0, int64_t c1, const float* x, int64_t ldx, float* y, int64_t ldy);
  void (*ring_push_gather)(int64_t N, int64_t C, int64_t c0, int64_t c1, int64_t slots, int64_t dilation, int64_t K,
                           float* queue, const int64_t* pos, const float* x, int64_t ldx, float* window);
  void (*window_push)(int64_t N, int64_t rows, int64_t width, float* window, const float* x, int64_t ldx, int64_t cx,
                      const float* cond, int64_t ldc);
  void (*one_hot_push)(int64_t N, int64_t rows, int64_t V, float* window, int64_t* ids_window, const int64_t* ids,
                       int64_t ld_ids);
  void (*lookup)(int64_t N, int64_t c0, int64_t c1, int64_t K, int64_t V, const float* W, int64_t ldw,
                 const int64_t* ids, const float* bias, float* Y, int64_t ldy, const StepPushes& pushes);
  void (*sample)(int64_t N, int64_t C, const float* logits, int64_t ld, double temperature, uint64_t seed,
                 uint64_t first_block, int64_t* count, int64_t* ids, int64_t ids_rows, int64_t* history, bool tick);
  void (*bernoulli)(int64_t N, int64_t C, const float* logits, int64_t ld, double temperature, uint64_t seed,
                    uint64_t first_block, int64_t* count, float* frame, float* history, bool tick);
  void (*tick)(int64_t* counter, int64_t modulo);
  void (*wavenet_loop)(const WaveNetLoop& loop, int64_t s_begin, int64_t s_end);
};

}  // namespace seqnet
