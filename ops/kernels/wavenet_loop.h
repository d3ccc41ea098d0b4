// ops/kernels/wavenet_loop.h — the WaveNet's whole generation loop as one kernel (a "persistent"
// kernel, as the fastest published WaveNet generators run it), and its stages as code that both
// twins share.
//
// A batch-1 WaveNet step on a GPU is some 200 tiny kernels (four per layer), each a few µs of
// launch and ramp for well under a µs of work. The persistent form launches once for many samples:
// every block of the grid stays resident and walks through the same list of stages, sample after
// sample, with a grid-wide barrier between two stages. A stage is split into independent items
// (an output row, or an element) dealt round-robin to the grid's workers (one warp each on the
// GPU); an item reads only what earlier stages wrote, so the barrier is the only synchronisation.
// Per sample s, with p = the ring position of the new column (the stepper's pos, plus one per
// sample), for the n layers i (dilation d_i, queue of d_i(K−1)+1 slots):
//
//   stage 0          h := W_start[:, id] + b_start  (id = the previous draw),  skip := b_skip
//   stage 1 + 2i     queue_i[p] := h;  z_i[c] := tanh(f_c) · σ(g_c)  with [f; g] = W_fg,i · [taps; h] + b
//                    (the K − 1 older taps read from queue_i at p − d_i(K−1−m), the newest is h itself)
//   stage 2 + 2i     h += W_res,i z_i + b_res,i (not for the last layer);  skip += W_skip[:, i] z_i
//   stage 2n + 1     e1 := relu(W_end1 relu(skip) + b_end1)
//   stage 2n + 2     logits := W_end2 e1 + b_end2
//   stage 2n + 3     the draw: ids[n], history[s·N + n] from logits (the `sample` kernel's rule and
//                    Philox block first + s·N + n), one sequence per block
//
// so 2n + 4 barriers per sample (108 for the 52-layer audio WaveNet). The skip sum is accumulated
// layer by layer, each row by the same worker every time, so the result does not depend on how
// many workers there are (the GPU: bitwise the same on every rerun).
//
// The CUDA twin (cuda/ops/step.cu) runs the stages in one cooperative launch, `workers` = warps.
// The CPU twin (ops/cpu/step.cpp) is an emulation: each stage's workers run one after another,
// between the barriers. Because an item may read only what earlier stages wrote, every worker count
// and every order of the workers within a stage must give bitwise the same result — which the CPU
// tests check, so that a missing barrier shows up without a GPU (tests/test_step_device.cpp).
//
// Both twins are called through StepKernels::wavenet_loop (ops/kernels/step.h); the stepper's
// WaveNetStepper::generate_persistent fills a WaveNetLoop with its own buffers.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"

