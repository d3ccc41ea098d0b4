// models/sequnet_res.h — the residual Seq-U-Net (`sequnet_res.Sequnet`).
//
// MODELS.md §8. One channel width C; gated residual layers (filter/gate convs, identity =
// input, decimated input or duplicated input), input conv, down blocks (depth D convs +
// decimating layer), D bottleneck layers, up blocks (transposed gated layer with per-layer
// pad_front, then D convs conditioned on the upsampled features), relu + 1×1 output conv.
// With target_output_size the plan (input_size, output_size, pad_front) is fixed at
// construction; without it every forward plans for the actual T, front-pads and returns the
// last T outputs. Parameter keys in the official order (see MODELS.md §8).
// Fast generation (clocked step mode, MODELS.md §9.2) will be added here by the generation work.
#pragma once
#include <optional>

#include "models/module.h"

namespace seqnet {

struct SequnetResConfig {
  int64_t num_inputs = 1;
  int64_t num_channels = 8;  // C, the same on every level
  int64_t num_levels = 3;
  int64_t num_outputs = 1;
  int64_t kernel_size = 3;   // odd
  std::optional<int64_t> target_output_size;
  int64_t depth = 1;
};

class SequnetRes : public Module {
 public:
  explicit SequnetRes(SequnetResConfig cfg, Generator& gen = default_generator(), const std::string& prefix = "");
  // Fixed plan: (N, num_inputs, input_size()) → (N, num_outputs, output_size()).
  // No target: (N, num_inputs, T) → (N, num_outputs, T).
  Variable forward(const Variable& x) override;
  std::string describe() const override;
  const SequnetResConfig& config() const { return cfg_; }
  int64_t input_size() const;   // only with a target (Error otherwise)
  int64_t output_size() const;
  int64_t cycles() const { return int64_t(1) << (cfg_.num_levels - 1); }

 private:
  SequnetResConfig cfg_;
  std::string prefix_;
  int64_t input_size_ = 0, output_size_ = 0;
  std::vector<int64_t> pad_front_;  // per up block, index 0 = outermost
};

}  // namespace seqnet
