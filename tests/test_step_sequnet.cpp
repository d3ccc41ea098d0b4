// tests/test_step_sequnet.cpp — the clocked step mode of the basic Seq-U-Net
// (models/step/sequnet_step.h), valid and padded mode, against full forwards of the model:
//   * save returns exactly Sequnet::forward;
//   * every step output equals the grid-aligned window of a full forward (docs/generation.md §3b):
//       valid:  forward(x[E − I : E])[..., −1 − (m·C − s)],  E = t0 + 1 + m·C, m = ceil(s / C);
//       padded: forward([X0, x_1 … x_{m·C}])[..., −1 − (m·C − s)], X0 = the save input front-padded
//               to its planned length;
//     over 3 clock cycles, kernels 3 and 5, 2 to 5 levels, channel widths that differ per level,
//     batch 1 and 3, f32 and f64 models; the naive window (ending at the sample, phase 0) differs
//     off the grid, so a wrong clock would be noticed;
//   * steps allocate nothing, f16 weights stay close, prefixed models, thread teams, clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "core/allocator.h"
#include "models/planning.h"
#include "models/sequnet.h"
#include "models/step/sequnet_step.h"
#include "ops/time.h"
#include "test_util.h"

#include "heap_counter.h"

// The binary's global operator new counter (tests/heap_counter.h); −1 where it is not counted.
static int64_t seqnet_test_heap_allocs() {
  return seqnet::testing::kCountHeap ? seqnet::testing::heap_allocs() : -1;
}

using namespace seqnet;
using seqnet::testing::error_of;
using seqnet::testing::max_abs_diff;

namespace {

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to(DType::F64).contiguous().to_vector<double>()) m = std::max(m, std::fabs(v));
  return m;
}

struct StepCase {
  int64_t K;
  std::vector<int64_t> channels;
  bool padded;
  int64_t batch;
  int64_t save_len;  // padded mode: the save input's length T0 (valid mode: input_size())
  DType dtype;
};

void PrintTo(const StepCase& c, std::ostream* os) {
  *os << "K" << c.K << " channels [";
  for (size_t i = 0; i < c.channels.size(); ++i) *os << (i ? "," : "") << c.channels[i];
  *os << "] " << (c.padded ? "padded T0 " + std::to_string(c.save_len) : std::string("valid")) << " N" << c.batch
      << (c.dtype == DType::F64 ? " f64" : " f32");
}

std::unique_ptr<Sequnet> make_model(const StepCase& c, uint64_t seed, const std::string& prefix = "") {
  SequnetConfig cfg;
  cfg.num_inputs = 3, cfg.num_channels = c.channels, cfg.num_outputs = 4, cfg.kernel_size = c.K, cfg.dropout = 0.2;
  const int64_t C = int64_t(1) << (c.channels.size() - 1);
  if (!c.padded) cfg.target_output_size = C;  // O ≥ C: every step's output index −1 − (m·C − s) exists
  Generator g(seed);
  auto model = std::make_unique<Sequnet>(cfg, g, prefix);
  model->set_training(false);  // eval: forward without dropout, comparable with the steps
  if (c.dtype == DType::F64) model->params().store_as(DType::F64);
  return model;
}

class SequnetStepEqualsFull : public ::testing::TestWithParam<StepCase> {};

