// models/tcn.h — the Temporal Convolutional Network (locuslab TCN, `tcn.TemporalConvNet`).
//
// MODELS.md §5. Level i (dilation 2^i) is a temporal block:
//   h   = dropout(relu(WNconv1(frontpad_{(K−1)d}(x))))
//   h   = dropout(relu(WNconv2(frontpad_{(K−1)d}(h))))
//   out = relu(h + (C_in == C_out ? x : downsample(x)))        downsample: 1×1 conv with bias
// WNconv = weight-normed conv, W = g·v/‖v‖ per output channel (ops/weight_norm.h). The forward runs
// each dropout(relu(·)) as the fused relu_dropout and the last line as add_relu (the same numbers).
// Parameter keys (in order, per level): conv1.{bias,weight_g,weight_v}, conv2.{...},
// net.0.{...} (alias of conv1), net.4.{...} (alias of conv2), downsample.{weight,bias}.
#pragma once
#include <functional>

#include "models/module.h"

namespace seqnet {

struct TCNConfig {
  int64_t num_inputs = 1;
  std::vector<int64_t> num_channels;
  int64_t kernel_size = 2;
  double dropout = 0.2;
};

class TCN : public Module {
 public:
  // Initialised like PyTorch (v: default conv init, g = ‖v‖; downsample weight ~ N(0, 0.01²),
  // its bias default). Parameter names get `prefix` in front (task heads use "conv.").
  explicit TCN(TCNConfig cfg, Generator& gen = default_generator(), const std::string& prefix = "");
  Variable forward(const Variable& x) override;  // (N, num_inputs, T) → (N, num_channels.back(), T)
  // The same, calling observe(level, conv, in) with the (unpadded) input in (N, C, T) of conv1
  // (conv = 1: the block's input, also what the residual path reads) and of conv2 (conv = 2) of
  // every level in order: how the step mode (models/step/tcn_step.h) fills its queues in "save".
  using ConvInputObserver = std::function<void(int64_t level, int conv, const Tensor& in)>;
  Variable forward(const Variable& x, const ConvInputObserver& observe);
  // The newest `newest` output steps, computed alone: level i's output is needed on n_i steps,
  // so its conv2 runs on n_i, its conv1 on n_i + P_i and it reads n_i + 2P_i steps of its input
  // (P_i = (K − 1)·2^i, each at most T): level i − 1 computes only those. The values are those of
  // forward(x)'s last steps; with dropout, the masks are drawn for the smaller tensors, so they
  // are other (equally likely) masks than forward(x) draws.
  Variable forward_newest(const Variable& x, int64_t newest) override;
  std::string describe() const override;
  const TCNConfig& config() const { return cfg_; }
  int64_t receptive_field() const;  // 1 + 2(K−1)(2^L − 1)
  const std::string& prefix() const { return prefix_; }  // of every parameter key

 private:
  Variable forward_impl(const Variable& x, const ConvInputObserver& observe, int64_t newest);
  TCNConfig cfg_;
  std::string prefix_;
};

}  // namespace seqnet
