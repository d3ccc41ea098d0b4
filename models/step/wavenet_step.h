// models/step/wavenet_step.h — fast autoregressive generation for WaveNet (MODELS.md §9.1).
//
// A full forward recomputes every layer over the whole receptive field for each new sample.
// Step mode keeps, per gated layer i with dilation d, a queue of the last d(K−1)+1 inputs of that
// layer; a new sample then costs one column per layer:
//
//   h  = start_conv(x)                                      (N, R)
//   for each layer i:  queue_i ← h (oldest drops out)
//     z = tanh(W_f · [q(t−d(K−1)), …, q(t−d), q(t)] + b_f) ⊙ σ(W_g · […] + b_g)
//     h = W_r z + b_r + h                                  (identity = the newest queue entry)
//   skip = Σ_i W_s,i z_i + b_s,i                            (one GEMV over all layers' z)
//   y  = end_conv_2(relu(end_conv_1(relu(skip))))           (N, classes)
//
// WaveNet has stride 1 everywhere, so each step output equals the last output of a full forward
// over the window that ends at that sample.
//
//   WaveNetStepper gen(model);          // packs the weights (a snapshot: rebuild after training)
//   Tensor y0 = gen.save(x);            // x (N, classes, T ≥ RF): normal output, fills the queues
//   const Tensor& y = gen.step(col);    // col (N, classes) → (N, classes); allocation-free
//
// The buffers are allocated by save (for its batch size N); step allocates nothing and returns a
// view of an internal buffer that the next step overwrites. Activations are float32; the weights
// float32 or (opt-in) half or int8.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "core/rng.h"
#include "models/step/step_kernels.h"
#include "models/wavenet.h"
#include "ops/backend.h"

namespace seqnet {

class WaveNetStepper {
 public:
  // The model must outlive the stepper (save runs it). `weights`: how the step matrices are stored
  // (step::Weights; F16 halves the bytes a step streams, at ~3e-4 of the largest output; I8 quarters
  // them, at ~3e-3 .. 6e-3 (measured, tests/test_step_weights.cpp)).
  // `device`: where the step runs (the model may live elsewhere; save moves its input and output).
  // A GPU step takes f32 weights only.
  explicit WaveNetStepper(WaveNet& model, step::Weights weights = step::Weights::F32, Device device = Device::cpu());
  // Not copyable (a copy would share the state buffers); movable.
  WaveNetStepper(const WaveNetStepper&) = delete;
  WaveNetStepper& operator=(const WaveNetStepper&) = delete;
  WaveNetStepper(WaveNetStepper&&) = default;
  WaveNetStepper& operator=(WaveNetStepper&&) = default;

  // x (N, classes, T ≥ receptive_field) f32 → the normal-mode output (N, classes, T − RF + 1);
  // the queues then hold the tails of every layer's input. Runs under no-grad.
  Tensor save(const Tensor& x);
  // One new input column (N, classes), N as in the last save, on the stepper's device → output
  // column (N, classes) there.
  const Tensor& step(const Tensor& x);
  // The same with the one-hot column of `indices` (N host entries in [0, classes), checked).
  const Tensor& step_indices(const int64_t* indices);
  // The device-side loop of models/step/sampling.h: one step from the N indices in ids_buffer()
  // (device memory, written by the sampling kernel), queuing work only (no host wait), so that it
  // can be recorded once and replayed. phase() names the work a step queues (always 0: every
  // layer fires each step; the queue position is read on the device); skip_step() advances the
  // host's state as a step would (nothing here) when a recording is replayed instead.
  void step_ids();
  int64_t* ids_buffer() { return ids_.data<int64_t>(); }
  int64_t ids_rows() const { return 1; }  // ids_buffer() holds the newest ids only
  // step::generate's draws (the same symbols from the same seed), with the whole loop — every step
  // and every draw — in calls of the `wavenet_loop` kernel (ops/kernels/wavenet_loop.h): on a GPU
  // one persistent kernel per `chunk` samples instead of ~200 kernels per sample. f32 weights,
  // batch ≤ 8. `grid_blocks`: the GPU's grid (0: one block per SM, capped by the widest stage).
  // Returns the `steps` symbols (steps, N) i64 on the host, like step::generate.
  Tensor generate_persistent(const Tensor& first, int64_t steps, double temperature, Generator& g,
                             const std::function<void(int64_t)>& progress = {}, int64_t grid_blocks = 0,
                             int64_t chunk = 4096);
  // The loop's arguments over this stepper's weights and buffers (after save; f32 weights), its
  // layer table put in `table` (which must outlive the calls): for generate_persistent, and for
  // tests that drive the kernel directly. history, temperature, seed and first_block are unset.
  WaveNetLoop loop_args(Tensor& table);
  const Tensor& output() const { return out_; }
  int64_t phase() const { return 0; }
  void skip_step() {}
  Device device() const { return device_; }
  void reset();  // forget the state (save is required again)
  // Threads that split every layer's rows inside a step (capped at the hardware threads). The
  // default 1 runs a step on the calling thread alone (single-threaded BLAS).
  // A team is faster on an otherwise idle machine (batch 1: ~1.7x for the audio WaveNet) but its
  // members wait for each other at every layer: on a machine busy with other work, keep 1.
  // (A GPU step is one member: more is refused.)
  void set_team_threads(int threads);
  int team_threads() const { return team_.wanted(); }
  // How a layer's gated conv runs: the product then the gate (two kernels), or both in one kernel
  // (StepKernels::gated_affine; batch ≤ 8, f32 weights, one team member). Default: fused on a GPU,
  // where a recorded step is bound by its number of kernels (docs/generation.md §5), not on the
  // CPU, whose BLAS products and team are faster. Takes effect from the next step; the tests
  // compare both ways on the CPU, bench/generate --device both on a GPU.
  void set_fused_gates(bool on);
  bool fused_gates() const { return fused_; }  // whether steps now take the fused kernel
  // Kernels the last step queued (its own: a generation loop adds its draw). Fused, each layer's
  // residual conv also pushes its output into the next layer's queue (StepKernels::affine_ring),
  // so a layer costs two kernels instead of three.
  int64_t kernels_last_step() const { return kernels_; }

