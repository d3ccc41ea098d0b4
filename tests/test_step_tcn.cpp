// tests/test_step_tcn.cpp — the TCN step mode (models/step/tcn_step.h):
//   * for random models (K 2, 3, 7; up to 7 levels, dilation 64; levels with and without the
//     downsample path; batch 1 and 3; weight_g ≠ ‖weight_v‖; f32 and f64 parameters) and save
//     prefixes shorter and longer than the receptive field: every step output equals the last
//     output column of a full forward over the whole sequence so far AND over the window of the
//     last receptive-field samples (causality), to 1e-5 of the largest |output|;
//   * save returns exactly the model's forward;
//   * a step allocates nothing (allocator and operator-new counters);
//   * f16 step weights stay close; teams of threads, prefixed models; clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "core/allocator.h"
#include "heap_counter.h"
#include "models/step/tcn_step.h"
#include "models/tcn.h"
#include "test_util.h"

using namespace seqnet;
using seqnet::testing::error_of;
using seqnet::testing::max_abs_diff;

namespace {

// A TCN with random weight_g (uniform ±[0.3, 2], so W = g·v/‖v‖ ≠ v) and random biases, in
// eval mode, with parameters of `dtype`.
TCN random_tcn(int64_t num_inputs, std::vector<int64_t> channels, int64_t K, uint64_t seed, DType dtype = DType::F32,
               const std::string& prefix = "") {
  Generator g(seed);
  TCN model(TCNConfig{num_inputs, std::move(channels), K, 0.2}, g, prefix);
  for (const std::string& name : model.params().unique_names()) {
    Tensor t = model.params().get(name).data();
    if (name.ends_with("weight_g")) {
      Tensor mag = Tensor::uniform(t.shape(), 0.3, 2.0, DType::F32, g);
      Tensor sign = Tensor::uniform(t.shape(), -1.0, 1.0, DType::F32, g);
      std::vector<float> m = mag.to_vector<float>(), s = sign.to_vector<float>();
      for (size_t k = 0; k < m.size(); ++k) m[k] = s[k] < -0.6f ? -m[k] : m[k];  // a few negative
      t.copy_(Tensor::from_vector(m, t.shape()));
    } else if (name.ends_with("bias")) {
      t.copy_(Tensor::uniform(t.shape(), -0.3, 0.3, DType::F32, g));
    }
  }
  model.params().store_as(dtype);
  model.set_training(false);
  return model;
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to(DType::F64).contiguous().to_vector<double>()) m = std::max(m, std::fabs(v));
  return m;
}

struct TcnCase {
  int64_t num_inputs;
  std::vector<int64_t> channels;
  int64_t K, batch, save_len, steps;
  bool f64;
};

void PrintTo(const TcnCase& c, std::ostream* os) {
  *os << "in " << c.num_inputs << " ch [";
  for (int64_t ch : c.channels) *os << ch << ",";
  *os << "] K " << c.K << " N " << c.batch << " T0 " << c.save_len << (c.f64 ? " f64" : " f32");
}

class TcnStepEqualsFull : public ::testing::TestWithParam<TcnCase> {};

TEST_P(TcnStepEqualsFull, EveryStepIsTheLastColumnOfTheFullAndOfTheWindowForward) {
  const TcnCase c = GetParam();
  const DType dt = c.f64 ? DType::F64 : DType::F32;
  TCN model = random_tcn(c.num_inputs, c.channels, c.K, 1000 + c.K * 37 + c.channels.size() * 7 + c.batch, dt);
  const int64_t RF = model.receptive_field(), T0 = c.save_len, S = c.steps;
  Generator g(55 + T0);
  Tensor x = Tensor::randn({c.batch, c.num_inputs, T0 + S}, DType::F32, g);
  NoGradGuard no_grad;
  auto forward = [&](int64_t begin, int64_t end) {  // the model's forward over x[:, :, begin:end]
    return model.forward(Variable(x.narrow(2, begin, end - begin).contiguous().to(dt))).data();
  };
  const Tensor full_all = forward(0, T0 + S);
  const double scale = std::max(max_abs(full_all), 1e-30);

  TcnStepper gen(model);
  const Tensor saved = gen.save(x.narrow(2, 0, T0).contiguous());
  EXPECT_EQ(max_abs_diff(saved, forward(0, T0)), 0.0) << "save must return the forward exactly";
  EXPECT_EQ(saved.dtype(), dt);
  EXPECT_EQ(gen.batch(), c.batch);
  double worst_full = 0, worst_window = 0;
  for (int64_t s = 1; s <= S; ++s) {
    const int64_t E = T0 + s;  // the new column is x[:, :, E − 1]
    const Tensor& y = gen.step(x.select(2, E - 1).contiguous());
    ASSERT_EQ(y.shape(), (Shape{c.batch, c.channels.back()}));
    const Tensor full = forward(0, E);
    const Tensor window = forward(std::max<int64_t>(0, E - RF), E);
    const double d_full = max_abs_diff(y, full.select(2, E - 1)) / scale;
    const double d_window = max_abs_diff(y, window.select(2, window.size(2) - 1)) / scale;
    ASSERT_LT(d_full, 1e-5) << "step " << s << " vs the full forward";
    ASSERT_LT(d_window, 1e-5) << "step " << s << " vs the forward over the last RF = " << RF << " samples";
    // The whole-sequence forward itself is reproduced column by column.
    ASSERT_LT(max_abs_diff(full.select(2, E - 1), full_all.select(2, E - 1)) / scale, 1e-5);
    worst_full = std::max(worst_full, d_full), worst_window = std::max(worst_window, d_window);
  }
  std::printf("[ tcn K%lld L%zu N%lld T0 %lld RF %lld %s ] %lld steps, max |step − full| / max|y| %.2e, "
              "vs window %.2e (max|y| %.3g)\n",
              (long long)c.K, c.channels.size(), (long long)c.batch, (long long)T0, (long long)RF,
              c.f64 ? "f64" : "f32", (long long)S, worst_full, worst_window, scale);
}

