// models/sequnet.h — the basic Seq-U-Net (`sequnet.Sequnet`), valid and padded mode.
//
// MODELS.md §7. Down blocks (conv → strided conv, the first conv's output kept as shortcut),
// a bottleneck conv, up blocks (transposed conv + crop, concat [upsampled, shortcut], conv),
// output 1×1 conv. LeakyReLU(0.01) + dropout after every conv but the output conv.
// Valid mode (target_output_size given): planned once (models/planning.h); the input must have
// exactly input_size() steps and output_size() steps come out. Padded mode (no target): every
// forward plans for the actual T, front-pads the input with zeros to the planned size and
// returns the last T outputs; every conv has front padding P = K − 1.
// Parameter keys: `block.0` for the convs in valid mode, `block.1` in padded mode (the padding
// op takes index 0); the transposed conv is always `upsampling_blocks.i.conv1.block.0`.
#pragma once
#include <optional>

#include "models/module.h"

namespace seqnet {

struct SequnetConfig {
  int64_t num_inputs = 1;
  std::vector<int64_t> num_channels;  // one width per level, levels = size() ≥ 2
  int64_t num_outputs = 1;
  int64_t kernel_size = 3;            // odd
  double dropout = 0.2;
  std::optional<int64_t> target_output_size;  // set: valid mode; unset: padded mode
};

class Sequnet : public Module {
 public:
  explicit Sequnet(SequnetConfig cfg, Generator& gen = default_generator(), const std::string& prefix = "");
  // Valid: (N, num_inputs, input_size()) → (N, num_outputs, output_size()).
  // Padded: (N, num_inputs, T) → (N, num_outputs, T) for any T ≥ 1.
  Variable forward(const Variable& x) override;
  std::string describe() const override;
  const SequnetConfig& config() const { return cfg_; }
  bool padded() const { return !cfg_.target_output_size.has_value(); }
  int64_t input_size() const;   // valid mode only (Error in padded mode)
  int64_t output_size() const;  // valid mode only
  const std::string& prefix() const { return prefix_; }  // parameter-key prefix ("conv." in task heads)

 private:
  SequnetConfig cfg_;
  std::string prefix_;
  int64_t input_size_ = 0, output_size_ = 0;
};

}  // namespace seqnet