namespace seqnet {

constexpr int64_t kWaveNetLoopMaxBatch = 8;  // sequences one loop carries (registers per lane)

// One layer's weights (packed as the stepper packs them) and queue, in the loop's device memory.
struct WaveNetLoopLayer {
  const float* w_fg = nullptr;   // (2D, K·R): filter rows, then gate rows; tap m in columns m·R …
  const float* b_fg = nullptr;   // (2D)
  const float* w_res = nullptr;  // (R, D) or null (the last layer)
  const float* b_res = nullptr;  // (R)
  float* queue = nullptr;        // (slots, N, R)
  int64_t slots = 0, dilation = 0;
};

// Everything the loop reads and writes, by pointer into one device's memory.
struct WaveNetLoop {
  int64_t N = 0, R = 0, D = 0, S = 0, C = 0, layers = 0, K = 0;
  const WaveNetLoopLayer* layer = nullptr;             // `layers` entries
  const float *w_start = nullptr, *b_start = nullptr;  // (R, C), (R)
  const float *w_skip = nullptr, *b_skip = nullptr;    // (S, layers·D), (S)
  const float *w_end1 = nullptr, *b_end1 = nullptr;    // (S, S), (S)
  const float *w_end2 = nullptr, *b_end2 = nullptr;    // (C, S), (C)
  float *h = nullptr, *z = nullptr, *skip = nullptr, *e1 = nullptr,
        *logits = nullptr;     // (N,R) (N,layers·D) (N,S) (N,S) (N,C)
  int64_t* ids = nullptr;      // (N): the last draw, read by stage 0
  int64_t* history = nullptr;  // (steps, N): every draw
  int64_t* pos = nullptr;      // the stepper's ring position: read at the start, advanced at the end
  double temperature = 0;
  uint64_t seed = 0, first_block = 0;
  int64_t grid_blocks = 0;  // the GPU's grid (0: one block per SM, no more than the widest stage needs)
};

SEQNET_HOST_DEVICE inline int64_t wavenet_loop_stages(const WaveNetLoop& a) { return 2 * a.layers + 4; }

// Slot of time p in a ring of `slots` entries (p may be negative before the first sample): the
// queues of the loop and of the step kernels' ring_push_gather (both twins).
SEQNET_HOST_DEVICE inline int64_t ring_slot(int64_t p, int64_t slots) { return ((p % slots) + slots) % slots; }

// Stage `stage` (not the draw, the last one) of sample position p, the share of worker `worker`
// of `workers`. `Lanes` is how a worker computes: `lane`/`width` (its lanes; the CPU: 0 / 1),
// `partial(w, x, ldx, N, K, acc, relu_x)`: acc[n] += this lane's share of Σ_k w[k]·x'[n·ldx + k]
// (x' = max(x, 0) with relu_x), `reduce(acc, N)`: every lane gets the whole sums, `ld(p)`: a load
// of what another worker wrote in an earlier stage (the GPU: from L2, past this SM's L1). Only
// lane 0 writes a row's result.
#ifdef __CUDACC__
#pragma nv_exec_check_disable
#endif
template <class Lanes>
SEQNET_HOST_DEVICE void wavenet_loop_stage(const WaveNetLoop& a, int64_t p, int64_t stage, int64_t worker,
                                           int64_t workers, const Lanes& lanes) {
  const int64_t N = a.N, R = a.R, D = a.D, S = a.S, C = a.C, LD = a.layers * a.D;
  // Elements e of a stage: lane l of worker w takes e = w·width + l, then strides by workers·width.
  const int64_t e0 = worker * lanes.width + lanes.lane, e_step = workers * lanes.width;
  float acc[kWaveNetLoopMaxBatch], acc2[kWaveNetLoopMaxBatch];
  auto clear = [&](float* v) {
    for (int64_t n = 0; n < kWaveNetLoopMaxBatch; ++n) v[n] = 0.0f;
  };
  if (stage == 0) {
    for (int64_t e = e0; e < N * R; e += e_step) {
      const int64_t n = e / R, r = e % R;
      a.h[e] = a.b_start[r] + a.w_start[r * C + lanes.ld(a.ids + n)];
    }
    for (int64_t e = e0; e < N * S; e += e_step) a.skip[e] = a.b_skip[e % S];
    return;
  }
  if (stage <= 2 * a.layers) {
    const int64_t i = (stage - 1) / 2;
    const WaveNetLoopLayer& L = a.layer[i];
    float* zi = a.z + i * D;  // rows LD apart
    if (stage % 2 == 1) {     // A: the push, and the gated filter/gate rows
      float* head = L.queue + ring_slot(p, L.slots) * N * R;
      for (int64_t e = e0; e < N * R; e += e_step) head[e] = lanes.ld(a.h + e);
      for (int64_t c = worker; c < D; c += workers) {
        clear(acc), clear(acc2);
        const int64_t KR = a.K * R;
        for (int64_t m = 0; m < a.K; ++m) {
          // tap m: the column d(K−1−m) samples back; the newest (m = K−1) is h, not yet in the queue
          // as far as this stage's other workers are concerned.
          const float* tap = m + 1 == a.K ? a.h : L.queue + ring_slot(p - L.dilation * (a.K - 1 - m), L.slots) * N * R;
          lanes.partial(L.w_fg + c * KR + m * R, tap, R, N, R, acc, false);
          lanes.partial(L.w_fg + (D + c) * KR + m * R, tap, R, N, R, acc2, false);
        }
        lanes.reduce(acc, N), lanes.reduce(acc2, N);
        if (lanes.lane == 0)
          for (int64_t n = 0; n < kWaveNetLoopMaxBatch && n < N; ++n) {
            const float f = acc[n] + L.b_fg[c], g = acc2[n] + L.b_fg[D + c];
            zi[n * LD + c] = tanhf(f) * (1.0f / (1.0f + expf(-g)));
          }
      }
    } else {  // B: the residual rows, then the skip rows
      const int64_t res_rows = L.w_res ? R : 0;
      for (int64_t j = worker; j < res_rows + S; j += workers) {
        clear(acc);
        const bool res = j < res_rows;
        const float* w = res ? L.w_res + j * D : a.w_skip + (j - res_rows) * LD + i * D;
        lanes.partial(w, zi, LD, N, D, acc, false);
        lanes.reduce(acc, N);
        if (lanes.lane == 0)
          for (int64_t n = 0; n < kWaveNetLoopMaxBatch && n < N; ++n) {
            if (res)
              a.h[n * R + j] = lanes.ld(a.h + n * R + j) + (acc[n] + L.b_res[j]);
            else
              a.skip[n * S + (j - res_rows)] = lanes.ld(a.skip + n * S + (j - res_rows)) + acc[n];
          }
      }
    }
    return;
  }
  if (stage == 2 * a.layers + 1) {  // e1 := relu(W_end1 relu(skip) + b)
    for (int64_t o = worker; o < S; o += workers) {
      clear(acc);
      lanes.partial(a.w_end1 + o * S, a.skip, S, N, S, acc, true);
      lanes.reduce(acc, N);
      if (lanes.lane == 0)
        for (int64_t n = 0; n < kWaveNetLoopMaxBatch && n < N; ++n) {
          const float v = acc[n] + a.b_end1[o];
          a.e1[n * S + o] = v > 0.0f ? v : 0.0f;
        }
    }
    return;
  }
  if (stage == 2 * a.layers + 2) {  // logits := W_end2 e1 + b
    for (int64_t o = worker; o < C; o += workers) {
      clear(acc);
      lanes.partial(a.w_end2 + o * S, a.e1, S, N, S, acc, false);
      lanes.reduce(acc, N);
      if (lanes.lane == 0)
        for (int64_t n = 0; n < kWaveNetLoopMaxBatch && n < N; ++n) a.logits[n * C + o] = acc[n] + a.b_end2[o];
    }
  }
}

}  // namespace seqnet