INSTANTIATE_TEST_SUITE_P(
    Configs, TcnStepEqualsFull,
    ::testing::Values(
        // K 2: RF 15, save 1 column (shorter than every queue); RF 255 (dilation 64), save longer.
        TcnCase{3, {4, 4, 5}, 2, 1, 1, 24, false}, TcnCase{5, {6, 6, 4, 4, 7, 7, 7}, 2, 3, 300, 24, false},
        // K 3: RF 29 with a short save, RF 61 with a long one.
        TcnCase{4, {5, 5, 3}, 3, 3, 10, 30, false}, TcnCase{4, {5, 5, 3, 3}, 3, 1, 80, 24, false},
        // K 7: RF 757 (6 levels) with a short save; RF 1525 (7 levels, dilation 64) with a long one.
        TcnCase{2, {3, 4, 4, 4, 3, 3}, 7, 3, 50, 24, false}, TcnCase{2, {3, 3, 4, 4, 4, 4, 3}, 7, 1, 1600, 20, false},
        // f64 parameters: packing converts, the step runs in float32.
        TcnCase{3, {4, 6, 6, 2}, 3, 3, 5, 40, true}, TcnCase{3, {4, 6, 6, 2}, 2, 1, 40, 20, true}));

// ---- save semantics ---------------------------------------------------------------------------

TEST(TcnStep, SaveRunsEvalModeAndRestoresTheTrainingFlag) {
  TCN model = random_tcn(3, {5, 5}, 3, 21);
  Generator g(3);
  const Tensor x = Tensor::randn({2, 3, 12}, DType::F32, g);
  NoGradGuard no_grad;
  const Tensor eval_out = model.forward(Variable(x)).data();
  model.set_training(true);  // dropout 0.2 would change the output
  TcnStepper gen(model);
  EXPECT_EQ(max_abs_diff(gen.save(x), eval_out), 0.0);
  EXPECT_TRUE(model.training());
}

TEST(TcnStep, ResaveWithAnotherBatchAndReset) {
  TCN model = random_tcn(3, {4, 5}, 2, 22);
  Generator g(4);
  const Tensor x = Tensor::randn({3, 3, 9}, DType::F32, g);
  NoGradGuard no_grad;
  const Tensor full = model.forward(Variable(x)).data();
  TcnStepper gen(model);
  gen.save(x.narrow(0, 0, 1).narrow(2, 0, 5).contiguous());
  EXPECT_EQ(gen.batch(), 1);
  gen.save(x.narrow(2, 0, 5).contiguous());  // a new batch size: new buffers
  EXPECT_EQ(gen.batch(), 3);
  for (int64_t t = 5; t < 9; ++t)
    EXPECT_LT(max_abs_diff(gen.step(x.select(2, t).contiguous()), full.select(2, t)), 1e-5) << t;
  // A non-contiguous column is accepted too.
  gen.save(x.narrow(2, 0, 8).contiguous());
  EXPECT_LT(max_abs_diff(gen.step(x.select(2, 8)), full.select(2, 8)), 1e-5);
  gen.reset();
  EXPECT_FALSE(gen.ready());
}

// ---- no allocation per step -------------------------------------------------------------------

TEST(TcnStep, StepAllocatesNothing) {
  TCN model = random_tcn(4, {6, 6, 5, 5}, 3, 23);
  Generator g(5);
  for (step::Weights w : {step::Weights::F32, step::Weights::F16})
    for (int threads : {1, 2}) {
      SCOPED_TRACE(fmt::format("{} team {}", step::weights_name(w), threads));
      TcnStepper gen(model, w);
      gen.set_team_threads(threads);
      NoGradGuard no_grad;
      gen.save(Tensor::randn({2, 4, 7}, DType::F32, g));
      const int64_t before = seqnet::testing::heap_allocs();
      gen.save(Tensor::randn({2, 4, 7}, DType::F32, g));
      if (seqnet::testing::kCountHeap) {
        EXPECT_GT(seqnet::testing::heap_allocs(), before);  // the counter works
      }
      const Tensor column = Tensor::randn({2, 4}, DType::F32, g);
      for (int i = 0; i < 3; ++i) gen.step(column);  // warm-up (BLAS, the OpenMP pool)
      const int64_t t0 = cpu_allocator().stats().total_allocs, h0 = seqnet::testing::heap_allocs();
      for (int i = 0; i < 40; ++i) gen.step(column);
      EXPECT_EQ(cpu_allocator().stats().total_allocs - t0, 0) << "tensor allocations during 40 steps";
      EXPECT_EQ(seqnet::testing::heap_allocs() - h0, 0) << "operator new calls during 40 steps";
    }
}

