// models/step/head_step.h — step modes of the text and music task models (models/heads.h):
// the backbone's step mode (TcnStepper or SequnetStepper) with the task's head around it.
//
//   LanguageModel:   token id → embedding row → backbone step → decoder (tied: the same matrix)
//   PolyMusicModel:  piano-roll frame (88 keys) → backbone step [→ per-frame Linear (TCN only)]
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
  BackboneStepper(TCN* tcn, Sequnet* sequnet, step::Weights weights);  // exactly one non-null
  Tensor save(const Tensor& x);         // (N, C_in, T) → the normal output (N, C_out, T_out)
  const Tensor& step(const Tensor& x);  // (N, C_in) → (N, C_out)
  void set_team_threads(int threads);
  double step_weight_bytes() const;
  int64_t cycles() const;  // 1 for the TCN; 2^(levels−1) for the Seq-U-Net
  bool is_sequnet() const { return sequnet_.has_value(); }

 private:
  std::optional<TcnStepper> tcn_;
  std::optional<SequnetStepper> sequnet_;
};

class LanguageModelStepper {
 public:
  explicit LanguageModelStepper(LanguageModel& lm, step::Weights weights = step::Weights::F32);
  // tokens (N, T) i64 (Seq-U-Net: T = the planned input size) → logits (N, vocab) of the newest
  // position; (re)sizes the buffers for N.
  const Tensor& save(const Tensor& tokens);
  // N token ids (N as in the last save) → logits (N, vocab) of the next position.
  const Tensor& step(const int64_t* ids);
  void set_team_threads(int threads) { backbone_.set_team_threads(threads); }
  int64_t batch() const { return batch_; }
  int64_t vocab() const { return vocab_; }
  int64_t cycles() const { return backbone_.cycles(); }
  double step_weight_bytes() const;  // the backbone's plus the decoder's (the embedding is a row lookup)

 private:
  void decode(const Tensor& h);  // logits_ ← h · Dᵀ + b, h (N, emsize)

  BackboneStepper backbone_;
  int64_t vocab_ = 0, emsize_ = 0, batch_ = 0;
  Tensor emb_;          // (vocab, emsize) f32: the encoder rows
  step::Matrix dec_;    // (vocab, emsize)
  Tensor dec_b_, col_, logits_;
};

class PolyMusicStepper {
 public:
  explicit PolyMusicStepper(PolyMusicModel& model, step::Weights weights = step::Weights::F32);
  // roll (N, T, keys) f32 (time-major, as the model takes it) → logits (N, keys) of the newest frame.
  const Tensor& save(const Tensor& roll);
  // frame (N, keys) → logits (N, keys) of the next frame.
  const Tensor& step(const Tensor& frame);
  void set_team_threads(int threads) { backbone_.set_team_threads(threads); }
  int64_t batch() const { return batch_; }
  int64_t cycles() const { return backbone_.cycles(); }
  double step_weight_bytes() const;

 private:
  const Tensor& head(const Tensor& h);  // TCN: Linear; Seq-U-Net: the backbone's output itself

  BackboneStepper backbone_;
  int64_t keys_ = 0, batch_ = 0;
  step::Matrix lin_;  // TCN: (keys, nhid); undefined for the Seq-U-Net
  Tensor lin_b_, logits_;
};

}  // namespace seqnet
