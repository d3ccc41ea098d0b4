// tests/op_cases.cpp — the table of op cases and the parity harness (see op_cases.h).
#include "tests/op_cases.h"

#include "core/device_api.h"
#include "ops/backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

namespace seqnet::testing {
namespace {

using V = std::vector<Variable>;
using Binary = Variable (*)(const Variable&, const Variable&);

Tensor ids(const std::vector<int64_t>& v, const Shape& s) { return Tensor::from_vector<int64_t>(v, s); }

// Values in ±[0.1, 1): away from the kink of relu / leaky_relu at 0.
Tensor away_from_zero(const Shape& s, uint64_t seed) {
  Tensor x = rand64(s, seed, 0.1, 1.0), sign = rand64(s, seed + 1);
  for (int64_t i = 0; i < x.numel(); ++i)
    if (sign.data<double>()[i] < 0) x.data<double>()[i] *= -1;
  return x;
}

const char* name(Reduction r) { return r == Reduction::Mean ? "mean" : r == Reduction::Sum ? "sum" : "none"; }

struct Table {
  std::vector<OpCase> cases;
  // needs_grad defaults to "every float input".
  void add(std::string op, std::string label, OpFn fn, std::vector<Tensor> in, std::vector<bool> needs_grad = {}) {
    if (needs_grad.empty())
      for (const Tensor& t : in) needs_grad.push_back(is_floating(t.dtype()));
    cases.push_back({std::move(op), std::move(label), std::move(in), std::move(needs_grad), std::move(fn), {}});
  }
};

void elementwise_and_activations(Table& t) {
  const Shape nct{3, 4, 7};
  for (const auto& [op, f] : std::vector<std::pair<std::string, Binary>>{
           {"add", &seqnet::add}, {"sub", &seqnet::sub}, {"mul", &seqnet::mul}, {"div", &seqnet::div}}) {
    auto fn = [f = f](const V& v) { return f(v[0], v[1]); };
    for (const Shape& other : {nct, Shape{4, 1}, Shape{}, Shape{7}}) {  // divisors kept in [0.5, 2)
      t.add(op, "[3, 4, 7] with " + shape_str(other), fn, {rand64(nct, 1), rand64(other, 2, 0.5, 2.0)});
      t.add(op, shape_str(other) + " broadcast first", fn, {rand64(other, 3, 0.5, 2.0), rand64(nct, 4, 0.5, 2.0)});
    }
    t.add(op, "both broadcast: [2, 1, 5] with [3, 1]", fn, {rand64({2, 1, 5}, 5), rand64({3, 1}, 6, 0.5, 2.0)});
    // A bias over many positions: few outputs of the gradient's sum, each over 384 elements (the
    // CUDA sum_to's one-block-per-output path).
    t.add(op, "[4, 96, 3] with [3]", fn, {rand64({4, 96, 3}, 7), rand64({3}, 8, 0.5, 2.0)});
  }
  // That path with the last axis summed too: b's gradient sums N = 4 and T = 97 (388 elements per
  // output, the reduced axes not adjacent).
  t.add("add", "[4, 3, 97] with [3, 1]", [](const V& v) { return add(v[0], v[1]); },
        {rand64({4, 3, 97}, 9), rand64({3, 1}, 10)});
  const Shape s{2, 3, 5};
  t.add("neg", "[2, 3, 5]", [](const V& v) { return neg(v[0]); }, {rand64(s, 1)});
  t.add("exp", "[2, 3, 5]", [](const V& v) { return exp(v[0]); }, {rand64(s, 2)});
  t.add("log", "[2, 3, 5] in [0.2, 3)", [](const V& v) { return log(v[0]); }, {rand64(s, 3, 0.2, 3.0)});
  t.add("tanh", "[2, 3, 5] in [-2, 2)", [](const V& v) { return tanh(v[0]); }, {rand64(s, 4, -2, 2)});
  t.add("sigmoid", "[2, 3, 5] in [-3, 3)", [](const V& v) { return sigmoid(v[0]); }, {rand64(s, 5, -3, 3)});
  t.add("relu", "[2, 3, 5] away from 0", [](const V& v) { return relu(v[0]); }, {away_from_zero(s, 6)});
  for (double slope : {0.01, 0.3})
    t.add("leaky_relu", fmt::format("slope {} away from 0", slope),
          [slope](const V& v) { return leaky_relu(v[0], slope); }, {away_from_zero(s, 6)});
  t.add("mul_scalar", "(x * 3 + 2) / 4 - 1", [](const V& v) { return (v[0] * 3.0 + 2.0) / 4.0 - 1.0; },
        {rand64(s, 8)});
  t.add("add_scalar", "x + 2.5 on [1, 1, 9]", [](const V& v) { return add_scalar(v[0], 2.5); }, {rand64({1, 1, 9}, 9)});
  for (const Shape& g : {Shape{2, 3, 5}, Shape{1, 4, 6}}) {
    t.add("gated", shape_str(g), [](const V& v) { return gated(v[0], v[1]); }, {rand64(g, 29, -3, 3), rand64(g, 30, -3, 3)});
    t.add("gated", shape_str(g) + " gate only", [](const V& v) { return gated(v[0], v[1]); },
          {rand64(g, 31), rand64(g, 32)}, {false, true});
  }
  // Sums in ±[0.06, 1.04): away from relu's kink.
  auto add_relu_fn = [](const V& v) { return add_relu(v[0], v[1]); };
  t.add("add_relu", "[2, 3, 5]", add_relu_fn, {away_from_zero(s, 40), rand64(s, 42, -0.04, 0.04)});
  t.add("add_relu", "[3, 4, 7], b only", add_relu_fn, {rand64(nct, 43, -0.04, 0.04), away_from_zero(nct, 44)},
        {false, true});
  t.add("add_relu", "views: transposed + cropped",
        [](const V& v) { return add_relu(transpose(v[0], 1, 2), crop(v[1], 5)); },
        {away_from_zero({2, 5, 3}, 45), rand64({2, 3, 7}, 47, -0.04, 0.04)});
  // More elements than one CUDA block of threads covers (1 065 > 256).
  t.add("add_relu", "[3, 5, 71]", add_relu_fn, {away_from_zero({3, 5, 71}, 48), rand64({3, 5, 71}, 49, -0.04, 0.04)});
  t.add("gated", "views: to_nct and crop", [](const V& v) { return gated(to_nct(v[0]), crop(v[1], 4)); },
        {rand64({2, 4, 3}, 33), rand64({2, 3, 6}, 34)});
}

void reductions_matmul_views(Table& t) {
  const Shape s{3, 5, 7};
  t.add("sum", "all of [3, 5, 7]", [](const V& v) { return sum(v[0]); }, {rand64(s, 1)});
  t.add("mean", "all of [3, 5, 7]", [](const V& v) { return mean(v[0]); }, {rand64(s, 2)});
  for (int d : {0, 1, 2, -1}) {
    t.add("sum", fmt::format("dim {}", d), [d](const V& v) { return sum(v[0], d); }, {rand64(s, 3)});
    t.add("mean", fmt::format("dim {} keepdim", d), [d](const V& v) { return mean(v[0], d, true); }, {rand64(s, 4)});
  }
  // 300 elements per output: the CUDA sum_to's one-block-per-output path, last axis summed.
  t.add("mean", "dim -1 of [3, 5, 300]", [](const V& v) { return mean(v[0], -1); }, {rand64({3, 5, 300}, 5)});
  auto mm = [](const V& v) { return matmul(v[0], v[1]); };
  t.add("matmul", "2-D [5, 7] x [7, 3]", mm, {rand64({5, 7}, 1), rand64({7, 3}, 2)});
  t.add("matmul", "3-D x 2-D", mm, {rand64({2, 5, 7}, 3), rand64({7, 3}, 4)});
  t.add("matmul", "batched [3, 5, 4] x [3, 4, 2]", mm, {rand64({3, 5, 4}, 5), rand64({3, 4, 2}, 6)});
  t.add("matmul", "transposed operands", [](const V& v) { return matmul(transpose(v[0], 0, 1), transpose(v[1], 0, 1)); },
        {rand64({7, 5}, 7), rand64({3, 7}, 8)});
  t.add("linear", "[3, 5, 7] with bias", [](const V& v) { return linear(v[0], v[1], v[2]); },
        {rand64({3, 5, 7}, 9), rand64({4, 7}, 10), rand64({4}, 11)});
  t.add("linear", "no bias, (N, T, C) from a transposed view", [](const V& v) { return linear(transpose(v[0], 1, 2), v[1]); },
        {rand64({2, 7, 5}, 12), rand64({3, 7}, 13)});

  t.add("reshape", "[6, -1] times [6, 14]", [](const V& v) { return reshape(v[0], {6, -1}) * reshape(v[0], {6, 14}); },
        {rand64({3, 4, 7}, 1)});
  t.add("transpose", "dims 1, 2", [](const V& v) { return transpose(v[0], 1, 2); }, {rand64({3, 4, 7}, 2)});
  t.add("permute", "{2, 0, 1}", [](const V& v) { return permute(v[0], {2, 0, 1}); }, {rand64({3, 4, 7}, 3)});
  t.add("slice", "step 2 from 1, odd length", [](const V& v) { return slice(v[0], -1, 1, INT64_MAX, 2); },
        {rand64({3, 4, 7}, 4)});
  t.add("slice", "step 2 from 0", [](const V& v) { return slice(v[0], 2, 0, INT64_MAX, 2); }, {rand64({3, 4, 7}, 5)});
  t.add("slice", "two overlapping slices multiplied", [](const V& v) { return slice(v[0], 2, 0, 5) * slice(v[0], 2, 2, 7); },
        {rand64({3, 4, 7}, 8)});
  t.add("narrow", "dim 1, 1 + 2", [](const V& v) { return narrow(v[0], 1, 1, 2); }, {rand64({3, 4, 7}, 6)});
  t.add("unsqueeze", "squeeze(unsqueeze(x, 1), 1) * 2", [](const V& v) { return squeeze(unsqueeze(v[0], 1), 1) * 2.0; },
        {rand64({3, 4, 7}, 7)});
  t.add("squeeze", "last dim of [2, 3, 1]", [](const V& v) { return squeeze(v[0], -1); }, {rand64({2, 3, 1}, 9)});
}

struct Conv {
  int64_t N, C_in, C_out, T, K, s = 1, d = 1, pf = 0, pb = 0;
  bool bias = true;
  const char* note = "";
};

void conv(Table& t) {
  for (const Conv& c : std::vector<Conv>{
           {1, 2, 3, 7, 1, 1, 1, 0, 0, true, "1x1, batch 1, odd length"},
           {3, 3, 2, 8, 1, 1, 1, 0, 0, false, "1x1, batch 3"},
           {1, 2, 3, 8, 2, 1, 1, 1, 0, true, "K 2, causal pad"},
           {3, 3, 2, 9, 3, 1, 2, 4, 0, true, "dilation 2, front pad only"},
           {2, 2, 3, 10, 3, 1, 4, 0, 3, true, "dilation 4, back pad only"},
           {1, 3, 2, 11, 5, 1, 1, 2, 2, false, "K 5, both pads"},
           {3, 2, 3, 9, 3, 2, 1, 0, 0, true, "stride 2, odd length"},
           {2, 3, 2, 10, 5, 2, 1, 2, 1, true, "stride 2, K 5, both pads"},
           {1, 2, 2, 12, 2, 2, 2, 1, 0, false, "stride 2 + dilation 2"},
           {3, 2, 3, 13, 3, 3, 1, 0, 2, true, "stride 3, back pad"},
           {2, 2, 2, 8, 2, 2, 4, 0, 0, true, "stride 2, dilation 4"},
           {1, 3, 4, 6, 3, 1, 2, 3, 3, true, "mostly padding"},
           {2, 16, 8, 33, 3, 1, 1, 2, 0, true, "wide channels"},
           {5, 6, 7, 64, 5, 2, 1, 2, 2, true, "batch 5, stride 2"}}) {
    std::vector<Tensor> in{rand64({c.N, c.C_in, c.T}, 11), rand64({c.C_out, c.C_in, c.K}, 12)};
    if (c.bias) in.push_back(rand64({c.C_out}, 13));
    t.add("conv1d",
          fmt::format("{}: N={} C_in={} C_out={} T={} K={} s={} d={} pad={}+{} bias={}", c.note, c.N, c.C_in, c.C_out,
                      c.T, c.K, c.s, c.d, c.pf, c.pb, c.bias),
          [c](const V& v) { return conv1d(v[0], v[1], c.bias ? v[2] : Variable(), c.s, c.d, c.pf, c.pb); }, in);
  }
  auto one = [](const V& v) { return conv1d(v[0], v[1], v[2], 2, 1, 1, 1); };
  const std::vector<Tensor> xwb{rand64({2, 3, 9}, 31), rand64({2, 3, 3}, 32), rand64({2}, 33)};
  t.add("conv1d", "stride 2, pads 1+1, x only", one, xwb, {true, false, false});
  t.add("conv1d", "stride 2, pads 1+1, w only", one, xwb, {false, true, false});
  t.add("conv1d", "stride 2, pads 1+1, b only", one, xwb, {false, false, true});

  int i = 0;
  for (int64_t s : {2, 1, 3})
    for (int64_t K = 1; K <= 5; ++K) {
      if (s != 2 && K % 2 == 0) continue;                  // stride 2 gets every K; 1 and 3 the odd ones
      const int64_t N = (i % 2) ? 3 : 1, L = (i % 3) + 4;  // batch 1 / 3, lengths 4..6
      const bool bias = i % 4 != 3;
      std::vector<Tensor> in{rand64({N, 3, L}, 40 + uint64_t(i)), rand64({3, 2, K}, 60 + uint64_t(i))};
      if (bias) in.push_back(rand64({2}, 80 + uint64_t(i)));
      t.add("conv_transpose1d", fmt::format("N={} L={} K={} s={} bias={}", N, L, K, s, bias),
            [s, bias](const V& v) { return conv_transpose1d(v[0], v[1], bias ? v[2] : Variable(), s); }, in);
      ++i;
    }
  t.add("conv_transpose1d", "wide: N=3 C_in=16 C_out=12 L=40 K=5 s=2",
        [](const V& v) { return conv_transpose1d(v[0], v[1], v[2], 2); },
        {rand64({3, 16, 40}, 90), rand64({16, 12, 5}, 91), rand64({12}, 92)});
}

void pool_and_resample(Table& t) {
  for (const Shape& s : {Shape{2, 3, 9}, Shape{1, 2, 8}})
    for (int64_t k : {1, 2, 3, 5})
      for (int64_t st : {1, 2})
        for (int64_t p : k / 2 ? std::vector<int64_t>{0, k / 2} : std::vector<int64_t>{0}) {
          const std::string label = fmt::format("k={} s={} p={} {}", k, st, p, shape_str(s));
          // Random inputs: no ties inside a max-pool window.
          t.add("max_pool1d", label, [=](const V& v) { return max_pool1d(v[0], k, st, p); },
                {rand64(s, uint64_t(100 + k * 10 + st + p))});
          t.add("avg_pool1d", label, [=](const V& v) { return avg_pool1d(v[0], k, st, p); },
                {rand64(s, uint64_t(200 + k * 10 + st + p))});
        }
  t.add("max_pool1d", "on a transposed view, k=3 s=2 p=1",
        [](const V& v) { return max_pool1d(transpose(v[0], 1, 2), 3, 2, 1); }, {rand64({2, 7, 3}, 150)});
  t.add("avg_pool1d", "on a transposed view, k=2 s=1 p=1",
        [](const V& v) { return avg_pool1d(transpose(v[0], 1, 2), 2, 1, 1); }, {rand64({2, 7, 3}, 151)});
  t.add("max_pool1d", "2-D (C, T) [5, 11], k=4 s=3 p=2", [](const V& v) { return max_pool1d(v[0], 4, 3, 2); },
        {rand64({5, 11}, 152)});

  for (const Shape& s : {Shape{2, 3, 5}, Shape{1, 2, 4}, Shape{2, 1, 1}})
    for (int64_t f : {2, 3}) {
      const std::string label = fmt::format("f={} {}", f, shape_str(s));
      t.add("upsample_nearest", label, [f](const V& v) { return upsample_nearest(v[0], f); }, {rand64(s, uint64_t(300 + f))});
      t.add("upsample_linear", label, [f](const V& v) { return upsample_linear(v[0], f); }, {rand64(s, uint64_t(310 + f))});
    }
  t.add("upsample_linear", "f=3 on a transposed view", [](const V& v) { return upsample_linear(transpose(v[0], 1, 2), 3); },
        {rand64({2, 5, 3}, 320)});
  t.add("upsample_linear", "f=4, odd length 7", [](const V& v) { return upsample_linear(v[0], 4); }, {rand64({2, 3, 7}, 321)});
  for (int64_t f : {2, 3})
    for (int64_t st = 0; st < f; ++st)
      t.add("downsample", fmt::format("f={} start={} of [2, 3, 8]", f, st),
            [f, st](const V& v) { return downsample(v[0], f, st); }, {rand64({2, 3, 8}, 400)});
}

void time_ops(Table& t) {
  for (const Shape& s : {Shape{2, 3, 5}, Shape{3, 2, 4}}) {
    t.add("pad_time", "front 2, back 1, " + shape_str(s), [](const V& v) { return pad_time(v[0], 2, 1); }, {rand64(s, 1)});
    t.add("pad_time", "back 3 only, " + shape_str(s), [](const V& v) { return pad_time(v[0], 0, 3); }, {rand64(s, 2)});
  }
  for (const Shape& s : {Shape{2, 3, 7}, Shape{3, 2, 6}}) {
    const int64_t T = s.back();
    const std::string sh = " of " + shape_str(s);
    t.add("crop", "to 3" + sh, [](const V& v) { return crop(v[0], 3); }, {rand64(s, 3)});
    t.add("crop", "to a target [1, 2]" + sh, [](const V& v) { return crop(v[0], v[1]); }, {rand64(s, 4), rand64({1, 2}, 5)},
          {true, false});
    t.add("crop_both", "by 2" + sh, [T](const V& v) { return crop_both(v[0], T - 2); }, {rand64(s, 6)});
    t.add("crop_back", "to 4" + sh, [](const V& v) { return crop_back(v[0], 4); }, {rand64(s, 7)});
    t.add("crop_front_back", "2 and 1" + sh, [](const V& v) { return crop_front_back(v[0], 2, 1); }, {rand64(s, 8)});
  }
  t.add("concat", "3 inputs on channels", [](const V& v) { return concat({v[0], v[1], v[2]}, 1); },
        {rand64({2, 3, 5}, 9), rand64({2, 1, 5}, 10), rand64({2, 2, 5}, 11)});
  t.add("concat", "on time, one of length 1", [](const V& v) { return concat({v[0], v[1]}, -1); },
        {rand64({2, 3, 4}, 12), rand64({2, 3, 1}, 13)});
  t.add("concat", "the same input twice", [](const V& v) { return concat({v[0], v[0]}, 1); }, {rand64({3, 2, 3}, 14)});
  t.add("concat", "first input needs no grad", [](const V& v) { return concat({v[0], v[1]}, 1); },
        {rand64({2, 2, 3}, 15), rand64({2, 1, 3}, 16)}, {false, true});
  for (const Shape& s : {Shape{2, 3, 7}, Shape{2, 3, 6}, Shape{1, 2, 1}}) {
    t.add("decimate_causal", shape_str(s), [](const V& v) { return decimate_causal(v[0]); }, {rand64(s, 17)});
    t.add("decimate", "start 0, " + shape_str(s), [](const V& v) { return decimate(v[0], 0); }, {rand64(s, 18)});
    if (s.back() > 1)
      t.add("decimate", "start 1, " + shape_str(s), [](const V& v) { return decimate(v[0], 1); }, {rand64(s, 19)});
  }
  for (int64_t L : {1, 4, 5}) {  // L = 1: y is empty
    auto il = [](const V& v) { return interleave(v[0], v[1]); };
    t.add("interleave", fmt::format("y of length L-1, L={}", L), il, {rand64({2, 3, L}, 20), rand64({2, 3, L - 1}, 21)});
    t.add("interleave", fmt::format("y of length L, L={}", L), il, {rand64({2, 3, L}, 22), rand64({2, 3, L}, 23)});
    t.add("duplicate", fmt::format("L={}", L), [](const V& v) { return duplicate(v[0]); }, {rand64({2, 3, L}, 24)});
    t.add("duplicate", fmt::format("append_last, L={}", L), [](const V& v) { return duplicate(v[0], true); },
          {rand64({2, 3, L}, 25)});
  }
  t.add("to_nct", "[2, 5, 3]", [](const V& v) { return to_nct(v[0]); }, {rand64({2, 5, 3}, 26)});
  t.add("to_ntc", "[2, 3, 4]", [](const V& v) { return to_ntc(v[0]); }, {rand64({2, 3, 4}, 27)});
}

void losses(Table& t) {
  for (int dim : {0, 1, 2, -1}) {
    t.add("softmax", fmt::format("dim {} of [2, 3, 5]", dim), [dim](const V& v) { return softmax(v[0], dim); },
          {rand64({2, 3, 5}, 11, -2, 2)});
    t.add("log_softmax", fmt::format("dim {} of [2, 3, 5]", dim), [dim](const V& v) { return log_softmax(v[0], dim); },
          {rand64({2, 3, 5}, 12, -2, 2)});
  }
  t.add("softmax", "1-D [7]", [](const V& v) { return softmax(v[0], 0); }, {rand64({7}, 13)});
  t.add("softmax", "of a transposed view", [](const V& v) { return softmax(transpose(v[0], 0, 1), 1); }, {rand64({4, 3}, 14)});

  // Targets and masks are inputs too (no grad), so the parity check moves them with the logits.
  const Tensor t2 = ids({1, 0, 4, 4, 2}, {5}), t3 = ids({0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3}, {2, 7});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    t.add("cross_entropy", fmt::format("(N, C) [5, 5], {}", name(r)),
          [r](const V& v) { return cross_entropy(v[0], v[1].data(), r); }, {rand64({5, 5}, 31, -3, 3), t2});
    t.add("cross_entropy", fmt::format("(N, C, T) [2, 5, 7], {}", name(r)),
          [r](const V& v) { return cross_entropy(v[0], v[1].data(), r); }, {rand64({2, 5, 7}, 32, -3, 3), t3});
    t.add("cross_entropy", fmt::format("(N, T, C) [2, 7, 5] class_dim -1, {}", name(r)),
          [r](const V& v) { return cross_entropy(v[0], v[1].data(), r, -1); }, {rand64({2, 7, 5}, 33, -3, 3), t3});
  }
  // Long rows (the CUDA kernels' one-block-per-row path: C >= 128, class axis last).
  const Tensor t300 = ids({0, 299, 17, 150, 255, 1}, {2, 3});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    t.add("cross_entropy", fmt::format("(N, T, C) [2, 3, 300] class_dim -1, {}", name(r)),
          [r](const V& v) { return cross_entropy(v[0], v[1].data(), r, -1); }, {rand64({2, 3, 300}, 35, -4, 4), t300});
  t.add("cross_entropy", "masked (N, T, C) [2, 3, 300] class_dim -1, mean",
        [](const V& v) { return cross_entropy(v[0], v[1].data(), v[2].data(), Reduction::Mean, -1); },
        {rand64({2, 3, 300}, 36, -4, 4), ids({-1, 299, 17, -1, 255, 1}, {2, 3}),
         Tensor::from_vector<double>({0, 1, 1, 0, 1, 1}, {2, 3})},
        {true, false, false});
  t.add("cross_entropy", "(C) [6], class_dim 0",
        [](const V& v) { return cross_entropy(v[0], v[1].data(), Reduction::Mean, 0); }, {rand64({6}, 34), ids({3}, {})});
  // Only the last 3 of 5 steps count; masked-out targets are -1.
  const Tensor tm = ids({-1, -1, 0, 3, 2, -1, -1, 1, 1, 0}, {2, 5});
  const Tensor mask = Tensor::from_vector<double>({0, 0, 1, 1, 1, 0, 0, 1, 1, 1}, {2, 5});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None})
    t.add("cross_entropy", fmt::format("masked (N, C, T) [2, 4, 5], {}", name(r)),
          [r](const V& v) { return cross_entropy(v[0], v[1].data(), v[2].data(), r); },
          {rand64({2, 4, 5}, 41, -2, 2), tm, mask}, {true, false, false});
  t.add("cross_entropy", "masked (N, T, C) [2, 5, 4] class_dim -1, mean",
        [](const V& v) { return cross_entropy(v[0], v[1].data(), v[2].data(), Reduction::Mean, -1); },
        {rand64({2, 5, 4}, 42, -2, 2), tm, mask}, {true, false, false});

  const Tensor yb = Tensor::from_vector<double>({1, 0, 0, 1, 1, 0, 1}, {7});
  for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
    auto bce = [r](const V& v) { return bce_with_logits(v[0], v[1], r); };
    t.add("bce_with_logits", fmt::format("soft targets [2, 3, 5], {}", name(r)), bce,
          {rand64({2, 3, 5}, 51, -4, 4), rand64({2, 3, 5}, 52, 0, 1)});
    t.add("bce_with_logits", fmt::format("binary targets [7] (no grad), {}", name(r)), bce, {rand64({7}, 53, -3, 3), yb},
          {true, false});
  }
}