// ---- f16 weights, teams, prefixes -------------------------------------------------------------

TEST(TcnStep, HalfWeightsStayClose) {
  TCN model = random_tcn(16, {48, 48, 32, 32, 24}, 3, 24);
  Generator g(6);
  const int64_t T0 = 70, S = 30;
  const Tensor x = Tensor::randn({3, 16, T0 + S}, DType::F32, g);
  NoGradGuard no_grad;
  const Tensor full = model.forward(Variable(x)).data();
  const double scale = max_abs(full);
  TcnStepper half(model, step::Weights::F16), single(model);
  EXPECT_EQ(half.weights(), step::Weights::F16);
  EXPECT_EQ(half.step_weight_bytes() * 2, single.step_weight_bytes());
  half.save(x.narrow(2, 0, T0).contiguous());
  double worst = 0;
  for (int64_t t = T0; t < T0 + S; ++t)
    worst = std::max(worst, max_abs_diff(half.step(x.select(2, t).contiguous()), full.select(2, t)) / scale);
  EXPECT_LT(worst, 1e-3);
  std::printf("[ tcn f16 weights ] %lld steps, max |step − full| / max|y| %.2e (max|y| %.3g)\n", (long long)S, worst,
              scale);
}

TEST(TcnStep, ThreadTeamsGiveTheSameOutputs) {
  TCN model = random_tcn(10, {24, 24, 20, 36}, 3, 25);
  Generator g(7);
  NoGradGuard no_grad;
  const Tensor x = Tensor::randn({3, 10, 30}, DType::F32, g);
  const Tensor cols = Tensor::randn({20, 3, 10}, DType::F32, g);
  std::vector<Tensor> outs[2];
  for (int threads : {1, 2}) {
    TcnStepper gen(model);
    gen.set_team_threads(threads);
    gen.save(x);
    for (int64_t s = 0; s < 20; ++s) outs[threads - 1].push_back(gen.step(cols.select(0, s).contiguous()).clone());
  }
  for (size_t i = 0; i < outs[0].size(); ++i) EXPECT_LT(max_abs_diff(outs[0][i], outs[1][i]), 1e-6) << i;
}

TEST(TcnStep, PrefixedModelAsInTaskHeads) {
  TCN model = random_tcn(5, {6, 6, 4}, 2, 26, DType::F32, "conv.");
  Generator g(8);
  NoGradGuard no_grad;
  const Tensor x = Tensor::randn({2, 5, 20}, DType::F32, g);
  const Tensor full = model.forward(Variable(x)).data();
  TcnStepper gen(model);
  gen.save(x.narrow(2, 0, 12).contiguous());
  for (int64_t t = 12; t < 20; ++t)
    EXPECT_LT(max_abs_diff(gen.step(x.select(2, t).contiguous()), full.select(2, t)), 1e-5) << t;
}

// ---- clear errors -----------------------------------------------------------------------------

TEST(TcnStep, ClearErrors) {
  TCN model = random_tcn(3, {4, 4}, 2, 27);
  TcnStepper gen(model);
  NoGradGuard no_grad;
  using ::testing::HasSubstr;
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({1, 3})); }), HasSubstr("call save first"));
  EXPECT_THAT(error_of([&] { gen.save(Tensor::zeros({1, 5, 10})); }),
              AllOf(HasSubstr("TcnStepper::save"), HasSubstr("num_inputs = 3"), HasSubstr("[1, 5, 10]")));
  EXPECT_THAT(error_of([&] { gen.save(Tensor::zeros({1, 3})); }), HasSubstr("(N, num_inputs = 3, T ≥ 1)"));
  EXPECT_THAT(error_of([&] { gen.save(Tensor::zeros({1, 3, 10}, DType::F64)); }), HasSubstr("float32"));
  EXPECT_FALSE(gen.ready());
  gen.save(Tensor::zeros({2, 3, 4}));
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({1, 3})); }),
              AllOf(HasSubstr("N = 2 as in the last save"), HasSubstr("a new batch size needs a new save")));
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({2, 4})); }), HasSubstr("num_inputs = 3"));
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({2, 3}, DType::F64)); }), HasSubstr("float32"));
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({2, 3, 1})); }), HasSubstr("TcnStepper::step"));
  EXPECT_EQ(error_of([&] { gen.step(Tensor::zeros({2, 3})); }), "<no error>");
  gen.reset();
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({2, 3})); }), HasSubstr("call save first"));
}

}  // namespace
