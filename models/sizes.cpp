// models/sizes.cpp — closed-form sizes of the four models (see the header). Each function follows
// its model's constructor in the same order as MODELS.md's parameter-count formula.
#include "models/sizes.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"

namespace seqnet {

int64_t CheckedSize::add(int64_t a, int64_t b) const {
  int64_t r;
  check(!__builtin_add_overflow(a, b, &r), "{}: sizes overflow int64 ({} + {})", who, a, b);
  return r;
}
int64_t CheckedSize::mul(int64_t a, int64_t b) const {
  int64_t r;
  check(!__builtin_mul_overflow(a, b, &r), "{}: sizes overflow int64 ({} × {})", who, a, b);
  return r;
}

namespace {
void check_positive(const char* who, const char* what, int64_t v) {
  check(v >= 1, "{}: {} must be >= 1, got {}", who, what, v);
}
}  // namespace

// Per block: C_out(C_in K + 2) + C_out(C_out K + 2) + [C_in ≠ C_out] C_out(C_in + 1) (weight_v,
// weight_g and bias of two weight-normed convs, the 1×1 downsample). Features: the two convs'
// outputs (and the downsample's), plus the block's sum, over the steps each is computed on: all T,
// or for the newest `newest` outputs (TCN::forward_newest) block i's n_i, its conv1's
// min(T, n_i + P_i), with n_{L−1} = newest and n_{i−1} = min(T, n_i + 2P_i), P_i = (K − 1)·2^i.
ModelSize tcn_size(int64_t inputs, const std::vector<int64_t>& channels, int64_t kernel, int64_t T, int64_t newest) {
  const CheckedSize c{"TCN"};
  check_positive("TCN", "the kernel size", kernel), check_positive("TCN", "the window", T);
  check(newest >= 0 && newest <= T, "TCN: the newest steps must be in 0..{} (0: all), got {}", T, newest);
  check(channels.size() <= 62, "TCN: at most 62 levels, got {}", channels.size());
  std::vector<int64_t> need(channels.size(), T);
  if (newest > 0 && !need.empty()) {
    need.back() = newest;
    for (size_t i = need.size() - 1; i > 0; --i)
      need[i - 1] = std::min(T, c.add(need[i], c.mul(2, c.mul(kernel - 1, int64_t{1} << i))));
  }
  ModelSize s;
  int64_t in = inputs;
  for (size_t i = 0; i < channels.size(); ++i) {
    const int64_t out = channels[i];
    check_positive("TCN", "every channel count", out);
    const int64_t n = need[i], m = std::min(T, c.add(n, c.mul(kernel - 1, int64_t{1} << i)));
    s.parameters = c.add(s.parameters, c.mul(out, c.add(c.mul(in, kernel), 2)));
    s.parameters = c.add(s.parameters, c.mul(out, c.add(c.mul(out, kernel), 2)));
    s.features = c.add(s.features, c.add(c.mul(out, m), c.mul(2, out, n)));
    s.macs = c.add(s.macs, c.add(c.mul(out, in, c.mul(kernel, m)), c.mul(out, out, c.mul(kernel, n))));
    if (in != out) {
      s.parameters = c.add(s.parameters, c.mul(out, c.add(in, 1)));
      s.features = c.add(s.features, c.mul(out, n));
      s.macs = c.add(s.macs, c.mul(out, in, n));
    }
    in = out;
  }
  return s;
}

// R·classes + Σ_layers [2·D·R·K + R·D + S·D] + S² + S + classes·S + classes, plus the layers'
// biases R + Σ (2D + R + S) when bias. Features per layer (each layer shortens the sequence by
// d(K − 1)): filter and gate outputs, their product and the residual output.
ModelSize wavenet_size(int64_t layers, int64_t blocks, int64_t D, int64_t R, int64_t S, int64_t classes,
                       int64_t kernel, bool bias, int64_t T) {
  const CheckedSize c{"WaveNet"};
  for (auto [what, v] : {std::pair{"layers", layers}, {"blocks", blocks}, {"channels", D}, {"channels", R},
                         {"skip channels", S}, {"classes", classes}, {"the kernel size", kernel}, {"the window", T}})
    check_positive("WaveNet", what, v);
  check(layers <= 62 && blocks <= (int64_t{1} << 20), "WaveNet: at most 62 layers and 2^20 blocks, got {} and {}",
        layers, blocks);
  const int64_t n = c.mul(layers, blocks);
  const int64_t per_layer = c.add(c.add(c.mul(2, D, c.mul(R, kernel)), c.mul(R, D)), c.mul(S, D));
  ModelSize s;
  s.parameters = c.add(c.mul(R, classes), c.mul(n, per_layer));
  s.parameters = c.add(s.parameters, c.add(c.add(c.mul(S, S), S), c.add(c.mul(classes, S), classes)));
  if (bias) s.parameters = c.add(s.parameters, c.add(R, c.mul(n, c.add(c.mul(2, D), c.add(R, S)))));
  // The skip outputs are only summed (their values are never needed for backward): one running
  // sum of S channels, not one per layer.
  // Multiply-adds as models/wavenet.cpp runs them: the gated convs and the residual conv on each
  // layer's whole length (not the last layer's residual conv, whose output is unused), the skip
  // conv on the output's length only (only those steps of the skip sum reach the output).
  const int64_t layer_features = c.add(c.mul(3, D), R);
  const int64_t gated_macs = c.mul(2, D, c.mul(R, kernel));
  int64_t t = T;
  s.features = c.mul(R, T);  // start conv
  s.macs = c.mul(R, classes, T);
  for (int64_t b = 0; b < blocks; ++b)
    for (int64_t l = 0, d = 1; l < layers; ++l, d = l < 62 ? d * 2 : d) {
      t = std::max<int64_t>(t - c.mul(d, kernel - 1), 1);
      const bool last = b + 1 == blocks && l + 1 == layers;
      s.features = c.add(s.features, c.mul(layer_features, t));
      s.macs = c.add(s.macs, c.mul(last ? gated_macs : c.add(gated_macs, c.mul(R, D)), t));
    }
  s.macs = c.add(s.macs, c.mul(n, c.mul(S, D), t));       // the skip convs, t = the output's length
  s.features = c.add(s.features, c.mul(c.mul(3, S), t));  // the skip sum, end convs
  s.macs = c.add(s.macs, c.mul(c.mul(S, c.add(S, classes)), t));
  return s;
}

// Σ_i [C_i(a_i K + 1) + C_i(C_i K + 1)] + Σ_i [C_{i+1}(C_{i+1} K + 1) + C_i((C_{i+1} + C_i) K + 1)]
// + C_{L−1}(C_{L−2} K + 1) + outputs(C_0 + 1). Lengths follow the planner's rules (MODELS.md §4.1,
// P = K − 1 padded, 0 valid): in valid mode the up path is much shorter than the down path.
ModelSize sequnet_size(int64_t inputs, const std::vector<int64_t>& ch, int64_t outputs, int64_t kernel, int64_t T,
                       bool padded) {
  const CheckedSize c{"Seq-U-Net"};
  check(ch.size() >= 2, "Seq-U-Net: needs at least 2 levels, got {}", ch.size());
  check_positive("Seq-U-Net", "the kernel size", kernel), check_positive("Seq-U-Net", "the window", T);
  for (int64_t w : ch) check_positive("Seq-U-Net", "every channel count", w);
  const size_t n = ch.size() - 1;
  const int64_t K = kernel, P = padded ? K - 1 : 0;
  ModelSize s;
  std::vector<int64_t> shortcut_len(n);
  int64_t t = T;
  for (size_t i = 0; i < n; ++i) {
    const int64_t a = i == 0 ? inputs : ch[i - 1], Ci = ch[i], Cn = ch[i + 1];
    s.parameters = c.add(s.parameters, c.mul(Ci, c.add(c.mul(a, K), 1)));               // conv1
    s.parameters = c.add(s.parameters, c.mul(Ci, c.add(c.mul(Ci, K), 1)));              // strided conv2
    s.parameters = c.add(s.parameters, c.mul(Cn, c.add(c.mul(Cn, K), 1)));              // transposed conv
    s.parameters = c.add(s.parameters, c.mul(Ci, c.add(c.mul(c.add(Cn, Ci), K), 1)));   // up conv2
    shortcut_len[i] = std::max<int64_t>(t - K + 1 + P, 1);
    t = std::max<int64_t>((shortcut_len[i] - K + P) / 2 + 1, 1);
    s.features = c.add(s.features, c.add(c.mul(Ci, shortcut_len[i]), c.mul(Ci, t)));
    s.macs = c.add(s.macs, c.add(c.mul(Ci, a, c.mul(K, shortcut_len[i])), c.mul(Ci, Ci, c.mul(K, t))));
  }
  const int64_t bottleneck_in = t;
  t = std::max<int64_t>(t - K + 1 + P, 1);  // bottleneck
  s.features = c.add(s.features, c.mul(ch[n], t));
  s.macs = c.add(s.macs, c.mul(ch[n], ch[n - 1], c.mul(K, std::min(t, bottleneck_in))));
  for (size_t k = n; k-- > 0;) {  // up blocks, innermost first
    const int64_t u = std::max<int64_t>(c.add(c.mul(2, t), P - K), 1);
    s.features = c.add(s.features, c.mul(u, c.add(c.mul(2, ch[k + 1]), ch[k])));  // upsampled, concat
    s.macs = c.add(s.macs, c.mul(ch[k + 1], ch[k + 1], c.mul(K, t)));               // transposed conv
    t = std::max<int64_t>(u - K + 1 + P, 1);
    s.features = c.add(s.features, c.mul(ch[k], t));
    s.macs = c.add(s.macs, c.mul(ch[k], c.add(ch[k], ch[k + 1]), c.mul(K, t)));
  }
  s.parameters = c.add(s.parameters, c.mul(ch[n], c.add(c.mul(ch[n - 1], K), 1)));  // bottleneck
  s.parameters = c.add(s.parameters, c.mul(outputs, c.add(ch[0], 1)));              // output conv
  s.features = c.add(s.features, c.mul(outputs, t));
  s.macs = c.add(s.macs, c.mul(outputs, ch[0], t));
  return s;
}

// C(inputs·K + 1) + n·[(D+1)·2C(CK+1) + 2C(CK+1) + D·2C(2CK+1)] + D·2C(CK+1) + outputs(C+1).
// A gated layer produces filter, gate, their product and the residual sum: 4C per step (the
// conditioned up-block layers also the 2C concatenation). Lengths as in MODELS.md §8 (valid).
ModelSize sequnet_res_size(int64_t inputs, int64_t C, int64_t levels, int64_t depth, int64_t outputs, int64_t kernel,
                           int64_t T) {
  const CheckedSize c{"residual Seq-U-Net"};
  for (auto [what, v] : {std::pair{"channels", C}, {"levels", levels}, {"depth", depth}, {"outputs", outputs},
                         {"the kernel size", kernel}, {"the window", T}})
    check_positive("residual Seq-U-Net", what, v);
  check(levels <= 62 && depth <= (int64_t{1} << 20),
        "residual Seq-U-Net: at most 62 levels and depth 2^20, got {} and {}", levels, depth);
  const int64_t n = levels - 1, K = kernel;
  const int64_t plain = c.mul(2, C, c.add(c.mul(C, K), 1));          // a C → C gated layer
  const int64_t cond = c.mul(2, C, c.add(c.mul(c.mul(2, C), K), 1));  // a 2C → C gated layer
  ModelSize s;
  s.parameters = c.mul(C, c.add(c.mul(inputs, K), 1));
  s.parameters = c.add(s.parameters, c.mul(n, c.add(c.add(c.mul(c.add(depth, 1), plain), plain), c.mul(depth, cond))));
  s.parameters = c.add(s.parameters, c.add(c.mul(depth, plain), c.mul(outputs, c.add(C, 1))));
  const int64_t gated = c.mul(4, C);
  const int64_t plain_macs = c.mul(2, C, c.mul(C, K)), cond_macs = c.mul(2, plain_macs);  // per output step
  auto shrink = [&](int64_t t) { return std::max<int64_t>(t - K + 1, 1); };
  auto layer = [&](int64_t t, int64_t features, int64_t macs) {
    s.features = c.add(s.features, c.mul(features, t));
    s.macs = c.add(s.macs, c.mul(macs, t));
  };
  int64_t t = shrink(T);
  layer(t, C, c.mul(C, inputs, K));  // input conv
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < depth; ++j) t = shrink(t), layer(t, gated, plain_macs);
    t = std::max<int64_t>((t - K) / 2 + 1, 1);  // decimating layer
    layer(t, gated, plain_macs);
  }
  for (int64_t j = 0; j < depth; ++j) t = shrink(t), layer(t, gated, plain_macs);
  for (int64_t i = 0; i < n; ++i) {
    layer(t, 0, plain_macs);                        // upsampling layer: its input length
    t = std::max<int64_t>(c.mul(2, t) - K + 1, 1);  // (pad_front 0 or 1: ignored)
    layer(t, gated, 0);
    for (int64_t j = 0; j < depth; ++j) t = shrink(t), layer(t, c.mul(6, C), cond_macs);
  }
  layer(t, c.add(C, outputs), c.mul(outputs, C));  // relu, output conv
  return s;
}

}  // namespace seqnet
