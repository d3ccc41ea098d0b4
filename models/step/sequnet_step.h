// models/step/sequnet_step.h — clocked step mode of the basic Seq-U-Net (MODELS.md §7, §9.2),
// valid and padded mode.
//
// The same clock as the residual variant's step mode (models/step/sequnet_res_step.h): level j
// runs at 1/2^j of the input rate, a global clock t counts input steps modulo
// cycles = 2^(levels−1), and a layer with cycle count c produces a value only when t mod c = 0:
//
//   down block i: conv1 (stride 1, its output is the shortcut)       2^i
//                 conv2 (stride 2; receives every 2^i, fires every)   2^(i+1)
//   bottleneck conv                                                   2^n   (n = levels − 1)
//   up block i:   transposed conv (receives every 2^(i+1))            2^i
//                 conv2 on the rows [upsampled, shortcut_i]           2^i
//   output 1×1 conv                                                   1
//
// On a GPU every buffer lives there and a step is a fixed sequence of step kernels per clock phase
// (phase()), which models/step/sampling.h records once per phase and replays.
//
// Every layer is a plain conv + LeakyReLU(0.01) (the output conv has no activation) and keeps
// its last K inputs at its own resolution, so producing a value is one GEMV on that window. The
// transposed conv of up block i, when a new low-resolution sample arrives, computes the current
// high-resolution position from its even taps (tap 0 on the newest sample, tap 2 on the one
// before, …) and the next position (2^i input steps later) from its odd taps (tap 1 on the
// newest, tap 3 on the one before, …), caches the latter as `next_output` and hands it out at the
// next tick without new input. The back crop of K−1 in the full forward removes exactly those
// odd-tap positions (MODELS.md §3), so they never look into the future.
//
// Save is the model's normal forward (eval, no grad), written here with the ops the model uses
// so that it can keep every layer's input; each window takes the K newest samples of its layer's
// input (zeros where the sequence or, in padded mode, the conv's front padding lies before them).
// After save the clock is 1.
//
// Alignment (docs/generation.md §3b; checked by tests/test_step_sequnet.cpp): with C = cycles,
// t0 the last saved sample and m = ceil(s / C), the s-th step output equals
//   valid mode:  forward(x[E − I : E])[..., −1 − (m·C − s)],  E = t0 + 1 + m·C, I = input_size();
//   padded mode: forward([X0, x_1 … x_{m·C}])[..., −1 − (m·C − s)], X0 = the save input
//                front-padded with zeros to its planned length (the length the forward pads it to).
//
//   SequnetStepper gen(model);            // packs the weights (a snapshot: rebuild after training)
//   Tensor y0 = gen.save(x);              // x (N, num_inputs, T): the normal output
//   const Tensor& y = gen.step(col);      // col (N, num_inputs) → (N, num_outputs); allocation-free
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/sequnet.h"
#include "models/step/step_kernels.h"
#include "ops/backend.h"

namespace seqnet {

class SequnetStepper {
 public:
  // The model must outlive the stepper (save runs its parameters). Its parameters may be f32 or
  // f64 (packing converts); the step state is float32. `weights`: how the step matrices are
  // stored (F16 halves the bytes a step streams, at a small relative error).
  // `device`: where the step buffers live and the steps run (ops/kernels/step.h); on a GPU the
  // weights must be f32 and a step runs as one member (no thread team).
  explicit SequnetStepper(Sequnet& model, step::Weights weights = step::Weights::F32, Device device = Device::cpu());
  SequnetStepper(const SequnetStepper&) = delete;
  SequnetStepper& operator=(const SequnetStepper&) = delete;
  SequnetStepper(SequnetStepper&&) = default;
  SequnetStepper& operator=(SequnetStepper&&) = default;