void embedding_dropout_weight_norm(Table& t) {
  auto emb = [](const V& v) { return embedding(v[0].data(), v[1]); };
  t.add("embedding", "repeated ids [7]", emb, {ids({0, 4, 4, 2, 1, 4, 0}, {7}), rand64({5, 3}, 61)});
  t.add("embedding", "2-D ids [2, 3]", emb, {ids({0, 4, 4, 2, 1, 4}, {2, 3}), rand64({5, 3}, 62)});
  // A Generator made inside fn: every call draws the same mask.
  t.add("dropout", "p 0.3, [3, 7]", [](const V& v) { Generator g(3); return dropout(v[0], 0.3, true, g); },
        {rand64({3, 7}, 71)});
  t.add("dropout", "p 0.5 on a transposed view [7, 6]",
        [](const V& v) { Generator g(8); return dropout(transpose(v[0], 0, 1), 0.5, true, g); }, {rand64({6, 7}, 72)});
  // The fused activation + dropout: a Generator made inside fn, as above.
  t.add("relu_dropout", "p 0.3, [3, 5, 7] away from 0",
        [](const V& v) {
          Generator g(4);
          return relu_dropout(v[0], 0.3, true, g);
        },
        {away_from_zero({3, 5, 7}, 73)});
  t.add("relu_dropout", "p 0.5 on a transposed view [7, 6]",
        [](const V& v) {
          Generator g(9);
          return relu_dropout(transpose(v[0], 0, 1), 0.5, true, g);
        },
        {away_from_zero({6, 7}, 75)});
  for (double slope : {0.01, 0.3})
    t.add("leaky_relu_dropout", fmt::format("slope {}, p 0.2, [2, 9, 7] away from 0", slope),
          [slope](const V& v) {
            Generator g(5);
            return leaky_relu_dropout(v[0], slope, 0.2, true, g);
          },
          {away_from_zero({2, 9, 7}, 77)});
  // Beyond one CUDA block (a thread draws one Philox block of 4 elements, 256 threads a block) and
  // beyond one CPU group of 128, on a transposed view, with numel % 4 == 3 (a tail ending on lane 2).
  t.add("relu_dropout", "p 0.4 on a transposed view [7, 157]",
        [](const V& v) {
          Generator g(10);
          return relu_dropout(transpose(v[0], 0, 1), 0.4, true, g);
        },
        {away_from_zero({157, 7}, 78)});
  t.add("leaky_relu_dropout", "slope 0.1, p 0.4 on a transposed view [7, 157]",
        [](const V& v) {
          Generator g(11);
          return leaky_relu_dropout(transpose(v[0], 0, 1), 0.1, 0.4, true, g);
        },
        {away_from_zero({157, 7}, 79)});
  t.add("dropout", "p 0.4, [7, 157]",
        [](const V& v) {
          Generator g(12);
          return dropout(v[0], 0.4, true, g);
        },
        {rand64({7, 157}, 80)});
  auto wn = [](const V& v) { return weight_norm(v[0], v[1]); };
  t.add("weight_norm", "g [3, 1, 1], v [3, 2, 5]", wn, {rand64({3, 1, 1}, 82, 0.5, 2), rand64({3, 2, 5}, 83)});
  t.add("weight_norm", "g (C_out) [5], v [5, 3, 3]", wn, {rand64({5}, 84, -2, 2), rand64({5, 3, 3}, 85)});
  t.add("weight_norm", "only v", wn, {rand64({2, 1, 1}, 86), rand64({2, 4, 1}, 87)}, {false, true});
  t.add("weight_norm", "used by linear", [](const V& v) { return linear(v[2], reshape(weight_norm(v[0], v[1]), {3, 4})); },
        {rand64({3, 1, 1}, 88), rand64({3, 2, 2}, 89), rand64({5, 4}, 90)});
}