  step::Weights weights() const { return weights_; }
  int64_t input_classes() const { return classes_; }  // the indices a step takes: [0, classes)
  // Bytes of weights one step reads (every matrix once; the start conv is a column lookup).
  size_t step_weight_bytes() const;

  bool ready() const { return batch_ > 0; }
  int64_t batch() const { return batch_; }
  int64_t classes() const { return classes_; }

 private:
  struct Layer {
    int64_t dilation = 1, slots = 1;  // queue length d(K−1)+1
    step::Matrix w_fg;                // (2D, K·R): filter rows then gate rows, tap-major columns
    Tensor b_fg;                      // (2D)
    step::Matrix w_res;               // (R, D); undefined for the last layer (its output is unused)
    Tensor b_res;                     // (R)
    Tensor queue;                     // (slots, N, R) ring; slot *pos mod slots is the newest
  };
  // Runs the network for the new column (dense x (N, classes), or one-hot `indices`) → out_,
  // as member `tid` of a team of `nt` threads.
  void step_column(int tid, int nt, const float* x, const int64_t* indices);

  WaveNet* model_;
  Device device_;
  const StepKernels* ops_;  // the step kernels of device_ (ops/kernels/step.h)
  int fused_request_ = -1;  // set_fused_gates: −1 the default, 0 off, 1 on (where it applies)
  bool fused_ = false;      // gated convs through gated_affine (choose_fused: at save, set_fused_gates)
  int64_t kernels_ = 0;     // kernels_last_step()
  void choose_fused();
  int64_t classes_ = 0, R_ = 0, D_ = 0, S_ = 0, K_ = 0, batch_ = 0;
  // The time index of the newest sample (one i64 on device_, so that a recorded step reads the
  // current value): layer i's newest queue entry is slot pos mod slots_i; −1 after save.
  Tensor pos_;
  std::vector<Layer> layers_;
  step::Weights weights_ = step::Weights::F32;
  Tensor w_start_, b_start_;  // f32 always: a one-hot input reads one column
  step::Matrix w_end1_, w_end2_;
  Tensor b_end1_, b_end2_;
  // All skip convs side by side: skip = Σ_i W_s,i z_i + Σ_i b_s,i = W_skip · [z_0; …; z_L−1] + b_skip,
  // one long GEMV at the end of the step (streams faster than L short ones).
  step::Matrix w_skip_;  // (S, L·D)
  Tensor b_skip_;        // (S)
  Tensor h_, fg_, z_, skip_, e1_, out_;  // per-step scratch (N, ·); z_ is (N, L·D), every layer's z
  Tensor window_;                        // (N, K·R): one layer's K taps side by side
  Tensor ids_, x_;                       // the step's input on device_: (N) indices or an (N, classes) column
  step::StepTeam team_;  // 1 member unless set_team_threads
};

}  // namespace seqnet
