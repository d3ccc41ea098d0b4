// models/heads.h — the task wrappers of the official training scripts (MODELS.md §10).
//
// Each wraps a backbone (built with the prefix "conv.", as the official wrappers name it) and
// registers its own parameters around it in state_dict order:
//   LanguageModel   (char_cnn / word_cnn model.TCN): encoder.weight, conv.*, decoder.weight
//                   (tied: the same tensor as encoder.weight), decoder.bias
//   PolyMusicModel  (poly_music model.TCN): conv.*, linear.{weight,bias} (TCN only; the basic
//                   Seq-U-Net in padded mode outputs the 88 logits directly)
//   CopyMemoryModel (copy_memory): conv.*, linear.{weight,bias} on the last 10 outputs
//   AudioModel      (raw_audio): one-hot(codes) → WaveNet / residual Seq-U-Net (no prefix)
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "models/module.h"
#include "models/sequnet.h"
#include "models/sequnet_res.h"
#include "models/tcn.h"
#include "models/wavenet.h"

namespace seqnet {

// ---- char / word language models ---------------------------------------------------------
struct LanguageModelConfig {
  std::string model = "tcn";  // "tcn" or "sequnet" (basic, valid mode)
  int64_t vocab = 50;
  int64_t emsize = 100;
  std::vector<int64_t> num_channels;  // [nhid] × (levels − 1) + [emsize]
  int64_t kernel_size = 3;
  double dropout = 0.1, emb_dropout = 0.1;
  int64_t validseqlen = 320;  // Seq-U-Net: the planner's target output size
  bool tied = true;
  bool word_init = false;     // char: U(−0.1, 0.1); word: N(0, 0.01²)
};

class LanguageModel : public Module {
 public:
  explicit LanguageModel(LanguageModelConfig cfg, Generator& gen = default_generator());
  // tokens (N, T) i64 → logits (N, T_out, vocab); TCN: T_out = T; Seq-U-Net: T must equal
  // input_size() and T_out = output_size() (the newest positions).
  Variable forward(const Variable& tokens) override;
  // The logits of the `newest` newest positions only, (N, newest, vocab): what the text tasks
  // score (their loss covers the last validseqlen positions). Equal to the last `newest` rows of
  // forward(tokens); the decoder runs on those positions alone (for PTB word TCN, 45 of 117: a
  // quarter of the step's multiply-adds saved). 1 ≤ newest ≤ T_out, or −1 for all T_out.
  Variable forward(const Variable& tokens, int64_t newest);
  std::string describe() const override;
  const LanguageModelConfig& config() const { return cfg_; }
  int64_t input_size(int64_t seq_len) const;    // what the window must be (TCN: seq_len)
  int64_t output_size(int64_t seq_len) const;   // how many newest positions get logits
  // The backbone (exactly one is non-null); the step modes (models/step/head_step.h) use them.
  TCN* tcn() { return tcn_.get(); }
  Sequnet* sequnet() { return sequnet_.get(); }

 private:
  LanguageModelConfig cfg_;
  std::unique_ptr<TCN> tcn_;
  std::unique_ptr<Sequnet> sequnet_;
};

// ---- polyphonic music ---------------------------------------------------------------------
struct PolyMusicConfig {
  std::string model = "tcn";  // "tcn" or "sequnet" (basic, padded mode)
  int64_t input_size = 88, output_size = 88;
  std::vector<int64_t> num_channels;
  int64_t kernel_size = 5;
  double dropout = 0.25;
};

class PolyMusicModel : public Module {
 public:
  explicit PolyMusicModel(PolyMusicConfig cfg, Generator& gen = default_generator());
  // piano roll (N, T, 88) → logits (N, T, 88)   (time-major, as the training script feeds it)
  Variable forward(const Variable& roll) override;
  std::string describe() const override;
  const PolyMusicConfig& config() const { return cfg_; }
  // Where a sequence of T frames sits when several of different lengths share a batch. TCN: T
  // (pad at the back only — causal, so the valid frames are unaffected). Seq-U-Net (padded
  // mode): its planned input size P(T) ≥ T; the row is [P(T) − T zeros, the T frames, back
  // zeros], which is exactly the input a batch-1 forward builds, so a batch whose length is the
  // largest P(T) (itself a planned size: forward adds no padding) reproduces batch 1 frame by
  // frame at positions [P(T) − T, P(T)). A learner's note: front zeros are not harmless in
  // general — every conv has a bias, and decimation keeps every second step, so shifting the
  // start changes the result.
  int64_t aligned_length(int64_t T) const;
  TCN* tcn() { return tcn_.get(); }          // the backbone (exactly one is non-null)
  Sequnet* sequnet() { return sequnet_.get(); }

 private:
  PolyMusicConfig cfg_;
  std::unique_ptr<TCN> tcn_;
  std::unique_ptr<Sequnet> sequnet_;
};

// ---- copy memory ----------------------------------------------------------------------------
struct CopyMemoryConfig {
  std::string model = "tcn";  // "tcn", "sequnet" (basic, valid, target 10) or "sequnet_res"
  int64_t nhid = 10, levels = 8, kernel_size = 7, n_classes = 10;
  double dropout = 0.0;
};

class CopyMemoryModel : public Module {
 public:
  explicit CopyMemoryModel(CopyMemoryConfig cfg, Generator& gen = default_generator());
  // digits (N, 1, T) float → logits (N, 10, n_classes) for the last 10 steps. The Seq-U-Nets
  // front-pad the input with zeros to their planned input size.
  Variable forward(const Variable& x) override;
  std::string describe() const override;

 private:
  CopyMemoryConfig cfg_;
  std::unique_ptr<Module> backbone_;
  int64_t planned_input_ = 0;
};

// ---- adding problem (TCN paper, locuslab/TCN adding_problem) --------------------------------
// TemporalConvNet(2 → [nhid] × levels, K) under the prefix "tcn.", then Linear(nhid → 1) on
// the last time step (weight ~ N(0, 0.01²)); MSE loss against the sum of the two marked values.
struct AddingConfig {
  int64_t nhid = 30, levels = 8, kernel_size = 7;
  double dropout = 0.0;
};

class AddingModel : public Module {
 public:
  explicit AddingModel(AddingConfig cfg, Generator& gen = default_generator());
  // x (N, 2, T) → predictions (N, 1)
  Variable forward(const Variable& x) override;
  std::string describe() const override;

 private:
  AddingConfig cfg_;
  std::unique_ptr<TCN> tcn_;
};

// ---- raw audio ---------------------------------------------------------------------------------
// µ-law codes → one-hot (N, classes, T) → WaveNet or residual Seq-U-Net. No parameters of its
// own and no prefix: the state_dict is the backbone's, as in raw_audio/train.py.
class AudioModel : public Module {
 public:
  AudioModel(std::unique_ptr<Module> backbone, int64_t classes);
  // codes (N, T) i64 in [0, classes) → logits (N, classes, T_out)
  Variable forward(const Variable& codes) override;
  std::string describe() const override;
  Module& backbone() { return *backbone_; }
  int64_t classes() const { return classes_; }

 private:
  std::unique_ptr<Module> backbone_;
  int64_t classes_;
};

}  // namespace seqnet
