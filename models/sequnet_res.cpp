// models/sequnet_res.cpp — the residual Seq-U-Net (`sequnet_res.Sequnet`), MODELS.md §8
// (planning §4.2), normal (full-sequence) mode.
//
// The network is a list of gated residual layers, each described by a ResLayer (its key
// prefix, cycle count, kind, input width). The descriptors are what the clocked step mode
// (§9.2, sequnet_res_step.cpp) walks as well; normal mode is `apply_layer` on whole sequences.
#include "models/sequnet_res.h"

#include "core/error.h"
#include "models/one_hot_conv.h"
#include "models/planning.h"
#include "ops/conv.h"
#include "ops/ops.h"
#include "ops/time.h"

namespace seqnet {

namespace {

void add_layer_params(ParameterSet& ps, const ResLayer& l, int64_t C, int64_t K, Generator& gen) {
  for (const char* part : {"filter", "gate"}) {
    const std::string name = l.name + part;
    if (l.kind == ResLayerKind::Upsample) {
      // ConvTranspose1d(a, C, K, 2): weight (a, C, K); PyTorch's fan_in = weight dim 1 × K = C·K.
      ps.add(name + ".weight", default_uniform_init({l.in_channels, C, K}, C * K, gen));
      ps.add(name + ".bias", default_uniform_init({C}, C * K, gen));
    } else {
      ps.add(name + ".weight", default_uniform_init({C, l.in_channels, K}, l.in_channels * K, gen));
      ps.add(name + ".bias", default_uniform_init({C}, l.in_channels * K, gen));
    }
  }
}

// Normal-mode ResidualLayer: r = tanh(filter(z)) ⊙ sigmoid(gate(z)), z = [x, cond] (cond may be
// undefined); transposed outputs lose K−1−pad_front steps at the front and K−1 at the back;
// out = last_len(r)(identity) + r with identity x | x[(T−1) mod 2 :: 2] | duplicate(x).
Variable apply_layer(const ParameterSet& ps, const ResLayer& l, const Variable& x, const Variable& cond, int64_t K,
                     int64_t pad_front) {
  const int64_t T = x.size(2);
  Variable z = x;
  if (cond.defined()) {
    check(cond.size(2) == T, "SequnetRes: layer {}: conditioning has {} steps, input {}", l.name, cond.size(2), T);
    z = concat({x, cond}, 1);
  }
  const Variable& wf = ps.get(l.name + "filter.weight");
  const Variable& bf = ps.get(l.name + "filter.bias");
  const Variable& wg = ps.get(l.name + "gate.weight");
  const Variable& bg = ps.get(l.name + "gate.bias");
  Variable r, identity;
  switch (l.kind) {
    case ResLayerKind::Plain:
      check(T >= K, "SequnetRes: layer {} needs at least {} input steps, got {}", l.name, K, T);
      r = gated(conv1d(z, wf, bf), conv1d(z, wg, bg));
      identity = x;
      break;
    case ResLayerKind::Decimate:
      check(T >= K, "SequnetRes: layer {} needs at least {} input steps, got {}", l.name, K, T);
      r = gated(conv1d(z, wf, bf, 2), conv1d(z, wg, bg, 2));
      identity = decimate_causal(x);
      break;
    case ResLayerKind::Upsample: {
      const int64_t front = K - 1 - pad_front, back = K - 1;
      check(pad_front >= 0 && pad_front <= K - 1, "SequnetRes: layer {}: pad_front {} outside [0, {}]", l.name,
            pad_front, K - 1);
      check(2 * T - K + pad_front >= 1, "SequnetRes: layer {}: {} low-resolution steps give no output (kernel {})",
            l.name, T, K);
      r = gated(crop_front_back(conv_transpose1d(z, wf, bf, 2), front, back),
                crop_front_back(conv_transpose1d(z, wg, bg, 2), front, back));
      identity = duplicate(x);
      break;
    }
  }
  check(identity.size(2) >= r.size(2), "SequnetRes: layer {}: identity ({} steps) shorter than the residual ({})",
        l.name, identity.size(2), r.size(2));
  return add(crop(identity, r.size(2)), r);
}

}  // namespace

ResLayout make_res_layout(const SequnetResConfig& cfg, const std::string& prefix) {
  const int64_t n = cfg.num_levels - 1, D = cfg.depth, C = cfg.num_channels;
  ResLayout L;
  L.down_convs.resize(size_t(n));
  L.up_convs.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const std::string p = fmt::format("{}downsampling_blocks.{}.", prefix, i);
    for (int64_t j = 0; j < D; ++j)
      L.down_convs[size_t(i)].push_back({fmt::format("{}convs.{}.", p, j), int64_t(1) << i, ResLayerKind::Plain, C});
    L.downconv.push_back({p + "downconv.", int64_t(1) << (i + 1), ResLayerKind::Decimate, C});
  }
  for (int64_t i = 0; i < n; ++i) {
    const std::string p = fmt::format("{}upsampling_blocks.{}.", prefix, i);
    L.upconv.push_back({p + "upconv.", int64_t(1) << i, ResLayerKind::Upsample, C});
    for (int64_t j = 0; j < D; ++j)
      L.up_convs[size_t(i)].push_back({fmt::format("{}convs.{}.", p, j), int64_t(1) << i, ResLayerKind::Plain, 2 * C});
  }
  for (int64_t j = 0; j < D; ++j)
    L.bottlenecks.push_back({fmt::format("{}bottlenecks.{}.", prefix, j), int64_t(1) << n, ResLayerKind::Plain, C});
  return L;
}

