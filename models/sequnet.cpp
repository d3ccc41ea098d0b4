// models/sequnet.cpp — the basic Seq-U-Net (`sequnet.Sequnet`), MODELS.md §7 (planning §4.1).
//
// Layer shapes and state_dict order (official registration order):
//   downsampling_blocks.i.conv1 / .conv2   (i = 0..n−1; conv2 is the stride-2 conv)
//   upsampling_blocks.i.conv1              (ConvTranspose1d(C_{i+1}, C_{i+1}, K, 2), weight (C_in, C_out, K))
//   upsampling_blocks.i.conv2              (Conv1d(C_{i+1} + C_i → C_i))
//   bottleneck_conv, output_conv           (output: 1×1, key always `block.0`)
// Non-transposed ConvBlocks are `<name>.block.0.*` in valid mode and `<name>.block.1.*` in padded
// mode (the official nn.Sequential has the ConstantPad1d at index 0 there).
#include "models/sequnet.h"

#include "core/error.h"
#include "models/planning.h"
#include "ops/conv.h"
#include "ops/dropout.h"
#include "ops/ops.h"
#include "ops/time.h"

namespace seqnet {

namespace {

constexpr double kLeakySlope = 0.01;

// Registers a Conv1d(c_in → c_out, K) under `name` (weight first, then bias, as in PyTorch)
// with PyTorch's default init (fan_in = C_in·K).
void add_conv(ParameterSet& ps, const std::string& name, int64_t c_out, int64_t c_in, int64_t K, Generator& gen) {
  const int64_t fan_in = c_in * K;
  ps.add(name + ".weight", default_uniform_init({c_out, c_in, K}, fan_in, gen));
  ps.add(name + ".bias", default_uniform_init({c_out}, fan_in, gen));
}

// ConvTranspose1d(c_in → c_out, K): weight (C_in, C_out, K); PyTorch's fan_in is weight dim 1 × K.
void add_conv_transpose(ParameterSet& ps, const std::string& name, int64_t c_in, int64_t c_out, int64_t K,
                        Generator& gen) {
  const int64_t fan_in = c_out * K;
  ps.add(name + ".weight", default_uniform_init({c_in, c_out, K}, fan_in, gen));
  ps.add(name + ".bias", default_uniform_init({c_out}, fan_in, gen));
}

std::string channels_str(const std::vector<int64_t>& c) { return fmt::format("[{}]", fmt::join(c, ", ")); }

}  // namespace

Sequnet::Sequnet(SequnetConfig cfg, Generator& gen, const std::string& prefix) : cfg_(std::move(cfg)), prefix_(prefix) {
  check(cfg_.num_inputs >= 1, "Sequnet: num_inputs must be >= 1, got {}", cfg_.num_inputs);
  check(cfg_.num_outputs >= 1, "Sequnet: num_outputs must be >= 1, got {}", cfg_.num_outputs);
  check(cfg_.num_channels.size() >= 2, "Sequnet: num_channels must list at least 2 levels, got {}",
        channels_str(cfg_.num_channels));
  for (int64_t c : cfg_.num_channels)
    check(c >= 1, "Sequnet: every channel count must be >= 1, got {}", channels_str(cfg_.num_channels));
  check(cfg_.kernel_size >= 1 && cfg_.kernel_size % 2 == 1, "Sequnet: kernel_size must be odd and >= 1, got {}",
        cfg_.kernel_size);
  check(cfg_.dropout >= 0.0 && cfg_.dropout <= 1.0, "Sequnet: dropout must be in [0, 1], got {}", cfg_.dropout);
  if (cfg_.target_output_size) {
    check(*cfg_.target_output_size >= 1, "Sequnet: target_output_size must be >= 1, got {}",
          *cfg_.target_output_size);
    const BasicPlan plan = plan_basic_sequnet(cfg_.kernel_size, int64_t(cfg_.num_channels.size()),
                                              *cfg_.target_output_size, /*padded=*/false);
    input_size_ = plan.input_size;
    output_size_ = plan.output_size;
  } else {
    // Validates kernel / levels once at construction (the plan itself is made per forward).
    (void)plan_basic_sequnet(cfg_.kernel_size, int64_t(cfg_.num_channels.size()), 1, /*padded=*/true);
  }

  const int64_t K = cfg_.kernel_size;
  const std::vector<int64_t>& C = cfg_.num_channels;
  const size_t n = C.size() - 1;
  const std::string blk = padded() ? ".block.1" : ".block.0";
  for (size_t i = 0; i < n; ++i) {
    const std::string p = fmt::format("{}downsampling_blocks.{}.", prefix_, i);
    const int64_t a = i == 0 ? cfg_.num_inputs : C[i - 1];
    add_conv(params_, p + "conv1" + blk, C[i], a, K, gen);
    add_conv(params_, p + "conv2" + blk, C[i], C[i], K, gen);
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string p = fmt::format("{}upsampling_blocks.{}.", prefix_, i);
    add_conv_transpose(params_, p + "conv1.block.0", C[i + 1], C[i + 1], K, gen);
    add_conv(params_, p + "conv2" + blk, C[i], C[i + 1] + C[i], K, gen);
  }
  add_conv(params_, prefix_ + "bottleneck_conv" + blk, C[n], C[n - 1], K, gen);
  add_conv(params_, prefix_ + "output_conv.block.0", cfg_.num_outputs, C[0], 1, gen);
}

int64_t Sequnet::input_size() const {
  check(!padded(), "Sequnet::input_size: the model is in padded mode (no target_output_size); it accepts any length");
  return input_size_;
}

int64_t Sequnet::output_size() const {
  check(!padded(), "Sequnet::output_size: the model is in padded mode (no target_output_size); output length = input length");
  return output_size_;
}

std::string Sequnet::describe() const {
  std::string mode = padded() ? "padded (planned per forward, output length = input length)"
                              : fmt::format("valid, plan {} -> {} steps (target {})", input_size_, output_size_,
                                            *cfg_.target_output_size);
  return fmt::format("Sequnet(basic, {} in, channels {}, {} out, kernel {}, dropout {}, {}; {} parameters)",
                     cfg_.num_inputs, channels_str(cfg_.num_channels), cfg_.num_outputs, cfg_.kernel_size,
                     cfg_.dropout, mode, params_.count());
}

Variable Sequnet::forward(const Variable& x_in) {
  check(x_in.defined(), "Sequnet: input is undefined");
  if (!(x_in.dim() == 3 && x_in.size(1) == cfg_.num_inputs && x_in.size(2) >= 1))
    fail(fmt::format("Sequnet: expected input (N, {}, T) with T >= 1, got {} ({})", cfg_.num_inputs,
                     shape_str(x_in.shape()), describe()));
  const std::string blk = padded() ? ".block.1" : ".block.0";
  const Variable& w0 = params_.get(prefix_ + "output_conv.block.0.weight");
  check(x_in.dtype() == w0.dtype(), "Sequnet: input dtype {} differs from the parameters' dtype {}",
        dtype_name(x_in.dtype()), dtype_name(w0.dtype()));

  const int64_t K = cfg_.kernel_size;
  const int64_t T = x_in.size(2);
  const int64_t P = padded() ? K - 1 : 0;
  const size_t n = cfg_.num_channels.size() - 1;

  Variable x = x_in;
  if (padded()) {
    const BasicPlan plan = plan_basic_sequnet(K, int64_t(cfg_.num_channels.size()), T, /*padded=*/true);
    check(plan.input_size >= T && plan.output_size >= T,
          "Sequnet: padded-mode plan for T = {} gave {} -> {} steps (expected both >= T)", T, plan.input_size,
          plan.output_size);
    if (plan.input_size > T) x = pad_time(x, plan.input_size - T);
  } else {
    if (!(T == input_size_))
      fail(fmt::format("Sequnet (valid mode): input length must be exactly the planned {} steps, got {} ({})",
                       input_size_, T, describe()));
  }

  Generator& gen = generator();
  const double p_drop = cfg_.dropout;
  const bool train = training_;
  // ConvBlock: [front pad P] → conv → LeakyReLU → dropout (the pad is the conv's pad_front).
  auto conv_block = [&](const Variable& h, const std::string& name, int64_t stride) {
    Variable y = conv1d(h, params_.get(name + ".weight"), params_.get(name + ".bias"), stride, 1, P, 0);
    return leaky_relu_dropout(y, kLeakySlope, p_drop, train, gen);
  };

  std::vector<Variable> shortcuts(n);
  Variable h = x;
  for (size_t i = 0; i < n; ++i) {
    const std::string p = fmt::format("{}downsampling_blocks.{}.", prefix_, i);
    shortcuts[i] = conv_block(h, p + "conv1" + blk, 1);  // one dropout mask: shortcut and strided input
    h = conv_block(shortcuts[i], p + "conv2" + blk, 2);
  }
  h = conv_block(h, prefix_ + "bottleneck_conv" + blk, 1);
  for (size_t k = n; k-- > 0;) {
    const std::string p = fmt::format("{}upsampling_blocks.{}.", prefix_, k);
    Variable u = conv_transpose1d(h, params_.get(p + "conv1.block.0.weight"), params_.get(p + "conv1.block.0.bias"), 2);
    // Length 2L + K − 2 → 2L − K + P: the front crop keeps the output end-aligned, the back
    // crop removes the "future" half-steps beyond the newest low-resolution sample (§3).
    check(u.size(2) - (K - 1 - P) - (K - 1) >= 1,
          "Sequnet: upsampling block {} would produce no samples (low-resolution length {}, kernel {})", k, h.size(2),
          K);
    u = crop_front_back(u, K - 1 - P, K - 1);
    u = leaky_relu_dropout(u, kLeakySlope, p_drop, train, gen);
    check(shortcuts[k].size(2) >= u.size(2),
          "Sequnet: upsampling block {}: shortcut ({} steps) shorter than the upsampled features ({} steps)", k,
          shortcuts[k].size(2), u.size(2));
    Variable s = crop(shortcuts[k], u.size(2));
    h = conv_block(concat({u, s}, 1), p + "conv2" + blk, 1);  // upsampled first
  }
  Variable y = conv1d(h, params_.get(prefix_ + "output_conv.block.0.weight"),
                      params_.get(prefix_ + "output_conv.block.0.bias"));
  if (padded()) return crop(y, T);
  return y;
}

}  // namespace seqnet
