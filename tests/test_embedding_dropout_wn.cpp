// Embedding (repeated ids, tied embedding + decoder), dropout (statistics, Philox stream layout,
// determinism, same mask in backward; the fused activation + dropout and add + relu against the
// separate ops) and weight normalisation (values, errors). Their per-op
// gradchecks are cases in tests/op_cases.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "gradcheck.h"
#include "ops/dropout.h"
#include "ops/embedding.h"
#include "ops/loss.h"
#include "ops/ops.h"
#include "ops/weight_norm.h"
#include "test_util.h"

using namespace seqnet;
using namespace seqnet::testing;
using ::testing::HasSubstr;
using V = std::vector<Variable>;

namespace {
Tensor ids(const std::vector<int64_t>& v, const Shape& s) { return Tensor::from_vector<int64_t>(v, s); }
}  // namespace

// ---- embedding ------------------------------------------------------------------------------------

TEST(Embedding, ForwardLooksUpRows) {
  Variable E(Tensor::arange(12, DType::F32).view({4, 3}));
  Variable y = embedding(ids({3, 0, 3, 1}, {2, 2}), E);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(y.data().to_vector<float>(), (std::vector<float>{9, 10, 11, 0, 1, 2, 9, 10, 11, 3, 4, 5}));
  EXPECT_EQ(embedding(ids({2}, {}), E).data().to_vector<float>(), (std::vector<float>{6, 7, 8}));
}

TEST(Embedding, RepeatedIdsAccumulate) {
  Variable E(Tensor::zeros({5, 2}, DType::F64), true);
  Variable y = embedding(ids({1, 3, 1, 1, 0, 3}, {2, 3}), E);
  Tensor g = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 3, 2});
  y.backward(g);
  // row 0: position 4; row 1: positions 0, 2, 3; row 3: positions 1, 5; rows 2, 4 untouched.
  EXPECT_EQ(E.grad().to_vector<double>(), (std::vector<double>{9, 10, 1 + 5 + 7, 2 + 6 + 8, 0, 0, 3 + 11, 4 + 12, 0, 0}));
}

// The char / word tasks use one matrix E for the embedding and the decoder (linear(h, E)); its
// gradient must be the sum of both uses. Compare against two separate copies of E.
TEST(Embedding, TiedEmbeddingAndDecoderGradientsSum) {
  const int64_t vocab = 6, dim = 4;
  Tensor E0 = rand64({vocab, dim}, 63);
  Tensor W0 = rand64({dim, dim}, 64);  // a stand-in backbone between embedding and decoder
  Tensor in = ids({1, 5, 5, 0, 2, 1, 3, 3}, {2, 4});
  Tensor tgt = ids({5, 5, 0, 2, 1, 3, 3, 4}, {2, 4});
  auto model = [&](const Variable& E_emb, const Variable& E_dec, const Variable& W) {
    Variable h = tanh(linear(embedding(in, E_emb), W));  // (N, T, dim)
    return cross_entropy(linear(h, E_dec), tgt, Reduction::Mean, -1);  // logits (N, T, vocab)
  };
  Variable E(E0.clone(), true), W(W0, false);
  model(E, E, W).backward();
  Variable Ea(E0.clone(), true), Eb(E0.clone(), true);
  model(Ea, Eb, W).backward();
  const auto tied = E.grad().to_vector<double>();
  const auto ga = Ea.grad().to_vector<double>(), gb = Eb.grad().to_vector<double>();
  double max_a = 0, max_b = 0;
  for (size_t k = 0; k < tied.size(); ++k) {
    EXPECT_NEAR(tied[k], ga[k] + gb[k], 1e-14) << k;
    max_a = std::max(max_a, std::fabs(ga[k]));
    max_b = std::max(max_b, std::fabs(gb[k]));
  }
  EXPECT_GT(max_a, 1e-3);  // both uses really contribute
  EXPECT_GT(max_b, 1e-3);
  EXPECT_TRUE(gradcheck("tied embedding + decoder", [&](const V& v) { return model(v[0], v[0], Variable(W0)); }, {E0}));
}

TEST(Embedding, Errors) {
  Variable E(Tensor::zeros({4, 3}));
  EXPECT_THAT(error_of([&] { embedding(ids({0, 4}, {2}), E); }),
              HasSubstr("embedding: id 4 at position 1 is out of range for a vocabulary of 4 (weight f32[4, 3])"));
  EXPECT_THAT(error_of([&] { embedding(ids({-1}, {1}), E); }), HasSubstr("embedding: id -1"));
  EXPECT_THAT(error_of([&] { embedding(Tensor::zeros({2}), E); }), HasSubstr("embedding: ids must be int64, got f32[2]"));
  EXPECT_THAT(error_of([&] { embedding(ids({0}, {1}), Variable(Tensor::zeros({4}))); }),
              HasSubstr("embedding: weight must be a 2-D f32/f64 (vocab, dim) matrix, got f32[4]"));
}