SequnetRes::SequnetRes(SequnetResConfig cfg, Generator& gen, const std::string& prefix)
    : cfg_(std::move(cfg)), prefix_(prefix) {
  check(cfg_.num_inputs >= 1, "SequnetRes: num_inputs must be >= 1, got {}", cfg_.num_inputs);
  check(cfg_.num_outputs >= 1, "SequnetRes: num_outputs must be >= 1, got {}", cfg_.num_outputs);
  check(cfg_.num_channels >= 1, "SequnetRes: num_channels must be >= 1, got {}", cfg_.num_channels);
  check(cfg_.kernel_size >= 1 && cfg_.kernel_size % 2 == 1, "SequnetRes: kernel_size must be odd and >= 1, got {}",
        cfg_.kernel_size);
  check(cfg_.num_levels >= 1 && cfg_.num_levels <= 40, "SequnetRes: num_levels must be in [1, 40], got {}",
        cfg_.num_levels);
  check(cfg_.depth >= 1, "SequnetRes: depth must be >= 1, got {}", cfg_.depth);
  if (cfg_.target_output_size) {
    check(*cfg_.target_output_size >= 1, "SequnetRes: target_output_size must be >= 1, got {}",
          *cfg_.target_output_size);
    ResidualPlan plan = plan_residual_sequnet(cfg_.kernel_size, cfg_.num_levels, cfg_.depth, *cfg_.target_output_size);
    input_size_ = plan.input_size;
    output_size_ = plan.output_size;
    pad_front_ = std::move(plan.pad_front);
  } else {
    (void)plan_residual_sequnet(cfg_.kernel_size, cfg_.num_levels, cfg_.depth, 1);  // validates the config
  }

  const int64_t C = cfg_.num_channels, K = cfg_.kernel_size;
  const ResLayout L = make_res_layout(cfg_, prefix_);
  for (size_t i = 0; i < L.downconv.size(); ++i) {
    for (const ResLayer& l : L.down_convs[i]) add_layer_params(params_, l, C, K, gen);
    add_layer_params(params_, L.downconv[i], C, K, gen);
  }
  for (size_t i = 0; i < L.upconv.size(); ++i) {
    add_layer_params(params_, L.upconv[i], C, K, gen);
    for (const ResLayer& l : L.up_convs[i]) add_layer_params(params_, l, C, K, gen);
  }
  for (const ResLayer& l : L.bottlenecks) add_layer_params(params_, l, C, K, gen);
  const int64_t fan_in = cfg_.num_inputs * K;
  params_.add(prefix_ + "input_conv.weight", default_uniform_init({C, cfg_.num_inputs, K}, fan_in, gen));
  params_.add(prefix_ + "input_conv.bias", default_uniform_init({C}, fan_in, gen));
  params_.add(prefix_ + "output_conv.1.weight", default_uniform_init({cfg_.num_outputs, C, 1}, C, gen));
  params_.add(prefix_ + "output_conv.1.bias", default_uniform_init({cfg_.num_outputs}, C, gen));
}

int64_t SequnetRes::input_size() const {
  check(cfg_.target_output_size.has_value(),
        "SequnetRes::input_size: no target_output_size, the plan is made per forward for the actual length");
  return input_size_;
}

int64_t SequnetRes::output_size() const {
  check(cfg_.target_output_size.has_value(),
        "SequnetRes::output_size: no target_output_size, output length = input length");
  return output_size_;
}

std::string SequnetRes::describe() const {
  std::string plan = cfg_.target_output_size
                         ? fmt::format("plan {} -> {} steps (target {}), pad_front [{}]", input_size_, output_size_,
                                       *cfg_.target_output_size, fmt::join(pad_front_, ", "))
                         : std::string("planned per forward, output length = input length");
  return fmt::format(
      "SequnetRes(residual, {} in, {} channels, {} levels, depth {}, {} out, kernel {}, cycles {}, {}; {} parameters)",
      cfg_.num_inputs, cfg_.num_channels, cfg_.num_levels, cfg_.depth, cfg_.num_outputs, cfg_.kernel_size, cycles(),
      plan, params_.count());
}

Variable SequnetRes::forward(const Variable& x_in) { return forward(x_in, LayerInputObserver()); }