TEST_P(SequnetStepEqualsFull, EveryStepIsTheGridAlignedWindowOfAFullForward) {
  const StepCase c = GetParam();
  auto owned = make_model(c, 300 + c.K * 10 + c.channels.size() + (c.padded ? 7 : 0));
  Sequnet& model = *owned;
  const int64_t levels = int64_t(c.channels.size()), C = int64_t(1) << (levels - 1), S = 3 * C;
  SequnetStepper gen(model);
  ASSERT_EQ(gen.cycles(), C);
  ASSERT_EQ(gen.padded(), c.padded);

  const int64_t T0 = c.padded ? c.save_len : model.input_size();
  // Padded: the stream is X0 = the save input front-padded to its planned length P0, then the steps.
  const int64_t P0 = c.padded ? plan_basic_sequnet(c.K, levels, T0, true).input_size : T0;
  Generator g(77 + c.K);
  Tensor x = Tensor::randn({c.batch, 3, T0 + S}, c.dtype, g);
  NoGradGuard no_grad;
  Tensor stream = c.padded ? pad_time(Variable(x), P0 - T0).data() : x;  // t0 = P0 − 1 in stream indices

  const Tensor saved = gen.save(x.narrow(2, 0, T0).contiguous());
  const Tensor normal = model.forward(Variable(x.narrow(2, 0, T0).contiguous())).data();
  EXPECT_EQ(saved.dtype(), c.dtype);
  EXPECT_EQ(max_abs_diff(saved, normal), 0.0) << "save must return the model's forward";
  EXPECT_EQ(saved.size(2), c.padded ? T0 : model.output_size());
  EXPECT_EQ(gen.clock(), 1);

  const int64_t I = c.padded ? 0 : model.input_size();
  double worst = 0, scale = 0, worst_naive = 0, worst_history = 0;
  Tensor full;
  int64_t full_m = -1;
  for (int64_t s = 1; s <= S; ++s) {
    const Tensor y = gen.step(x.select(2, T0 + s - 1)).clone();
    ASSERT_EQ(y.shape(), (Shape{c.batch, 4}));
    const int64_t m = (s + C - 1) / C;
    if (m != full_m) {  // the grid-aligned window: it ends at t0 + m·C
      full = c.padded ? model.forward(Variable(stream.narrow(2, 0, P0 + m * C).contiguous())).data()
                      : model.forward(Variable(x.narrow(2, m * C, I).contiguous())).data();
      full_m = m;
      if (c.padded) {
        // The same as the forward over the whole unpadded history x[0 : T0 + m·C], except for T0 = 1
        // (there the history's own plan is 1 + m·C, one cycle shorter than P0 + m·C).
        const Tensor hist = model.forward(Variable(x.narrow(2, 0, T0 + m * C).contiguous())).data();
        worst_history = std::max(worst_history, max_abs_diff(hist.select(2, hist.size(2) - 1),
                                                             full.select(2, full.size(2) - 1)));
      }
    }
    const Tensor ref = full.select(2, full.size(2) - 1 - (m * C - s));
    const double d = max_abs_diff(y, ref);
    scale = std::max(scale, max_abs(ref));
    worst = std::max(worst, d);
    ASSERT_LT(d, 1e-5 * std::max(scale, 1.0)) << "step " << s << " (clock " << (s % C) << ")";
    // The naive window ends at the sample itself (a fresh forward: the sample at grid phase 0).
    if (s % C != 0) {
      const Tensor naive = c.padded ? model.forward(Variable(x.narrow(2, 0, T0 + s).contiguous())).data()
                                    : model.forward(Variable(x.narrow(2, s, I).contiguous())).data();
      worst_naive = std::max(worst_naive, max_abs_diff(y, naive.select(2, naive.size(2) - 1)));
    }
  }
  EXPECT_LE(worst, 1e-5 * scale) << "relative to the largest |output| " << scale;
  EXPECT_GT(worst_naive, 1e-4 * scale) << "off-grid windows ending at the sample should differ from the steps";
  if (c.padded && T0 >= 2) {
    EXPECT_LE(worst_history, 1e-12 * scale) << "for T0 ≥ 2, [X0, steps] is what the history pads itself to";
  }
  std::printf("[ sequnet K%lld L%lld %s N%lld %s ] %lld steps, max |step − full| %.3e (%.1e of max |out| %.3g); "
              "naive window %.3e%s\n",
              (long long)c.K, (long long)levels, c.padded ? fmt::format("padded T0={} P0={}", T0, P0).c_str() : "valid",
              (long long)c.batch, c.dtype == DType::F64 ? "f64" : "f32", (long long)S, worst, worst / scale, scale,
              worst_naive,
              c.padded ? fmt::format("; history forward vs X0 forward {:.3e}", worst_history).c_str() : "");
}

INSTANTIATE_TEST_SUITE_P(
    Configs, SequnetStepEqualsFull,
    ::testing::Values(StepCase{3, {4, 6}, false, 1, 0, DType::F32}, StepCase{5, {5, 3, 7}, false, 3, 0, DType::F32},
                      StepCase{3, {6, 4, 5, 3}, false, 3, 0, DType::F64},
                      StepCase{3, {3, 5, 4, 6, 2}, false, 1, 0, DType::F32},
                      StepCase{5, {4, 3, 5, 2, 6}, false, 3, 0, DType::F32},
                      // padded: save lengths shorter than the receptive field (1, 3, 17) and longer (40, 100)
                      StepCase{5, {4, 3, 5, 2, 6}, true, 3, 3, DType::F32},
                      StepCase{3, {5, 4, 6}, true, 1, 40, DType::F32},
                      StepCase{5, {4, 6, 3, 5}, true, 1, 1, DType::F64},
                      StepCase{3, {6, 5, 7, 4}, true, 3, 100, DType::F32},
                      StepCase{5, {3, 5}, true, 3, 17, DType::F32}, StepCase{3, {4, 5, 3}, true, 3, 40, DType::F64}));