// ---- dropout --------------------------------------------------------------------------------------

TEST(Dropout, EvalAndZeroPAreIdentity) {
  Variable x(Tensor::randn({3, 4}), true);
  EXPECT_EQ(dropout(x, 0.5, false).impl(), x.impl());
  EXPECT_EQ(dropout(x, 0.0, true).impl(), x.impl());
  Generator g(5);
  dropout(x, 0.5, false, g);
  EXPECT_EQ(g.state().offset, 0u);  // no draw in evaluation
}

TEST(Dropout, StatisticsOn100kElements) {
  const int64_t n = 100000;
  for (double p : {0.1, 0.5, 0.8}) {
    Generator g(77);
    Tensor x = Tensor::full({n}, 2.0);
    auto y = dropout(Variable(x), p, true, g).data().to_vector<float>();
    int64_t kept = 0;
    for (float v : y) {
      if (v != 0.f) {
        ++kept;
        EXPECT_FLOAT_EQ(v, float(2.0 / (1.0 - p)));  // kept units scaled by 1/(1−p)
      }
    }
    // σ of the kept fraction is sqrt(p(1−p)/n) ≤ 0.0016; allow 0.01.
    EXPECT_NEAR(double(kept) / double(n), 1.0 - p, 0.01) << "p = " << p;
    EXPECT_EQ(g.state().offset, uint64_t(n / 4));
  }
}

TEST(Dropout, FollowsThePhiloxStreamLayout) {
  const double p = 0.3;
  Generator g(2024);
  g.reserve(5);  // start mid-stream
  Generator ref = g;
  const int64_t n = 13;  // not a multiple of 4
  Tensor m = tensor_ops::dropout_mask({n}, p, DType::F64, g);
  EXPECT_EQ(g.state().offset, 5u + 4u);  // ceil(13 / 4) blocks
  const uint64_t first = ref.reserve(4);
  for (int64_t i = 0; i < n; ++i) {
    const float u = u32_to_unit_float(ref.block(first + uint64_t(i) / 4)[size_t(i % 4)]);
    EXPECT_EQ(m.data<double>()[i], u >= p ? 1.0 / (1.0 - p) : 0.0) << i;
  }
}

TEST(Dropout, LargeMasksFollowTheLayoutIncludingTheThresholdEdge) {
  // Long masks take the threaded, eight-blocks-at-a-time path. The last p is element 100's own
  // u, so that element sits exactly on the threshold (kept: u ≥ p); an off-by-one in the
  // integer comparison would drop it.
  Generator probe(11);
  probe.reserve(2);
  const double edge = u32_to_unit_float(probe.block(2 + 100 / 4)[100 % 4]);
  for (double p : {0.25, 0.1, edge}) {
    for (int64_t n : {int64_t(32), int64_t(70001), int64_t(200003)}) {
      Generator g(11);
      g.reserve(2);
      Generator ref = g;
      Tensor m = tensor_ops::dropout_mask({n}, p, DType::F32, g);
      const uint64_t first = ref.reserve(uint64_t(n + 3) / 4);
      const float* pm = m.data<float>();
      int64_t wrong = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float u = u32_to_unit_float(ref.block(first + uint64_t(i) / 4)[size_t(i % 4)]);
        wrong += pm[i] != (double(u) >= p ? float(1.0 / (1.0 - p)) : 0.f);
      }
      EXPECT_EQ(wrong, 0) << "p " << p << " n " << n;
      if (p == edge && n > 100) {
        EXPECT_NE(pm[100], 0.f) << "u = p must be kept";
      }
    }
  }
}

TEST(Dropout, DeterministicBySeed) {
  Tensor x = Tensor::ones({8, 33});
  Generator a(9), b(9);
  auto ya = dropout(Variable(x), 0.5, true, a).data().to_vector<float>();
  auto yb = dropout(Variable(x), 0.5, true, b).data().to_vector<float>();
  EXPECT_EQ(ya, yb);
  auto ya2 = dropout(Variable(x), 0.5, true, a).data().to_vector<float>();  // the next draw differs
  EXPECT_NE(ya, ya2);
  Generator c(10);
  EXPECT_NE(ya, dropout(Variable(x), 0.5, true, c).data().to_vector<float>());
  // The default generator follows manual_seed.
  manual_seed(123);
  auto d1 = dropout(Variable(x), 0.5, true).data().to_vector<float>();
  manual_seed(123);
  EXPECT_EQ(d1, dropout(Variable(x), 0.5, true).data().to_vector<float>());
}

