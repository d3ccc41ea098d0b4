// models/step/tcn_step.h — streaming step mode of the TCN (MODELS.md §5; in the style of §9.1).
//
// A full forward recomputes every level over the whole receptive field for each new column. The
// TCN is causal with stride 1 everywhere, so its newest output needs, per level i (dilation
// d = 2^i, kernel K), only the last (K−1)d+1 columns of the input of conv1 and of conv2. Step mode
// keeps exactly those in one queue per conv (a ring buffer) and computes one column per conv:
//
//   for each level i:  q1 ← x                                    (oldest column drops out)
//     h   = relu(W1 · [q1(t−(K−1)d), …, q1(t−d), q1(t)] + b1)    one GEMV over a gathered window
//     q2 ← h
//     y   = relu(W2 · [q2(t−(K−1)d), …, q2(t)] + b2)
//     x   = relu(y + (C_in == C_out ? x : Wd · x + bd))          residual: the newest input only
//
// W1, W2 are the weight-normed weights g·v/‖v‖, computed once at packing (in double, rounded to
// float) and packed tap-major (column m·C + c holds W[o, c, m]) so that each conv is one affine over
// the K tapped columns gathered side by side.
//
// Why a ring and a gather rather than a shifting window: a shifting window moves (K−1)d columns
// per step (385 columns for K 7, d 64), a ring writes one and the gather copies K. For d = 1 both
// copy about K columns. Either copy is small next to the GEMV (C_out times fewer floats), but the
// shift grows with the dilation and the gather does not. One GEMV over the gathered K·C window
// instead of K GEMVs of C columns (what reading the taps straight from the ring would need)
// saves K − 1 BLAS calls and K − 1 passes over the output per conv; for small matrices a call's
// fixed cost is a large share of it (not measured separately here).
//
// Every step output equals the last output column of
// a full forward over any window that ends at that column and is at least the receptive field
// long (or starts at the beginning of the sequence: the queues then hold the causal zero padding).
//
//   TcnStepper gen(model);             // packs the weights (a snapshot: rebuild after training)
//   Tensor y0 = gen.save(x);           // x (N, num_inputs, T ≥ 1): normal output, fills the queues
//   const Tensor& y = gen.step(col);   // col (N, num_inputs) → (N, C_last); allocation-free
//
// save allocates the buffers for its batch size; step allocates nothing and returns a view of an
// internal buffer that the next step overwrites. Activations are float32; the weights float32 or
// (opt-in) half. Eval mode only: dropout is not applied.
#pragma once
#include <cstdint>
#include <vector>

#include "models/step/step_kernels.h"
#include "models/tcn.h"
#include "ops/backend.h"

namespace seqnet {

class TcnStepper {
 public:
  // The model must outlive the stepper (save runs its forward). f32 or f64 parameters (packing
  // converts); any parameter prefix (task heads use "conv."). `weights`: how the step matrices
  // are stored (step::Weights).
  // `device`: where the step runs (save moves the layer inputs there); a GPU takes f32 weights only.
  explicit TcnStepper(TCN& model, step::Weights weights = step::Weights::F32, Device device = Device::cpu());
  // Not copyable (a copy would share the state buffers); movable.
  TcnStepper(const TcnStepper&) = delete;
  TcnStepper& operator=(const TcnStepper&) = delete;
  TcnStepper(TcnStepper&&) = default;
  TcnStepper& operator=(TcnStepper&&) = default;

  // x (N, num_inputs, T ≥ 1) float32 → the model's normal forward output (N, C_last, T), in the
  // model's dtype (float32, or float64 for an f64 model), run in eval semantics (no dropout)
  // under no-grad. Fills every conv's queue with the tail of its input (zeros where T is shorter:
  // the causal zero padding of the forward).
  Tensor save(const Tensor& x);
  // One new input column (N, num_inputs) float32, N as in the last save → output (N, C_last), both
  // on the stepper's device.
  const Tensor& step(const Tensor& x);
  // The same from a column already in the stepper's device memory (rows num_inputs floats apart),
  // queuing work only (no host wait, no allocation), as a recorded step needs.
  void step_device(const float* x);
  const Tensor& output() const { return levels_.back().out; }
  Device device() const { return device_; }
  void reset();  // forget the state (save is required again)
  // Threads that split every conv's rows inside a step (capped at the hardware threads). The
  // default 1 runs a step on the calling thread alone (single-threaded BLAS). As for the other
  // steppers: faster on an idle machine only.
  void set_team_threads(int threads);  // (a GPU step is one member: more is refused)
  int team_threads() const { return team_.wanted(); }

  step::Weights weights() const { return weights_; }
  size_t step_weight_bytes() const;  // bytes of weights one step reads (every matrix once)

  bool ready() const { return batch_ > 0; }
  int64_t batch() const { return batch_; }
  int64_t num_inputs() const { return num_inputs_; }
  int64_t num_outputs() const { return levels_.empty() ? 0 : levels_.back().c_out; }

 private:
  struct Level {
    int64_t c_in = 0, c_out = 0, dilation = 1, slots = 1;  // queue length (K−1)d+1
    step::Matrix w1, w2;  // (C_out, K·C_in), (C_out, K·C_out): effective weight-normed, tap-major
    step::Matrix wd;      // downsample (C_out, C_in); undefined when C_in == C_out
    Tensor b1, b2, bd;    // (C_out)
    Tensor q1, q2;        // (slots, N, C_in), (slots, N, C_out) rings; slot pos mod slots is newest
    Tensor x1, x2;        // (N, K·C_in), (N, K·C_out): the K tapped columns, gathered, tap-major
    Tensor h, out;        // (N, C_out): relu(conv1), the block's output
  };
  // One step as member `tid` of a team of `nt` threads; x: the new column (N, num_inputs).
  void step_column(int tid, int nt, const float* x);

  TCN* model_;
  Device device_;
  const StepKernels* ops_;  // the step kernels of device_ (ops/kernels/step.h)
  int64_t num_inputs_ = 0, K_ = 0, batch_ = 0;
  Tensor pos_;  // (1) i64 on device_: the newest step's index; a queue's newest slot is pos mod slots
  Tensor x_;    // (N, num_inputs): a column copied to device_
  DType model_dtype_ = DType::F32;
  std::vector<Level> levels_;
  step::Weights weights_ = step::Weights::F32;
  step::StepTeam team_;  // 1 member unless set_team_threads
};

}  // namespace seqnet
