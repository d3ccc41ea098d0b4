// models/wavenet.cpp — WaveNet as in `raw_audio/wavenet_model.WaveNetModel`, MODELS.md §6.
#include "models/wavenet.h"

#include "core/error.h"
#include "models/one_hot_conv.h"
#include "models/planning.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "ops/time.h"

namespace seqnet {

WaveNet::WaveNet(WaveNetConfig cfg, Generator& gen, const std::string& prefix) : cfg_(cfg), prefix_(prefix) {
  const WaveNetConfig& c = cfg_;
  check(c.layers >= 1 && c.blocks >= 1 && c.dilation_channels >= 1 && c.residual_channels >= 1 &&
            c.skip_channels >= 1 && c.classes >= 1 && c.output_length >= 1 && c.kernel_size >= 1,
        "WaveNet: every size must be >= 1 (layers {}, blocks {}, dilation_channels {}, residual_channels {}, "
        "skip_channels {}, classes {}, output_length {}, kernel_size {})",
        c.layers, c.blocks, c.dilation_channels, c.residual_channels, c.skip_channels, c.classes, c.output_length,
        c.kernel_size);
  (void)receptive_field();  // validates layers / blocks (and that the RF fits in int64)

  const int64_t n = c.layers * c.blocks, R = c.residual_channels, D = c.dilation_channels, S = c.skip_channels;
  const int64_t K = c.kernel_size;
  // One nn.Conv1d: weight (c_out, c_in, k), then its bias if it has one; default init.
  auto conv = [&](const std::string& name, int64_t c_out, int64_t c_in, int64_t k, bool bias) {
    params_.add(prefix_ + name + ".weight", default_uniform_init({c_out, c_in, k}, c_in * k, gen));
    if (bias) params_.add(prefix_ + name + ".bias", default_uniform_init({c_out}, c_in * k, gen));
  };
  // state_dict order: the ModuleLists in registration order, then start_conv, end_conv_1/2.
  for (int64_t i = 0; i < n; ++i) conv(fmt::format("filter_convs.{}", i), D, R, K, c.bias);
  for (int64_t i = 0; i < n; ++i) conv(fmt::format("gate_convs.{}", i), D, R, K, c.bias);
  for (int64_t i = 0; i < n; ++i) conv(fmt::format("residual_convs.{}", i), R, D, 1, c.bias);
  for (int64_t i = 0; i < n; ++i) conv(fmt::format("skip_convs.{}", i), S, D, 1, c.bias);
  conv("start_conv", R, c.classes, 1, c.bias);
  conv("end_conv_1", S, S, 1, true);
  conv("end_conv_2", c.classes, S, 1, true);
}

int64_t WaveNet::receptive_field() const {
  return wavenet_receptive_field(cfg_.kernel_size, cfg_.layers, cfg_.blocks);
}

Variable WaveNet::forward(const Variable& x) { return forward(x, LayerInputObserver()); }

Variable WaveNet::forward(const Variable& x, const LayerInputObserver& observe) {
  check(x.defined(), "WaveNet: input is undefined");
  return forward_impl(x, nullptr, observe);
}

Variable WaveNet::forward_codes(const Tensor& codes) { return forward_impl(Variable(), &codes, LayerInputObserver()); }

Variable WaveNet::forward_impl(const Variable& x, const Tensor* codes, const LayerInputObserver& observe) {
  const WaveNetConfig& c = cfg_;
  const int64_t rf = receptive_field();
  const Tensor& in = codes ? *codes : x.data();
  if (codes ? !(in.dim() == 2 && in.dtype() == DType::I64) : !(in.dim() == 3 && in.size(1) == c.classes))
    fail(fmt::format("WaveNet: expected {} for {}, got {}",
                     codes ? "codes i64 (N, T)" : fmt::format("input (N, classes = {}, T)", c.classes), describe(),
                     in.describe()));
  const int64_t T = in.size(in.dim() - 1);
  if (!(T >= rf))
    fail(
        fmt::format("WaveNet: input {} is too short for {}: needs T >= receptive field {} (T = input_size {} gives "
                    "output_length {})",
                    in.describe(), describe(), rf, input_size(), c.output_length));

  // An undefined Variable when the model has no such bias (bias = false).
  auto bias = [&](const std::string& name) {
    const std::string key = prefix_ + name + ".bias";
    return params_.contains(key) ? params_.get(key) : Variable();
  };
  auto conv = [&](const Variable& in, const std::string& name, int64_t dilation = 1) {
    return conv1d(in, params_.get(prefix_ + name + ".weight"), bias(name), 1, dilation);
  };

  // start_conv is 1×1: on codes, a lookup (exact; the one-hot input is never built)
  Variable h = codes ? one_hot_conv1d(*codes, params_.get(prefix_ + "start_conv.weight"), bias("start_conv"))
                     : conv(x, "start_conv");
  // The skip sum ends as long as the output (the last layer's length, T − RF + 1), and every
  // layer's contribution is end-aligned with it: only the last out_len steps of each s reach the
  // output. So each skip conv runs on those steps of z alone. Outputs and gradients are those of
  // the official code, which convolves every layer's whole length and crops afterwards; here
  // the skip path costs out_len columns per layer instead of the layer's length (for the audio
  // model, 5 000 instead of 24 218 on average: 35 % of the multiply-adds of a training step).
  const int64_t out_len = T - rf + 1;
  Variable skip;
  const int64_t n = c.layers * c.blocks;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t d = int64_t(1) << (i % c.layers);
    if (observe) observe(i, h.data());
    const Variable z =
        gated(conv(h, fmt::format("filter_convs.{}", i), d), conv(h, fmt::format("gate_convs.{}", i), d));
    const Variable s = conv(crop(z, out_len), fmt::format("skip_convs.{}", i));
    skip = i == 0 ? s : s + skip;
    // The last layer's residual output is never used (PyTorch computes it, but it gets no
    // gradient either way): skip the work; its parameters keep an undefined grad.
    if (i + 1 < n) h = conv(z, fmt::format("residual_convs.{}", i)) + crop(h, z);
  }
  return conv(relu(conv(relu(skip), "end_conv_1")), "end_conv_2");
}

std::string WaveNet::describe() const {
  const WaveNetConfig& c = cfg_;
  return fmt::format("WaveNet({} layers × {} blocks, channels res {} / dil {} / skip {}, {} classes, K={}, {}, RF {})",
                     c.layers, c.blocks, c.residual_channels, c.dilation_channels, c.skip_channels, c.classes,
                     c.kernel_size, c.bias ? "bias" : "no bias", receptive_field());
}

}  // namespace seqnet
