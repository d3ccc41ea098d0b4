// models/sequnet_res.h — the residual Seq-U-Net (`sequnet_res.Sequnet`).
//
// MODELS.md §8. One channel width C; gated residual layers (filter/gate convs, identity =
// input, decimated input or duplicated input), input conv, down blocks (depth D convs +
// decimating layer), D bottleneck layers, up blocks (transposed gated layer with per-layer
// pad_front, then D convs conditioned on the upsampled features), relu + 1×1 output conv.
// With target_output_size the plan (input_size, output_size, pad_front) is fixed at
// construction; without it every forward plans for the actual T, front-pads and returns the
// last T outputs. Parameter keys in the official order (see MODELS.md §8).
// Fast generation (clocked step mode, MODELS.md §9.2) is models/step/sequnet_res_step.h; it walks
// the same layer descriptors (ResLayout) and fills its buffers through forward's observer.
#pragma once
#include <functional>
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

enum class ResLayerKind { Plain, Decimate, Upsample };

// One gated residual layer: its key prefix, cycle count, kind and input width.
struct ResLayer {
  std::string name;    // key prefix, e.g. "downsampling_blocks.0.convs.1." (model prefix included)
  int64_t cycles = 1;  // fires every `cycles` input steps in step mode
  ResLayerKind kind = ResLayerKind::Plain;
  int64_t in_channels = 0;  // C, or 2C for up-block convs (x ++ conditioning)
};

// Names and order of the layers, exactly the official registration order:
// down blocks (convs.j, downconv), up blocks (upconv, convs.j), bottlenecks.j.
struct ResLayout {
  std::vector<std::vector<ResLayer>> down_convs;  // [i][j]
  std::vector<ResLayer> downconv;                 // [i]
  std::vector<ResLayer> upconv;                   // [i]
  std::vector<std::vector<ResLayer>> up_convs;    // [i][j]
  std::vector<ResLayer> bottlenecks;              // [j]
};
ResLayout make_res_layout(const SequnetResConfig& cfg, const std::string& prefix);

class SequnetRes : public Module {
 public:
  explicit SequnetRes(SequnetResConfig cfg, Generator& gen = default_generator(), const std::string& prefix = "");
  // Fixed plan: (N, num_inputs, input_size()) → (N, num_outputs, output_size()).
  // No target: (N, num_inputs, T) → (N, num_outputs, T).
  Variable forward(const Variable& x) override;
  // The same, calling observe(name, x, cond) in forward order with the input of the input conv
  // (name "<prefix>input_conv.", after any front padding) and of every gated layer (its
  // ResLayer::name; cond = the conditioning of up-block convs, else undefined): how the step
  // mode (models/step/sequnet_res_step.h) fills its buffers during its "save" call.
  using LayerInputObserver = std::function<void(const std::string& layer, const Tensor& x, const Tensor& cond)>;
  Variable forward(const Variable& x, const LayerInputObserver& observe);
  // The same from the codes (N, input_size()) of a one-hot input, with a planned output size
  // (training's windows): the input conv as K lookups (models/one_hot_conv.h), so the one-hot
  // tensor is never built. Training's path for raw audio.
  Variable forward_codes(const Tensor& codes);
  const std::string& prefix() const { return prefix_; }
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

  Variable trunk(Variable h, const std::vector<int64_t>& pad_front, const LayerInputObserver& observe);
};

}  // namespace seqnet
