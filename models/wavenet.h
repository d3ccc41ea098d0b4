// models/wavenet.h — WaveNet as in the official `raw_audio/wavenet_model.WaveNetModel`.
//
// MODELS.md §6: start 1×1 conv, blocks·layers gated dilated layers (dilation 2^l restarting in
// every block, valid convolutions) with residual and skip 1×1 convs, then
// end_conv_2(relu(end_conv_1(relu(skip)))). Output length T − receptive_field + 1.
// Parameter keys in order: filter_convs.{i}.{weight,bias}, gate_convs.*, residual_convs.*,
// skip_convs.*, start_conv.*, end_conv_1.*, end_conv_2.* (biases only when bias = true, except
// the end convs which always have them).
#pragma once
#include <functional>

#include "models/module.h"

namespace seqnet {

struct WaveNetConfig {
  int64_t layers = 10, blocks = 5;
  int64_t dilation_channels = 32, residual_channels = 32, skip_channels = 512;
  int64_t classes = 256, output_length = 32, kernel_size = 2;
  bool bias = false;
};

class WaveNet : public Module {
 public:
  explicit WaveNet(WaveNetConfig cfg, Generator& gen = default_generator(), const std::string& prefix = "");
  Variable forward(const Variable& x) override;  // (N, classes, T) → (N, classes, T − RF + 1)
  // The same, calling observe(i, h) with the input h (N, R, T_i) of every gated layer i in order:
  // how the step mode (models/step/wavenet_step.h) fills its queues during its "save" call.
  using LayerInputObserver = std::function<void(int64_t layer, const Tensor& h)>;
  Variable forward(const Variable& x, const LayerInputObserver& observe);
  // The same from the codes (N, T) of the one-hot input: start_conv as a lookup
  // (models/one_hot_conv.h), so the one-hot tensor is never built. Training's path.
  Variable forward_codes(const Tensor& codes);
  std::string describe() const override;
  const WaveNetConfig& config() const { return cfg_; }
  int64_t receptive_field() const;  // 1 + blocks·(K−1)(2^layers − 1)
  int64_t input_size() const { return receptive_field() + cfg_.output_length - 1; }
  const std::string& prefix() const { return prefix_; }  // of every parameter key

 private:
  // x (one-hot) or, when x is undefined, *codes.
  Variable forward_impl(const Variable& x, const Tensor* codes, const LayerInputObserver& observe);
  WaveNetConfig cfg_;
  std::string prefix_;
};

}  // namespace seqnet