  // Valid mode: x (N, num_inputs, input_size()) → (N, num_outputs, output_size()).
  // Padded mode: x (N, num_inputs, T), any T ≥ 1 → (N, num_outputs, T).
  // x is f32 or f64 (converted to the parameters' dtype); the output has the parameters' dtype and
  // equals Sequnet::forward in eval mode. Fills every window and next_output; clock := 1.
  Tensor save(const Tensor& x);
  // One new input column (N, num_inputs), f32 or f64, N as in the last save → (N, num_outputs) f32
  // on the stepper's device, a view of an internal buffer that the next step overwrites. Allocates
  // nothing for a contiguous f32 column on the stepper's device (or any column on the CPU).
  const Tensor& step(const Tensor& x);
  // For a device-side loop (models/step/sampling.h, through LanguageModelStepper): which layers a
  // step fires depends on the clock only through the largest power of two dividing it, so that
  // exponent (0 … levels) names the work a step queues; skip_step() advances the clock as a step
  // does, when a recording of the step has run instead.
  int64_t phase() const;
  void skip_step() { clock_ = (clock_ + 1) % cycles_; }
  Device device() const { return device_; }
  const Tensor& output() const { return out_; }  // the last step's output (N, num_outputs)
  void reset();  // forget the state (save is required again); clock := 1
  // Threads that split every layer's rows inside a step (see step::StepTeam); default 1.
  void set_team_threads(int threads);
  int team_threads() const { return team_.wanted(); }

  step::Weights weights() const { return weights_; }
  // Bytes of weights read per step, averaged over a clock cycle (level j's layers run once every
  // 2^j steps; a transposed conv reads both tap sets once every 2^(i+1) steps).
  double step_weight_bytes() const;

  bool ready() const { return batch_ > 0; }
  bool padded() const { return padded_; }
  int64_t batch() const { return batch_; }
  int64_t clock() const { return clock_; }
  int64_t cycles() const { return cycles_; }

 private:
  enum class Kind { Conv, Strided, Transposed, UpConv };
  struct Layer {
    std::string name;  // parameter key without ".weight" (e.g. "conv.downsampling_blocks.0.conv1.block.0")
    Kind kind = Kind::Conv;
    int64_t level = 0;    // resolution of its output (transposed: of its output too, i.e. i)
    int64_t cycles = 1;   // fires when t mod cycles = 0
    int64_t width = 0;    // floats per window row (its input channels; up conv2: C_{i+1} + C_i)
    int64_t c_out = 0;
    step::Matrix w;       // (c_out, K·width) tap-major; transposed: the even taps (c_out, q_even·width)
    step::Matrix w_odd;   // transposed: odd taps (c_out, q_odd·width)
    int64_t q_even = 0, q_odd = 0;  // transposed: newest low-res samples used by the even / odd output
    Tensor b;             // bias (c_out)
    Tensor window;        // (N, K, width), newest row last
    Tensor out, next;     // (N, c_out): this tick's value; transposed: the cached next_output
  };
  // window ← newest row (x: first `cx` floats; y: the remaining width − cx, may be null).
  void push(Layer& L, const float* x, int64_t ldx, int64_t cx, const float* y, int64_t ldy);
  void fire(Layer& L, int tid, int nt);             // out ← LeakyReLU(W · window + b), this member's rows
  void fire_transposed(Layer& L, int tid, int nt);  // out ← even taps, next ← odd taps
  void run_step(int tid, int nt);                   // one step as member tid of nt → out_

  Sequnet* model_;
  Device device_;
  const StepKernels* ops_;  // the step kernels of device_ (ops/kernels/step.h)
  bool padded_ = false;
  int64_t K_ = 0, n_ = 0, num_inputs_ = 0, num_outputs_ = 0, cycles_ = 1, c0_ = 0;
  int64_t batch_ = 0, clock_ = 1;
  // Forward order: down block i = [conv1, conv2] (i = 0..n−1), bottleneck, up block i =
  // [transposed, conv2] from i = n−1 down to 0.
  std::vector<Layer> layers_;
  step::Matrix w_out_;  // output conv (num_outputs, C_0)
  Tensor b_out_, in_, out_;     // in_: the step's input column (N, num_inputs) as f32, on device_
  const float* src_ = nullptr;  // this step's input column (in_, or the caller's column read in place)
  step::Weights weights_ = step::Weights::F32;
  step::StepTeam team_;
};

}  // namespace seqnet