// Output and the gradient of every needs_grad input of c, run on `dev` in `dt`, back on the CPU
// in f64. R is the output gradient (f64, CPU); when undefined it is drawn here, with a fixed seed.
std::vector<Tensor> run(const OpCase& c, Device dev, DType dt, Tensor& R) {
  std::vector<Variable> vars;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Tensor& x = c.inputs[i];
    vars.emplace_back(to_device(is_floating(x.dtype()) ? x.to(dt) : x, dev), c.needs_grad[i]);
  }
  Variable y = c.fn(vars);
  if (!R.defined()) {
    Generator gen(4321);
    R = Tensor::uniform(y.shape(), -1.0, 1.0, DType::F64, gen);
  }
  y.backward(to_device(R.to(dt).clone(), dev));
  auto back = [](const Tensor& t) { return to_device(t, Device::cpu()).to(DType::F64).contiguous(); };
  std::vector<Tensor> out{back(y.data())};
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (c.needs_grad[i]) {
      const Tensor& g = vars[i].grad();
      out.push_back(g.defined() ? back(g) : Tensor::zeros(c.inputs[i].shape(), DType::F64));
    }
  return out;
}

// |ours − ref| <= rtol · max|ref| + atol elementwise; worst_rel grows to max|ours − ref| / max|ref|.
::testing::AssertionResult compare(const Tensor& ours, const Tensor& ref, double rtol, double atol, double& worst_rel) {
  if (ours.shape() != ref.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(ours.shape()) << " vs " << shape_str(ref.shape());
  const double *o = ours.data<double>(), *r = ref.data<double>();
  double scale = 0, err = 0;
  int64_t worst = 0;
  for (int64_t k = 0; k < ref.numel(); ++k) scale = std::max(scale, std::fabs(r[k]));
  for (int64_t k = 0; k < ref.numel(); ++k) {
    const double e = std::isnan(o[k]) != std::isnan(r[k]) ? INFINITY : std::fabs(o[k] - r[k]);
    if (e > err) err = e, worst = k;
  }
  worst_rel = std::max(worst_rel, scale > 0 ? err / scale : err);
  const double bound = rtol * scale + atol;
  if (err <= bound) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << fmt::format("worst element {}: {:.17g} vs {:.17g}, |diff| {:.3g} > {:.3g} "
                                                      "(rtol {} · max|ref| {:.3g} + atol {})",
                                                      worst, o[worst], r[worst], err, bound, rtol, scale, atol);
}

}  // namespace

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = [] {
    Table t;
    elementwise_and_activations(t);
    reductions_matmul_views(t);
    conv(t);
    pool_and_resample(t);
    time_ops(t);
    losses(t);
    embedding_dropout_weight_norm(t);
    return t.cases;
  }();
  return cases;
}