// ---- no allocation per step; f16 weights; API ------------------------------------------------

TEST(SequnetStep, StepAllocatesNothing) {
  for (bool padded : {false, true}) {
    const StepCase c{5, {6, 4, 5, 7}, padded, 3, 11, DType::F32};
    auto owned = make_model(c, 5);
    Sequnet& model = *owned;
    for (step::Weights w : {step::Weights::F32, step::Weights::F16}) {
      SCOPED_TRACE(std::string(padded ? "padded " : "valid ") + step::weights_name(w));
      SequnetStepper gen(model, w);
      Generator g(6);
      NoGradGuard no_grad;
      const Tensor x = Tensor::randn({3, 3, padded ? 11 : model.input_size()}, DType::F32, g);
      const int64_t before = seqnet_test_heap_allocs();
      gen.save(x);
      if (before >= 0) {
        EXPECT_GT(seqnet_test_heap_allocs(), before) << "the counter works: a save allocates";
      }
      const Tensor col = Tensor::randn({3, 3}, DType::F32, g);
      const Tensor col64 = Tensor::randn({3, 3}, DType::F64, g);
      for (int i = 0; i < 3; ++i) gen.step(col);  // warm-up (BLAS may set itself up)
      const int64_t t0 = cpu_allocator().stats().total_allocs, h0 = seqnet_test_heap_allocs();
      for (int64_t s = 0; s < 4 * gen.cycles(); ++s) gen.step(s % 2 ? col : col64);
      EXPECT_EQ(cpu_allocator().stats().total_allocs - t0, 0) << "tensor allocations during steps";
      if (h0 >= 0) {
        EXPECT_EQ(seqnet_test_heap_allocs() - h0, 0) << "operator new calls during steps";
      }
    }
  }
}

// f16 weights: the same steps within 3e-3 of the largest float32 output (and not identical).
TEST(SequnetStep, HalfWeightsStayClose) {
  for (bool padded : {false, true}) {
    const StepCase c{3, {12, 9, 10, 8}, padded, 2, 20, DType::F32};
    auto owned = make_model(c, 8);
    Sequnet& model = *owned;
    SequnetStepper a(model), b(model, step::Weights::F16);
    EXPECT_EQ(b.weights(), step::Weights::F16);
    EXPECT_NEAR(b.step_weight_bytes(), a.step_weight_bytes() / 2, a.step_weight_bytes() * 1e-9);
    Generator g(9);
    NoGradGuard no_grad;
    const Tensor x = Tensor::randn({2, 3, padded ? 20 : model.input_size()}, DType::F32, g);
    a.save(x), b.save(x);
    double diff = 0, scale = 0;
    for (int64_t s = 0; s < 3 * a.cycles(); ++s) {
      const Tensor col = Tensor::randn({2, 3}, DType::F32, g);
      const Tensor ya = a.step(col).clone();
      diff = std::max(diff, max_abs_diff(b.step(col), ya));
      scale = std::max(scale, max_abs(ya));
    }
    std::printf("[ sequnet f16 %s ] max |f16 − f32| %.3e (%.2e of max |output|)\n", padded ? "padded" : "valid", diff,
                diff / scale);
    EXPECT_GT(diff, 0.0);
    EXPECT_LT(diff / scale, 3e-3);
  }
}

// step_weight_bytes counts level j once every 2^j steps (a hand count for a 3-level model).
TEST(SequnetStep, StepWeightBytes) {
  const StepCase c{3, {4, 5, 6}, false, 1, 0, DType::F32};
  auto owned = make_model(c, 10);
  Sequnet& model = *owned;
  SequnetStepper gen(model);
  const double K = 3, f = 4;
  const double down0 = 4 * 3 * K + (4 * 4 * K) / 2, down1 = (5 * 4 * K) / 2 + (5 * 5 * K) / 4, bott = 6 * 5 * K / 4;
  const double up1 = (6 * 6 * 2 + 6 * 6 * 1) / 4.0 + 5 * 11 * K / 2, up0 = (5 * 5 * 2 + 5 * 5 * 1) / 2.0 + 4 * 9 * K;
  EXPECT_DOUBLE_EQ(gen.step_weight_bytes(), f * (down0 + down1 + bott + up1 + up0 + 4 * 4));
}