TEST(Dropout, BackwardUsesTheSameMask) {
  Generator g(4);
  Variable x(Tensor::uniform({5, 41}, 1.0, 2.0, DType::F32, g), true);  // no zeros in x
  Variable y = dropout(x, 0.4, true, g);
  Tensor dy = Tensor::uniform({5, 41}, -1.0, 1.0, DType::F32, g);
  y.backward(dy);
  const auto xv = x.data().to_vector<float>(), yv = y.data().to_vector<float>();
  const auto gv = x.grad().to_vector<float>(), dyv = dy.to_vector<float>();
  for (size_t i = 0; i < xv.size(); ++i) {
    const float m = yv[i] == 0.f ? 0.f : 1.f / 0.6f;
    EXPECT_FLOAT_EQ(gv[i], dyv[i] * m) << i;
  }
  // Non-contiguous input: element i is the row-major element of the view.
  Generator g1(8), g2(8);
  Tensor base = Tensor::uniform({6, 7}, 1.0, 2.0, DType::F32, g);
  auto yt = dropout(Variable(base.transpose(0, 1)), 0.5, true, g1).data();
  auto yc = dropout(Variable(base.transpose(0, 1).contiguous()), 0.5, true, g2).data();
  EXPECT_EQ(yt.to_vector<float>(), yc.to_vector<float>());
}

// The op keeps no mask: forward and backward draw it again from the same Philox blocks. Both must
// equal the product with the mask kernel's mask bit for bit (signed zeros, NaN and ±inf in x
// included: x · 0 is what a stored mask gave), in f32 and f64, at lengths that end mid-block and
// mid-group, and the op must consume exactly the blocks the mask would.
TEST(Dropout, ForwardAndBackwardEqualTheStoredMaskBitForBit) {
  for (DType dt : {DType::F32, DType::F64})
    for (int64_t n : {int64_t(1), int64_t(13), int64_t(33), int64_t(70001)}) {
      Generator g(77), data(5);
      g.reserve(3);
      Generator ref = g;
      Tensor m = tensor_ops::dropout_mask({n}, 0.3, dt, ref);  // the mask the op must reproduce
      Tensor x = Tensor::uniform({n}, -2.0, 2.0, dt, data);
      Tensor dy = Tensor::uniform({n}, -1.0, 1.0, dt, data);
      // −0, NaN and −inf at a kept and at a dropped element each (x · 0 is what a stored mask gave)
      auto set = [&](int64_t i, double v) {
        if (dt == DType::F32)
          x.data<float>()[i] = float(v);
        else
          x.data<double>()[i] = v;
      };
      const std::vector<double> mv = m.to_vector<double>();
      std::vector<int64_t> kept, dropped;
      for (int64_t i = 0; i < n; ++i) (mv[size_t(i)] != 0 ? kept : dropped).push_back(i);
      if (n >= 33) {
        ASSERT_GE(kept.size(), 3u);
        ASSERT_GE(dropped.size(), 3u);
      }
      const double probes[3] = {-0.0, std::nan(""), -std::numeric_limits<double>::infinity()};
      for (size_t k = 0; k < 3; ++k) {
        if (k < kept.size()) set(kept[k], probes[k]);
        if (k < dropped.size()) set(dropped[k], probes[k]);
      }
      Variable xv(x, true);
      Variable y = dropout(xv, 0.3, true, g);
      y.backward(dy);
      EXPECT_EQ(g.state().offset, ref.state().offset) << "blocks consumed";
      const Tensor want_y = tensor_ops::mul(x, m), want_dx = tensor_ops::mul(dy, m);
      EXPECT_EQ(std::memcmp(y.data().raw_data(), want_y.raw_data(), size_t(n) * dtype_size(dt)), 0)
          << dtype_name(dt) << " n " << n;
      EXPECT_EQ(std::memcmp(xv.grad().raw_data(), want_dx.raw_data(), size_t(n) * dtype_size(dt)), 0)
          << dtype_name(dt) << " n " << n;
    }
}