Tensor to_device(const Tensor& t, Device dev) { return t.to(dev); }

::testing::AssertionResult check_parity(const OpCase& c, Device dev, DType dt, double rtol, double atol,
                                        double* worst_rel) {
  const std::string what = c.op + " [" + c.label + "] on " + dev.str() + " in " + dtype_name(dt);
  try {
    Tensor R;
    const std::vector<Tensor> ref = run(c, Device::cpu(), DType::F64, R);
    const std::vector<Tensor> ours = run(c, dev, dt, R);
    std::vector<std::string> names{"output"};
    for (size_t i = 0; i < c.inputs.size(); ++i)
      if (c.needs_grad[i]) names.push_back("gradient of input " + std::to_string(i));
    double worst = 0;
    ::testing::AssertionResult result = ::testing::AssertionSuccess();
    for (size_t k = 0; k < ref.size(); ++k) {
      auto r = compare(ours[k], ref[k], rtol, atol, worst);
      if (!r && result) result = ::testing::AssertionFailure() << what << ", " << names[k] << ": " << r.message();
    }
    if (worst_rel) *worst_rel = worst;
    return result;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << what << ": threw " << e.what();
  }
}

::testing::AssertionResult check_rerun_bitwise(const OpCase& c, Device dev, DType dt) {
  const std::string what = c.op + " [" + c.label + "] rerun on " + dev.str() + " in " + dtype_name(dt);
  try {
    Tensor R;
    const std::vector<Tensor> first = run(c, dev, dt, R);
    const std::vector<Tensor> second = run(c, dev, dt, R);
    for (size_t k = 0; k < first.size(); ++k) {
      // Widening to f64 is exact, so equal bytes of the f64 copies mean equal bits of the originals.
      const std::vector<double> a = first[k].to(DType::F64).to_vector<double>();
      const std::vector<double> b = second[k].to(DType::F64).to_vector<double>();
      if (a.size() != b.size() || (!a.empty() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) != 0))
        return ::testing::AssertionFailure() << what << ": result " << k << " differs between two runs";
    }
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << what << ": threw " << e.what();
  }
}

}  // namespace seqnet::testing
