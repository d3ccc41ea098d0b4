// models/step/sequnet_res_step.h — clocked step mode of the residual Seq-U-Net (MODELS.md §9.2).
//
// Level j of the U-Net runs at 1/2^j of the input rate, so a new input sample needs new values
// only from the layers whose level "ticks" now. A global clock t counts input steps modulo
// cycles = 2^(levels−1); a layer with cycle count c (input/output convs 1, down block i convs
// 2^i and downconv 2^(i+1), bottleneck 2^n, up block i 2^i) produces a value only when
// t mod c = 0. Every layer keeps its last K inputs (up-block convs: [input, conditioning]
// rows), so producing a value is one GEMV on that window. An upsampling layer evaluates its
// transposed conv when a new low-resolution sample arrives: the even taps give the output at
// the current position, the odd taps the output one high-resolution step later, which it caches
// as `next_output` and hands out at the next tick without new input.
//
// After save the clock is 1 (the official code's state for the first generated batch). The s-th
// step output then equals a full forward over a window whose newest sample stays on the
// decimation grid (see docs/generation.md).
//
//   SequnetResStepper gen(model);        // packs the weights (a snapshot: rebuild after training)
//   Tensor y0 = gen.save(x);             // x (N, num_inputs, input_size): normal output
//   const Tensor& y = gen.step(col);     // col (N, num_inputs) → (N, num_outputs); allocation-free
//
// save allocates the buffers for its batch size; step allocates nothing and returns a view of an
// internal buffer that the next step overwrites. Activations are float32; the weights float32 or
// (opt-in) half or int8.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/sequnet_res.h"
#include "models/step/step_kernels.h"
#include "ops/backend.h"

namespace seqnet {

class SequnetResStepper {
 public:
  // The model must outlive the stepper (save runs it). `weights`: how the step matrices are stored
  // (step::Weights; F16 halves the bytes a step streams, at ~3e-4 of the largest output; I8 quarters
  // them, at ~3e-3 .. 6e-3 (measured, tests/test_step_weights.cpp)).
  // `device`: where the step runs (save moves its input to the model's device and the layer inputs
  // to the stepper's). A GPU step takes f32 weights only.
  explicit SequnetResStepper(SequnetRes& model, step::Weights weights = step::Weights::F32,
                             Device device = Device::cpu());
  // Not copyable (a copy would share the state buffers); movable.
  SequnetResStepper(const SequnetResStepper&) = delete;
  SequnetResStepper& operator=(const SequnetResStepper&) = delete;
  SequnetResStepper(SequnetResStepper&&) = default;
  SequnetResStepper& operator=(SequnetResStepper&&) = default;

  // x (N, num_inputs, T) f32 (T = input_size() for a planned model) → the normal-mode output;
  // fills every layer's window and the upsampling layers' next_output; clock := 1.
  Tensor save(const Tensor& x);
  // One new input column (N, num_inputs), N as in the last save → output (N, num_outputs).
  const Tensor& step(const Tensor& x);
  // The same with the one-hot column of `indices` (N host entries in [0, num_inputs), checked).
  const Tensor& step_indices(const int64_t* indices);
  // The device-side loop of models/step/sampling.h: one step from the newest of the indices in
  // ids_buffer() — the input conv's window of the last K indices, (N, ids_rows() = K) in device
  // memory, into which the sampling kernel pushes its draw, so that the input lookup reads them
  // where they land and no kernel of the step moves them — queuing work only (no host wait). Which
  // layers fire depends on the clock only through the largest power of two dividing it, so
  // phase() (that exponent, and whether the input conv can take weight columns) names the work a
  // step queues: steps of one phase queue the same kernels on the same buffers, and one recording
  // per phase serves them all. skip_step() advances the clock as a step would, when a recording
  // is replayed instead.
  void step_ids();
  int64_t* ids_buffer() { return in_ids_.data<int64_t>(); }
  int64_t ids_rows() const { return K_; }
  const Tensor& output() const { return out_; }
  int64_t phase() const;
  void skip_step();
  Device device() const { return device_; }
  void reset();  // forget the state (save is required again)
  // Threads that split every layer's rows inside a step (capped at the hardware threads). The
  // default 1 runs a step on the calling thread alone (single-threaded BLAS).
  // A team is faster on an otherwise idle machine (batch 1: ~1.6x for the audio Seq-U-Net) but its
  // members wait for each other at every layer: on a machine busy with other work, keep 1.
  // (A GPU step is one member: more is refused.)
  void set_team_threads(int threads);
  int team_threads() const { return team_.wanted(); }
  // How a gated conv's step runs: the product then the gate (two kernels), or both in one kernel
  // (StepKernels::gated_affine; batch ≤ 8, f32 weights, one team member) that also pushes its
  // output into the windows of the layers it feeds, so that those pushes cost no kernel of their
  // own. Default: fused on a GPU, where a step is bound by its number of kernels
  // (docs/generation.md §5), not on the CPU, whose BLAS products and team are faster. Takes
  // effect from the next step; the tests compare both ways on the CPU, bench/generate --device
  // both on a GPU.
  void set_fused_gates(bool on);
  bool fused_gates() const { return fused_; }  // whether steps now take the fused kernel
  // Kernels the last step queued (its own: a generation loop adds its draw, which also ticks the
  // loop's counter).
  int64_t kernels_last_step() const { return kernels_; }