// The fused activation + dropout (the TCN's relu → dropout, the Seq-U-Net's leaky_relu → dropout)
// must give what the two ops give one after the other, bit for bit, forward and backward, with the
// same Philox blocks — exact zeros, −0, NaN and ±inf in x included, at lengths that end mid-block and
// mid-group — and keep the generator in the same state.
TEST(Dropout, FusedActivationDropoutEqualsThePairBitForBit) {
  for (double slope : {0.0, 0.01})
    for (DType dt : {DType::F32, DType::F64})
      for (int64_t n : {int64_t(1), int64_t(13), int64_t(33), int64_t(70001)}) {
        Generator data(6);
        Tensor x = Tensor::uniform({n}, -2.0, 2.0, dt, data);
        Tensor dy = Tensor::uniform({n}, -1.0, 1.0, dt, data);
        const double probes[6] = {
            0.0,  -0.0, std::nan(""), -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
            1e-42};
        for (int64_t k = 0; k < 6 && 5 * k < n; ++k) {
          if (dt == DType::F32)
            x.data<float>()[5 * k] = float(probes[k]);
          else
            x.data<double>()[5 * k] = probes[k];
        }
        Generator g1(91), g2(91);
        Variable x1(x, true), x2(x, true);
        Variable y1 = dropout(leaky_relu(x1, slope), 0.3, true, g1);
        Variable y2 = leaky_relu_dropout(x2, slope, 0.3, true, g2);
        y1.backward(dy);
        y2.backward(dy);
        const size_t bytes = size_t(n) * dtype_size(dt);
        EXPECT_EQ(std::memcmp(y1.data().raw_data(), y2.data().raw_data(), bytes), 0)
            << "slope " << slope << " " << dtype_name(dt) << " n " << n;
        EXPECT_EQ(std::memcmp(x1.grad().raw_data(), x2.grad().raw_data(), bytes), 0)
            << "slope " << slope << " " << dtype_name(dt) << " n " << n;
        EXPECT_EQ(g1.state().offset, g2.state().offset);
      }
  // relu_dropout is the slope-0 case; evaluation and p = 0 are the activation alone.
  Generator data(3), a(11), b(11);
  Tensor x = Tensor::uniform({50}, -1.0, 1.0, DType::F32, data);
  EXPECT_EQ(relu_dropout(Variable(x), 0.5, true, a).data().to_vector<float>(),
            leaky_relu_dropout(Variable(x), 0.0, 0.5, true, b).data().to_vector<float>());
  EXPECT_EQ(relu_dropout(Variable(x), 0.5, false, a).data().to_vector<float>(),
            relu(Variable(x)).data().to_vector<float>());
  EXPECT_EQ(leaky_relu_dropout(Variable(x), 0.1, 0.0, true, a).data().to_vector<float>(),
            leaky_relu(Variable(x), 0.1).data().to_vector<float>());
  EXPECT_EQ(relu_dropout(Variable(x), 1.0, true, a).data().to_vector<float>(), std::vector<float>(50, 0.f));
  EXPECT_THAT(error_of([&] { relu_dropout(Variable(x), 1.5, true, a); }),
              HasSubstr("relu_dropout: p must be in [0, 1], got 1.5"));
  EXPECT_THAT(error_of([&] { leaky_relu_dropout(Variable(x), -0.1, 0.5, true, a); }),
              HasSubstr("leaky_relu_dropout: slope must be finite and >= 0, got -0.1"));
  EXPECT_THAT(error_of([&] { relu_dropout(Variable(Tensor::zeros({2}, DType::I64)), 0.5, true, a); }),
              HasSubstr("relu_dropout: input must be f32 or f64"));
}

// relu(a + b) in one op equals the pair, bit for bit, forward and both gradients.
TEST(AddRelu, EqualsAddThenReluBitForBit) {
  for (DType dt : {DType::F32, DType::F64}) {
    Generator data(8);
    Tensor a = Tensor::uniform({3, 5, 67}, -1.0, 1.0, dt, data), b = Tensor::uniform({3, 5, 67}, -1.0, 1.0, dt, data);
    Tensor dy = Tensor::uniform({3, 5, 67}, -1.0, 1.0, dt, data);
    Variable a1(a, true), b1(b, true), a2(a, true), b2(b, true);
    Variable y1 = relu(a1 + b1), y2 = add_relu(a2, b2);
    y1.backward(dy);
    y2.backward(dy);
    const size_t bytes = size_t(a.numel()) * dtype_size(dt);
    EXPECT_EQ(std::memcmp(y1.data().raw_data(), y2.data().raw_data(), bytes), 0) << dtype_name(dt);
    EXPECT_EQ(std::memcmp(a1.grad().raw_data(), a2.grad().raw_data(), bytes), 0) << dtype_name(dt);
    EXPECT_EQ(std::memcmp(b1.grad().raw_data(), b2.grad().raw_data(), bytes), 0) << dtype_name(dt);
  }
  // a and b the same variable: the shared gradient is accumulated, not aliased.
  Variable x(Tensor::from_vector<float>({1.f, -2.f}, {2}), true);
  add_relu(x, x).backward(Tensor::ones({2}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2.f, 0.f}));
  EXPECT_THAT(error_of([&] {
                add_relu(Variable(Tensor::ones({2, 3})), Variable(Tensor::ones({3, 2})));
              }),
              HasSubstr("add_relu: a"));
}