Variable SequnetRes::forward(const Variable& x_in, const LayerInputObserver& observe) {
  check(x_in.defined(), "SequnetRes: input is undefined");
  if (!(x_in.dim() == 3 && x_in.size(1) == cfg_.num_inputs && x_in.size(2) >= 1))
    fail(fmt::format("SequnetRes: expected input (N, {}, T) with T >= 1, got {} ({})", cfg_.num_inputs,
                     shape_str(x_in.shape()), describe()));
  const Variable& w_in = params_.get(prefix_ + "input_conv.weight");
  check(x_in.dtype() == w_in.dtype(), "SequnetRes: input dtype {} differs from the parameters' dtype {}",
        dtype_name(x_in.dtype()), dtype_name(w_in.dtype()));

  const int64_t K = cfg_.kernel_size, T = x_in.size(2);
  const bool fixed = cfg_.target_output_size.has_value();
  Variable x = x_in;
  std::vector<int64_t> pad_front;
  if (fixed) {
    if (!(T == input_size_))
      fail(fmt::format("SequnetRes: input length must be exactly the planned {} steps, got {} ({})", input_size_, T,
                       describe()));
    pad_front = pad_front_;
  } else {
    ResidualPlan plan = plan_residual_sequnet(K, cfg_.num_levels, cfg_.depth, T);
    check(plan.input_size >= T && plan.output_size >= T,
          "SequnetRes: plan for T = {} gave {} -> {} steps (expected both >= T)", T, plan.input_size,
          plan.output_size);
    if (plan.input_size > T) x = pad_time(x, plan.input_size - T);
    pad_front = std::move(plan.pad_front);
  }

  if (observe) observe(prefix_ + "input_conv.", x.data(), Tensor());
  const Variable h = conv1d(x, w_in, params_.get(prefix_ + "input_conv.bias"));
  Variable y = trunk(h, pad_front, observe);
  if (!fixed) return crop(y, T);
  return y;
}

Variable SequnetRes::forward_codes(const Tensor& codes) {
  if (!(codes.dim() == 2 && codes.dtype() == DType::I64))
    fail(fmt::format("SequnetRes: expected codes i64 (N, T), got {} ({})", codes.describe(), describe()));
  if (!cfg_.target_output_size.has_value())
    fail(fmt::format("SequnetRes: forward_codes needs a planned output size (training's fixed windows) ({})",
                     describe()));
  if (!(codes.size(1) == input_size_))
    fail(fmt::format("SequnetRes: codes must be exactly the planned {} steps long, got {} ({})", input_size_,
                     codes.size(1), describe()));
  const Variable h =
      one_hot_conv1d(codes, params_.get(prefix_ + "input_conv.weight"), params_.get(prefix_ + "input_conv.bias"));
  return trunk(h, pad_front_, LayerInputObserver());
}

// Everything after the input conv: the down blocks, the bottleneck, the up blocks and the output
// conv (its output not yet cropped).
Variable SequnetRes::trunk(Variable h, const std::vector<int64_t>& pad_front, const LayerInputObserver& observe) {
  const int64_t K = cfg_.kernel_size;
  const ResLayout L = make_res_layout(cfg_, prefix_);
  const size_t n = L.downconv.size();
  check(pad_front.size() == n, "SequnetRes: plan has {} pad_front entries for {} up blocks", pad_front.size(), n);

  // Every gated layer goes through `layer`, which shows its inputs to the observer first.
  auto layer = [&](const ResLayer& l, const Variable& in, const Variable& cond, int64_t pad) {
    if (observe) observe(l.name, in.data(), cond.defined() ? cond.data() : Tensor());
    return apply_layer(params_, l, in, cond, K, pad);
  };
  std::vector<Variable> shortcuts(n);
  for (size_t i = 0; i < n; ++i) {
    for (const ResLayer& l : L.down_convs[i]) h = layer(l, h, Variable(), 0);
    shortcuts[i] = h;
    h = layer(L.downconv[i], h, Variable(), 0);
  }
  for (const ResLayer& l : L.bottlenecks) h = layer(l, h, Variable(), 0);
  for (size_t i = n; i-- > 0;) {
    Variable u = layer(L.upconv[i], h, Variable(), pad_front[i]);
    check(shortcuts[i].size(2) >= u.size(2),
          "SequnetRes: up block {}: shortcut ({} steps) shorter than the upsampled features ({} steps)", i,
          shortcuts[i].size(2), u.size(2));
    Variable g = crop(shortcuts[i], u.size(2));
    // The skip features are the residual stream; the upsampled ones condition the gated branch.
    for (const ResLayer& l : L.up_convs[i]) g = layer(l, g, crop(u, g.size(2)), 0);
    h = g;
  }
  return conv1d(relu(h), params_.get(prefix_ + "output_conv.1.weight"), params_.get(prefix_ + "output_conv.1.bias"));
}
}  // namespace seqnet