  step::Weights weights() const { return weights_; }
  int64_t input_classes() const { return num_inputs_; }  // the indices a step takes: [0, num_inputs)
  // Bytes of weights read per step, averaged over a clock cycle (level j's layers run once every
  // 2^j steps; the input conv is a column lookup for one-hot input).
  double step_weight_bytes() const;

  bool ready() const { return batch_ > 0; }
  int64_t batch() const { return batch_; }
  int64_t clock() const { return clock_; }
  int64_t cycles() const { return cycles_; }

 private:
  struct Layer {
    std::string name;
    ResLayerKind kind = ResLayerKind::Plain;
    int64_t cycles = 1, width = 0;  // width: floats per window row (C, or 2C = [x, cond])
    step::Matrix w;                 // (2C, K·width) tap-major, filter rows then gate rows
    Tensor b;                       // bias (2C)
    step::Matrix w_odd;             // upsampling: odd taps (2C, Qo·C); `w` then holds the even taps
    int64_t q_even = 0, q_odd = 0;  // upsampling: newest low-res samples used by even / odd outputs
    Tensor window;                  // (N, K, width), newest row last
    Tensor out, next;               // (N, C): this step's output; upsampling: cached next_output
  };
  // window ← (x, cond), oldest drops out: on the fused path, a push of the pending gated conv's
  // launch where it can ride along, else a window_push of its own.
  void push(Layer& L, const float* x, const float* cond);
  // Channels [c0, c1) of: out ← gated layer on its window; upsampling: out ← even taps,
  // next ← odd taps. `lead`: the team member that counts the kernels (kernels_last_step).
  void fire(Layer& L, int64_t c0, int64_t c1, bool lead);
  void fire_upsampling(Layer& L, int64_t c0, int64_t c1, bool lead);
  // Dense column or one-hot indices (in device_'s memory) into the input window.
  void push_input(const float* x, const int64_t* indices);
  void run(const float* x, const int64_t* indices);  // push_input and one step, as a team
  // One step as member `tid` of a team of `nt` threads → out_.
  void run_step(int tid, int nt);

  SequnetRes* model_;
  Device device_;
  const StepKernels* ops_;  // the step kernels of device_ (ops/kernels/step.h)
  int fused_request_ = -1;  // set_fused_gates: −1 the default, 0 off, 1 on (where it applies)
  bool fused_ = false;      // gated convs through gated_affine (choose_fused: at save, set_fused_gates)
  void choose_fused();
  // The fused path holds a gated conv's launch back until the next kernel, so that the pushes of
  // its output into the layers it feeds can ride along in it (StepKernels::gated_affine's pushes).
  struct PendingGate {
    bool active = false;
    int64_t K = 0, ldx = 0, ldw = 0, ld_id = 0;
    const float *X = nullptr, *W = nullptr, *bias = nullptr, *id = nullptr;
    const float* window = nullptr;  // the window X lies in: never one of its pushes
    float* out = nullptr;
    StepPushes pushes;
  };
  PendingGate pending_;
  void gate(const float* window, int64_t K, const float* X, int64_t ldx, const step::Matrix& w, const float* bias,
            const float* id, int64_t ld_id, float* out);  // fused: flush, then hold this launch back
  void flush();                                           // queue the held-back launch, if any
  int64_t kernels_ = 0;                                   // queued by the last step
  int64_t C_ = 0, K_ = 0, n_ = 0, depth_ = 0, num_inputs_ = 0, num_outputs_ = 0, cycles_ = 1;
  int64_t batch_ = 0, clock_ = 1;
  // Layers in forward order: down block i = [convs.0..D−1, downconv], bottlenecks, up block i =
  // [upconv, convs.0..D−1] from the deepest up block to the top one.
  std::vector<Layer> layers_;
  std::map<std::string, size_t> index_;  // layer name → position in layers_
  Tensor w_in_, b_in_, in_window_;       // input conv (C, K·num_inputs), its window (N, K, num_inputs)
  Tensor in_ids_;                        // (N, K) i64: the window's one-hot indices (valid where one-hot)
  // The float window in_window_ lags in_ids_: steps from pushed ids that took the lookup skip its
  // one-hot push; the next dense step rebuilds its rows from in_ids_ first (refresh_in_window).
  bool in_window_stale_ = false;
  // How many of the newest input rows are one-hot in every sequence (at most K): the input conv
  // takes weight columns when all K are. Tracked on the host (the step knows what it pushes).
  int64_t one_hot_rows_ = 0;
  Tensor ids_, x_;      // the step's input on device_: (N) indices or an (N, num_inputs) column
  step::Matrix w_out_;  // output conv (num_outputs, C)
  Tensor b_out_, h0_, relu_, fg_, out_;
  step::Weights weights_ = step::Weights::F32;
  step::StepTeam team_;  // 1 member unless set_team_threads
};

}  // namespace seqnet