TEST(Dropout, POneAndErrors) {
  Variable x(Tensor::ones({2, 3}), true);
  Variable y = dropout(x, 1.0, true);
  EXPECT_EQ(y.data().to_vector<float>(), std::vector<float>(6, 0.f));
  y.backward(Tensor::ones({2, 3}));
  EXPECT_EQ(x.grad().to_vector<float>(), std::vector<float>(6, 0.f));
  EXPECT_THAT(error_of([&] { dropout(x, -0.1, true); }), HasSubstr("dropout: p must be in [0, 1], got -0.1"));
  EXPECT_THAT(error_of([&] { dropout(x, 1.5, false); }), HasSubstr("dropout: p must be in [0, 1], got 1.5"));
  EXPECT_THAT(error_of([&] { dropout(x, std::nan(""), true); }), HasSubstr("dropout: p must be in [0, 1]"));
  EXPECT_THAT(error_of([&] { dropout(Variable(Tensor::zeros({2}, DType::I64)), 0.5, true); }),
              HasSubstr("dropout: input must be f32 or f64"));
  Generator g(1);
  EXPECT_THAT(error_of([&] { tensor_ops::dropout_mask({2}, 1.0, DType::F32, g); }), HasSubstr("dropout: p must be in [0, 1)"));
}

// ---- weight norm ----------------------------------------------------------------------------------

TEST(WeightNorm, HandComputed) {
  // v[0] = [3, 4] (norm 5), g = 10 → [6, 8];  v[1] = [0, -2] (norm 2), g = −1 → [0, 1]
  Variable g(Tensor::from_vector<float>({10.f, -1.f}, {2, 1, 1}));
  Variable v(Tensor::from_vector<float>({3.f, 4.f, 0.f, -2.f}, {2, 1, 2}));
  Variable W = weight_norm(g, v);
  EXPECT_EQ(W.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(W.data().to_vector<float>(), (std::vector<float>{6.f, 8.f, 0.f, 1.f}));
}

TEST(WeightNorm, EqualsVWhenGIsTheNorm) {
  // The TCN's initialisation: g = ‖v‖ per output channel, so W = v.
  Tensor v = rand64({4, 3, 2}, 81);
  Tensor g = Tensor::empty({4, 1, 1}, DType::F64);
  for (int64_t o = 0; o < 4; ++o) {
    double s = 0;
    for (double e : v.select(0, o).contiguous().to_vector<double>()) s += e * e;
    g.data<double>()[o] = std::sqrt(s);
  }
  auto W = weight_norm(Variable(g), Variable(v)).data().to_vector<double>();
  auto vv = v.to_vector<double>();
  for (size_t k = 0; k < vv.size(); ++k) EXPECT_NEAR(W[k], vv[k], 1e-15);
  // Same with g of shape (C_out).
  auto W1 = weight_norm(Variable(g.view({4})), Variable(v)).data().to_vector<double>();
  EXPECT_EQ(W1, W);
}

TEST(WeightNorm, Errors) {
  Variable v(Tensor::ones({3, 2, 2}));
  EXPECT_THAT(error_of([&] { weight_norm(Variable(Tensor::ones({2, 1, 1})), v); }),
              HasSubstr("weight_norm: g f32[2, 1, 1] does not match v f32[3, 2, 2]"));
  EXPECT_THAT(error_of([&] { weight_norm(Variable(Tensor::ones({3, 2, 1})), v); }), HasSubstr("weight_norm: g f32[3, 2, 1]"));
  EXPECT_THAT(error_of([&] { weight_norm(Variable(Tensor::ones({3}, DType::F64)), v); }),
              HasSubstr("weight_norm: dtype mismatch"));
  EXPECT_THAT(error_of([&] { weight_norm(Variable(Tensor::ones({3})), Variable(Tensor::ones({3}))); }),
              HasSubstr("weight_norm: v must be (C_out, C_in, ...) with rank >= 2, got f32[3]"));
  Tensor vz = Tensor::ones({3, 2, 2});
  vz.select(0, 1).fill_(0.0);
  EXPECT_THAT(error_of([&] { weight_norm(Variable(Tensor::ones({3})), Variable(vz)); }),
              HasSubstr("weight_norm: v[1] has norm 0"));
}
