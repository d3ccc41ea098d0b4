// models/step/head_step.h — step modes of the text and music task models (models/heads.h):
// the backbone's step mode (TcnStepper or SequnetStepper) with the task's head around it.
//
//   LanguageModel:   token id → embedding row → backbone step → decoder (tied: the same matrix)
//   PolyMusicModel:  piano-roll frame (88 keys) → backbone step [→ per-frame Linear (TCN only)]
//
// Both run on the CPU or a GPU (the backbone's buffers, the head's weights and the logits on the
// device); step::generate / step::generate_frames (models/step/sampling.h) drive them there.
//
// Both follow the backbone steppers' contract: save runs a normal forward over the prompt and
// fills the buffers, returning the logits of the newest position; every step takes the next
// input (a token id or a frame per sequence) and returns the logits of the next position,
// allocation-free, as a view of an internal buffer that the next call overwrites. Eval mode (no
// dropout). The weights are packed once (a snapshot: rebuild the stepper after training).
//
// Which window a step equals: TCN — the full forward of the sequence so far (every window at least
// the receptive field long gives the same newest output). Seq-U-Net — the full forward of the
// window that keeps the save point on the decimation grid (docs/generation.md §3b); a fresh window
// ending at the newest sample, which the slow path of `seqnet generate` computes, predicts at
// grid phase 0 instead and differs by design.
#pragma once
#include <cstdint>
#include <optional>

#include "models/heads.h"
#include "models/step/sequnet_step.h"
#include "models/step/step_kernels.h"
#include "models/step/tcn_step.h"

namespace seqnet {

// The step mode of a TCN or basic Seq-U-Net backbone behind one interface.
class BackboneStepper {
 public:
  // Exactly one non-null. `device`: where the steps run (either may run on a GPU, with f32 weights).
  BackboneStepper(TCN* tcn, Sequnet* sequnet, step::Weights weights, Device device = Device::cpu());
  Tensor save(const Tensor& x);         // (N, C_in, T) → the normal output (N, C_out, T_out)
  const Tensor& step(const Tensor& x);  // (N, C_in) → (N, C_out), x contiguous on the stepper's device
  void set_team_threads(int threads);
  double step_weight_bytes() const;
  int64_t cycles() const;  // 1 for the TCN; 2^(levels−1) for the Seq-U-Net
  int64_t phase() const;   // the step's clock phase (SequnetStepper::phase(); the TCN has one: 0)
  void skip_step();        // advance the clock as a step would (a recorded step ran instead)
  const Tensor& output() const;  // the last step's output (N, C_out) on the stepper's device
  bool is_sequnet() const { return sequnet_.has_value(); }

 private:
  std::optional<TcnStepper> tcn_;
  std::optional<SequnetStepper> sequnet_;
};

class LanguageModelStepper {
 public:
  // `device`: where the steps run (a GPU takes f32 weights).
  explicit LanguageModelStepper(LanguageModel& lm, step::Weights weights = step::Weights::F32,
                                Device device = Device::cpu());
  // tokens (N, T) i64 (Seq-U-Net: T = the planned input size) → logits (N, vocab) of the newest
  // position; (re)sizes the buffers for N.
  const Tensor& save(const Tensor& tokens);
  // N token ids (host memory, N as in the last save, checked) → logits (N, vocab) of the next
  // position, on the stepper's device.
  const Tensor& step(const int64_t* ids);
  // The interface of step::generate (models/step/sampling.h): one step from the N ids in
  // ids_buffer() (device memory), queuing work only; the backbone's clock phases (the TCN has one).
  void step_ids();
  int64_t* ids_buffer() { return ids_.data<int64_t>(); }
  int64_t ids_rows() const { return 1; }  // ids_buffer() holds the newest ids only
  const Tensor& output() const { return logits_; }
  int64_t phase() const { return backbone_.phase(); }
  void skip_step() { backbone_.skip_step(); }
  Device device() const { return device_; }
  void set_team_threads(int threads) { backbone_.set_team_threads(threads); }
  int64_t batch() const { return batch_; }
  int64_t vocab() const { return vocab_; }
  int64_t input_classes() const { return vocab_; }
  int64_t cycles() const { return backbone_.cycles(); }
  double step_weight_bytes() const;  // the backbone's plus the decoder's (the embedding is a row lookup)

 private:
  void decode(const Tensor& h);  // logits_ ← h · Dᵀ + b, h (N, emsize)

  Device device_;
  BackboneStepper backbone_;
  int64_t vocab_ = 0, emsize_ = 0, batch_ = 0;
  Tensor emb_;          // (vocab, emsize) f32 on the host: the encoder rows (the save's embedding)
  Tensor emb_t_;        // (emsize, vocab) f32 on the device: the same, transposed for the step's lookup
  step::Matrix dec_;    // (vocab, emsize)
  Tensor dec_b_, col_, logits_, ids_;
};

class PolyMusicStepper {
 public:
  // `device`: where the steps run (a GPU takes f32 weights).
  explicit PolyMusicStepper(PolyMusicModel& model, step::Weights weights = step::Weights::F32,
                            Device device = Device::cpu());
  // roll (N, T, keys) f32 (time-major, as the model takes it) → logits (N, keys) of the newest frame,
  // on the stepper's device.
  const Tensor& save(const Tensor& roll);
  // frame (N, keys) → logits (N, keys) of the next frame, on the stepper's device.
  const Tensor& step(const Tensor& frame);
  // The interface of step::generate_frames (models/step/sampling.h): one step from the frame in
  // frame_buffer() (N, keys) f32 on the device, queuing work only; the backbone's clock phases.
  void step_frame();
  float* frame_buffer() { return frame_.data<float>(); }
  const Tensor& output() const { return lin_.defined() ? lin_out_ : backbone_.output(); }
  int64_t phase() const { return backbone_.phase(); }
  void skip_step() { backbone_.skip_step(); }
  Device device() const { return device_; }
  int64_t frame_width() const { return keys_; }
  void set_team_threads(int threads) { backbone_.set_team_threads(threads); }
  int64_t batch() const { return batch_; }
  int64_t cycles() const { return backbone_.cycles(); }
  double step_weight_bytes() const;

 private:
  // TCN: Linear into lin_out_; Seq-U-Net: the backbone's output is the logits (no copy).
  const Tensor& head(const Tensor& h);

  Device device_;
  BackboneStepper backbone_;
  int64_t keys_ = 0, batch_ = 0;
  step::Matrix lin_;  // TCN: (keys, nhid); undefined for the Seq-U-Net
  Tensor lin_b_, lin_out_, frame_;
  Tensor save_h_;  // the save's newest backbone column (N, C) f32 on the device (the Seq-U-Net's logits)
};

}  // namespace seqnet