// Models built with a key prefix (as inside the task heads: "conv.") step as well, and a thread
// team gives the same outputs as one thread.
TEST(SequnetStep, PrefixedModelAndThreadTeams) {
  for (bool padded : {false, true}) {
    const StepCase c{3, {16, 24, 20}, padded, 3, 9, DType::F32};
    auto po = make_model(c, 11), qo = make_model(c, 11, "conv.");
    Sequnet &plain = *po, &prefixed = *qo;
    ASSERT_TRUE(prefixed.params().contains("conv.output_conv.block.0.weight"));
    SequnetStepper a(plain), b(prefixed);
    b.set_team_threads(2);
    Generator g(12);
    NoGradGuard no_grad;
    const Tensor x = Tensor::randn({3, 3, padded ? 9 : plain.input_size()}, DType::F32, g);
    EXPECT_EQ(max_abs_diff(a.save(x), b.save(x)), 0.0);
    for (int64_t s = 0; s < 2 * a.cycles() + 1; ++s) {
      const Tensor col = Tensor::randn({3, 3}, DType::F32, g);
      const Tensor ya = a.step(col).clone();
      EXPECT_LT(max_abs_diff(b.step(col), ya), 1e-6) << "step " << s;
    }
  }
}

// Save resets the clock (a second save after an off-grid number of steps restarts the stream), and
// reset forgets the state.
TEST(SequnetStep, SaveResetsTheClock) {
  const StepCase c{3, {4, 5, 6}, false, 1, 0, DType::F32};
  auto owned = make_model(c, 13);
  Sequnet& model = *owned;
  SequnetStepper a(model), b(model);
  Generator g(14);
  NoGradGuard no_grad;
  const Tensor x = Tensor::randn({1, 3, model.input_size()}, DType::F32, g);
  const Tensor cols = Tensor::randn({9, 1, 3}, DType::F32, g);
  a.save(x), b.save(x);
  for (int64_t s = 0; s < 5; ++s) b.step(cols.select(0, s));
  EXPECT_EQ(b.clock(), 6 % 4);
  b.save(x);
  EXPECT_EQ(b.clock(), 1);
  for (int64_t s = 0; s < 9; ++s) {
    const Tensor ya = a.step(cols.select(0, s)).clone();
    EXPECT_EQ(max_abs_diff(b.step(cols.select(0, s)), ya), 0.0) << "step " << s;
  }
  b.reset();
  EXPECT_FALSE(b.ready());
  EXPECT_EQ(b.clock(), 1);
}

TEST(SequnetStep, ClearErrors) {
  const StepCase c{3, {4, 5}, false, 1, 0, DType::F32};
  auto owned = make_model(c, 15);
  Sequnet& model = *owned;
  SequnetStepper gen(model);
  NoGradGuard no_grad;
  const int64_t I = model.input_size();
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({1, 3})); }), ::testing::HasSubstr("call save first"));
  EXPECT_THAT(error_of([&] { gen.save(Tensor::zeros({1, 3, I + 1})); }),
              ::testing::AllOf(::testing::HasSubstr("valid mode"), ::testing::HasSubstr(std::to_string(I))));
  EXPECT_THAT(error_of([&] { gen.save(Tensor::zeros({1, 2, I})); }), ::testing::HasSubstr("num_inputs = 3"));
  EXPECT_THAT(error_of([&] { gen.save(Tensor::zeros({3, I})); }), ::testing::HasSubstr("expected input (N"));
  EXPECT_THAT(error_of([&] { gen.save(Tensor::zeros({1, 3, I}, DType::I64)); }), ::testing::HasSubstr("f32 or f64"));
  EXPECT_THAT(error_of([&] { gen.save(Tensor()); }), ::testing::HasSubstr("undefined"));
  EXPECT_FALSE(gen.ready());
  gen.save(Tensor::zeros({2, 3, I}));
  EXPECT_TRUE(gen.ready());
  EXPECT_EQ(gen.batch(), 2);
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({1, 3})); }), ::testing::HasSubstr("N = 2"));  // batch differs
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({2, 4})); }), ::testing::HasSubstr("num_inputs = 3"));
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({2, 3, 1})); }), ::testing::HasSubstr("column"));
  EXPECT_THAT(error_of([&] { gen.step(Tensor::zeros({2, 3}, DType::I64)); }), ::testing::HasSubstr("f32 or f64"));
  // Padded mode accepts any save length ≥ 1, not 0.
  const StepCase p{3, {4, 5}, true, 1, 1, DType::F32};
  auto pmo = make_model(p, 16);
  Sequnet& pm = *pmo;
  SequnetStepper pg(pm);
  EXPECT_EQ(pg.save(Tensor::zeros({1, 3, 1})).size(2), 1);
  EXPECT_THAT(error_of([&] { pg.save(Tensor::zeros({1, 3, 0})); }), ::testing::HasSubstr("expected input"));
}

}  // namespace
