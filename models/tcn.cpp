// models/tcn.cpp — the locuslab TCN (`tcn.TemporalConvNet`), MODELS.md §5.
#include "models/tcn.h"

#include <cmath>

#include "core/error.h"
#include "models/planning.h"
#include "ops/conv.h"
#include "ops/dropout.h"
#include "ops/ops.h"
#include "ops/weight_norm.h"

namespace seqnet {

namespace {

std::string level_prefix(const std::string& prefix, size_t i) { return fmt::format("{}network.{}.", prefix, i); }

// g = ‖v[o]‖ per output channel, shape (C_out, 1, 1): with it W = g·v/‖v‖ = v (PyTorch's
// weight_norm initialisation).
Tensor channel_norms(const Tensor& v) {
  const int64_t C = v.size(0), R = v.numel() / C;
  Tensor vd = v.to(DType::F64).contiguous();
  Tensor g = Tensor::empty({C, 1, 1}, DType::F64);
  const double* pv = vd.data<double>();
  double* pg = g.data<double>();
  for (int64_t o = 0; o < C; ++o) {
    double ss = 0;
    for (int64_t k = 0; k < R; ++k) ss += pv[o * R + k] * pv[o * R + k];
    pg[o] = std::sqrt(ss);
  }
  return g.to(v.dtype());
}

}  // namespace

TCN::TCN(TCNConfig cfg, Generator& gen, const std::string& prefix) : cfg_(std::move(cfg)), prefix_(prefix) {
  check(cfg_.num_inputs >= 1, "TCN: num_inputs must be >= 1, got {}", cfg_.num_inputs);
  check(!cfg_.num_channels.empty(), "TCN: num_channels must list at least one level");
  for (int64_t c : cfg_.num_channels)
    check(c >= 1, "TCN: every channel count must be >= 1, got [{}]", fmt::join(cfg_.num_channels, ", "));
  check(cfg_.kernel_size >= 1, "TCN: kernel_size must be >= 1, got {}", cfg_.kernel_size);
  check(cfg_.dropout >= 0.0 && cfg_.dropout <= 1.0, "TCN: dropout must be in [0, 1], got {}", cfg_.dropout);
  (void)receptive_field();  // validates the number of levels (and that the RF fits in int64)

  const int64_t K = cfg_.kernel_size;
  for (size_t i = 0; i < cfg_.num_channels.size(); ++i) {
    const std::string p = level_prefix(prefix_, i);
    const int64_t c_in = i == 0 ? cfg_.num_inputs : cfg_.num_channels[i - 1];
    const int64_t c_out = cfg_.num_channels[i];
    // Weight-normed convs: v ~ default conv init, g = ‖v‖, bias ~ default init (fan_in = C_in·K).
    for (int conv = 1; conv <= 2; ++conv) {
      const int64_t fan_in = (conv == 1 ? c_in : c_out) * K;
      Tensor v = default_uniform_init({c_out, conv == 1 ? c_in : c_out, K}, fan_in, gen);
      Tensor b = default_uniform_init({c_out}, fan_in, gen);
      const std::string name = fmt::format("{}conv{}.", p, conv);
      params_.add(name + "bias", b);
      params_.add(name + "weight_g", channel_norms(v));
      params_.add(name + "weight_v", v);
    }
    // nn.Sequential `net` holds the same modules: net.0 = conv1, net.4 = conv2.
    for (const char* t : {"bias", "weight_g", "weight_v"}) params_.alias(p + "net.0." + t, p + "conv1." + t);
    for (const char* t : {"bias", "weight_g", "weight_v"}) params_.alias(p + "net.4." + t, p + "conv2." + t);
    if (c_in != c_out) {
      Tensor w = Tensor::randn({c_out, c_in, 1}, DType::F32, gen);
      w = tensor_ops::scale_shift(w, 0.01, 0.0);  // N(0, 0.01²)
      params_.add(p + "downsample.weight", w);
      params_.add(p + "downsample.bias", default_uniform_init({c_out}, c_in, gen));
    }
  }
}

int64_t TCN::receptive_field() const {
  return tcn_receptive_field(cfg_.kernel_size, int64_t(cfg_.num_channels.size()));
}

Variable TCN::forward(const Variable& x) { return forward_impl(x, ConvInputObserver(), -1); }

Variable TCN::forward(const Variable& x, const ConvInputObserver& observe) { return forward_impl(x, observe, -1); }

Variable TCN::forward_newest(const Variable& x, int64_t newest) {
  check(x.defined(), "TCN: input is undefined");
  if (!(x.dim() == 3 && newest >= 1 && newest <= x.size(2)))
    fail(fmt::format("TCN: asked for the newest {} output steps of input {}; expected (N, C, T) and 1 <= newest <= T",
                     newest, x.data().describe()));
  return forward_impl(x, ConvInputObserver(), newest);
}

// newest = −1: every step. Otherwise need[i] = the steps of level i's output that are computed
// (the newest ones): need[L−1] = newest, need[i−1] = min(T, need[i] + 2P_i).
Variable TCN::forward_impl(const Variable& x, const ConvInputObserver& observe, int64_t newest) {
  check(x.defined(), "TCN: input is undefined");
  if (!(x.dim() == 3 && x.size(1) == cfg_.num_inputs && x.size(2) >= 1))
    fail(fmt::format("TCN: expected input (N, {}, T) with T >= 1 for {}, got {}", cfg_.num_inputs, describe(),
                     x.data().describe()));
  const int64_t K = cfg_.kernel_size, T = x.size(2), L = int64_t(cfg_.num_channels.size());
  std::vector<int64_t> need(size_t(L), T);
  if (newest != -1) {
    need.back() = newest;
    for (int64_t i = L - 1; i > 0; --i)
      need[size_t(i - 1)] = std::min(T, need[size_t(i)] + 2 * (K - 1) * (int64_t(1) << i));
  }
  Variable h = x;
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = level_prefix(prefix_, size_t(i));
    const int64_t d = int64_t(1) << i;
    const int64_t P = (K - 1) * d;  // causal: front padding only (pad both + Chomp1d ≡ this)
    // The newest `len` steps of the causal conv of `in`, which holds the newest in.size(2) of the
    // T steps: it reads the newest len + P of them, and pads with zeros only in front of step 0
    // (in is then all T steps).
    auto wn_conv = [&](const Variable& in, const std::string& conv, int64_t len) {
      Variable w = weight_norm(params_.get(p + conv + ".weight_g"), params_.get(p + conv + ".weight_v"));
      const int64_t have = in.size(2), use = std::min(have, len + P);
      check(use == len + P || have == T, "TCN: level {} has {} of {} steps, fewer than the {} its {} reads", i, have, T,
            len + P, conv);
      return conv1d(use < have ? crop(in, use) : in, w, params_.get(p + conv + ".bias"), 1, d, len + P - use, 0);
    };
    const int64_t n = need[size_t(i)], m = std::min(T, n + P);  // the block's output steps; conv1's
    if (observe) observe(i, 1, h.data());
    Variable y = relu_dropout(wn_conv(h, "conv1", m), cfg_.dropout, training_, generator());
    if (observe) observe(i, 2, y.data());
    y = relu_dropout(wn_conv(y, "conv2", n), cfg_.dropout, training_, generator());
    const Variable h_n = n < h.size(2) ? crop(h, n) : h;
    const Variable res = params_.contains(p + "downsample.weight")
                             ? conv1d(h_n, params_.get(p + "downsample.weight"), params_.get(p + "downsample.bias"))
                             : h_n;
    h = add_relu(y, res);
  }
  return h;
}

std::string TCN::describe() const {
  return fmt::format("TCN({} → [{}], K={}, dropout {}, RF {})", cfg_.num_inputs, fmt::join(cfg_.num_channels, ", "),
                     cfg_.kernel_size, cfg_.dropout, receptive_field());
}

}  // namespace seqnet
