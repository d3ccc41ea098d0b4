// tests/test_models_sequnet.cpp — both Seq-U-Net variants (models/sequnet.*, models/sequnet_res.*):
//   * parity with the official PyTorch models (refs: outputs, input and parameter gradients) in
//     float32 and float64;
//   * state_dict keys / order / shapes of the MODELS.md §7 and §8 examples, parameter counts (§11);
//   * causality (output j depends on input I−O+j and on nothing later), padded-mode lengths;
//   * dropout only in training (and one mask per conv block), argument errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/paths.h"
#include "core/safetensors.h"
#include "models/planning.h"
#include "models/sequnet.h"
#include "models/sequnet_res.h"
#include "ops/ops.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

using namespace seqnet;
using namespace seqnet::testing;
using ::testing::HasSubstr;

namespace {

// ---- helpers ----------------------------------------------------------------------------------

struct ErrStats {
  double max_abs = 0;      // max |a − b|
  double max_rel = 0;      // max |a − b| / |b| over |b| ≥ 1e-3
  double max_ratio = 0;    // max |a − b| / (rtol·|b| + atol): ≤ 1 passes
};

// Element-wise |a − b| ≤ rtol·|b| + atol; accumulates the statistics into `st`.
::testing::AssertionResult close(const std::string& what, const Tensor& a, const Tensor& b, double rtol, double atol,
                                 ErrStats& st) {
  if (!a.defined()) return ::testing::AssertionFailure() << what << ": undefined (no gradient reached it)";
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << what << ": shape " << shape_str(a.shape()) << " vs reference "
                                         << shape_str(b.shape());
  const auto av = a.to(DType::F64).contiguous().to_vector<double>();
  const auto bv = b.to(DType::F64).contiguous().to_vector<double>();
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < av.size(); ++i) {
    const double d = std::fabs(av[i] - bv[i]);
    if (!std::isfinite(av[i])) return ::testing::AssertionFailure() << what << ": element " << i << " is " << av[i];
    st.max_abs = std::max(st.max_abs, d);
    if (std::fabs(bv[i]) >= 1e-3) st.max_rel = std::max(st.max_rel, d / std::fabs(bv[i]));
    const double r = d / (rtol * std::fabs(bv[i]) + atol);
    st.max_ratio = std::max(st.max_ratio, r);
    if (r > worst) worst = r, worst_i = i;
  }
  if (worst > 1.0)
    return ::testing::AssertionFailure() << what << ": element " << worst_i << " = " << av[worst_i]
                                         << ", reference " << bv[worst_i] << " (|diff| = "
                                         << std::fabs(av[worst_i] - bv[worst_i]) << ", allowed " << rtol << "·|b| + "
                                         << atol << ")";
  return ::testing::AssertionSuccess();
}

std::vector<std::string> keys_of(const Module& m) {
  std::vector<std::string> out;
  for (const auto& e : m.params().entries()) out.push_back(e.name);
  return out;
}

std::vector<double> values(const Variable& v) { return v.data().to(DType::F64).contiguous().to_vector<double>(); }

// ---- model factories for the reference cases ------------------------------------------------

using Factory = std::function<std::unique_ptr<Module>()>;

SequnetConfig basic_cfg(int64_t in, std::vector<int64_t> ch, int64_t out, int64_t K, std::optional<int64_t> target,
                        double dropout = 0.2) {
  SequnetConfig c;
  c.num_inputs = in;
  c.num_channels = std::move(ch);
  c.num_outputs = out;
  c.kernel_size = K;
  c.dropout = dropout;
  c.target_output_size = target;
  return c;
}

SequnetResConfig res_cfg(int64_t in, int64_t C, int64_t levels, int64_t out, int64_t K, std::optional<int64_t> target,
                         int64_t depth) {
  SequnetResConfig c;
  c.num_inputs = in;
  c.num_channels = C;
  c.num_levels = levels;
  c.num_outputs = out;
  c.kernel_size = K;
  c.target_output_size = target;
  c.depth = depth;
  return c;
}

struct RefCase {
  std::string tag;
  Factory make;
};

std::vector<RefCase> ref_cases() {
  return {
      {"sequnet_basic_valid", [] { return std::make_unique<Sequnet>(basic_cfg(5, {8, 10, 12}, 4, 3, 10)); }},
      {"sequnet_basic_padded",
       [] { return std::make_unique<Sequnet>(basic_cfg(5, {8, 8, 6, 7}, 4, 5, std::nullopt)); }},
      {"sequnet_res_valid", [] { return std::make_unique<SequnetRes>(res_cfg(5, 8, 3, 4, 3, 8, 2)); }},
      {"sequnet_res_padded", [] { return std::make_unique<SequnetRes>(res_cfg(5, 6, 4, 4, 5, std::nullopt, 1)); }},
  };
}

struct ParityParam {
  size_t case_index;
  DType dtype;
};

void PrintTo(const ParityParam& p, std::ostream* os) {
  *os << ref_cases()[p.case_index].tag << (p.dtype == DType::F32 ? " f32" : " f64");
}

std::string parity_name(const ::testing::TestParamInfo<ParityParam>& info) {
  return ref_cases()[info.param.case_index].tag + (info.param.dtype == DType::F32 ? "_f32" : "_f64");
}

class SequnetRefs : public ::testing::TestWithParam<ParityParam> {};

// Loads the official parameters, runs the stored input in eval mode, compares the output, then
// backpropagates R (objective sum(output·R)) and compares grad_input and every grad.<key>.
TEST_P(SequnetRefs, OutputAndGradientsMatchPyTorch) {
  const RefCase rc = ref_cases()[GetParam().case_index];
  const DType dt = GetParam().dtype;
  const std::string dir = refs_dir();
  const std::string pfile = dir + "/" + rc.tag + ".params.safetensors", dfile = dir + "/" + rc.tag + ".data.safetensors";
  if (!path_exists(pfile) || !path_exists(dfile))
    GTEST_SKIP() << "reference files for " << rc.tag << " not found in " << dir << " (set SEQNET_REFS)";
  const SafetensorsFile params = load_safetensors(pfile);
  const SafetensorsFile data = load_safetensors(dfile);

  std::unique_ptr<Module> model = rc.make();
  model->set_training(false);
  // state_dict order and shapes are those of the official model.
  std::vector<std::string> file_keys;
  for (const auto& [k, t] : params.tensors) file_keys.push_back(k);
  ASSERT_EQ(keys_of(*model), file_keys);
  ASSERT_NO_THROW(model->params().load(params));
  if (params.metadata.count("n_parameters")) {
    EXPECT_EQ(model->params().count(), std::stoll(params.metadata.at("n_parameters")));
  }
  if (dt == DType::F64) model->params().store_as(DType::F64);

  // f32: |a − b| ≤ 1e-5·|b| + 2e-6. f64: the refs are exact f64 results rounded once to f32
  // (relative error ≤ 2^-24 ≈ 6e-8), so 1e-7 relative plus a negligible absolute term.
  const double rtol = dt == DType::F32 ? 1e-5 : 1e-7;
  const double atol = dt == DType::F32 ? 2e-6 : 1e-11;

  Variable x(data.get("input").to(dt), true);
  Variable y = model->forward(x);
  ErrStats out_st, grad_st;
  EXPECT_TRUE(close(rc.tag + " output", y.data(), data.get("output"), rtol, atol, out_st));
  y.backward(data.get("R").to(dt));
  EXPECT_TRUE(close(rc.tag + " grad_input", x.grad(), data.get("grad_input"), rtol, atol, grad_st));
  int compared = 0;
  for (const auto& e : model->params().entries()) {
    const std::string key = "grad." + e.name;
    if (!data.contains(key)) {
      ADD_FAILURE() << rc.tag << ": the reference has no " << key;
      continue;
    }
    EXPECT_TRUE(close(rc.tag + " " + key, e.var.grad(), data.get(key), rtol, atol, grad_st));
    ++compared;
  }
  int ref_grads = 0;
  for (const auto& [k, t] : data.tensors) ref_grads += k.rfind("grad.", 0) == 0 ? 1 : 0;
  EXPECT_EQ(compared, ref_grads);  // every grad.<key> of the reference was compared
  std::printf("[ max err  ] %s %s: output abs %.3g rel %.3g (ratio to tol %.3g); gradients abs %.3g rel %.3g "
              "(ratio %.3g)\n",
              rc.tag.c_str(), dt == DType::F32 ? "f32" : "f64", out_st.max_abs, out_st.max_rel, out_st.max_ratio,
              grad_st.max_abs, grad_st.max_rel, grad_st.max_ratio);
}

INSTANTIATE_TEST_SUITE_P(Sequnet, SequnetRefs,
                         ::testing::Values(ParityParam{0, DType::F32}, ParityParam{0, DType::F64},
                                           ParityParam{1, DType::F32}, ParityParam{1, DType::F64},
                                           ParityParam{2, DType::F32}, ParityParam{2, DType::F64},
                                           ParityParam{3, DType::F32}, ParityParam{3, DType::F64}),
                         parity_name);

// ---- state dicts and parameter counts ----------------------------------------------------------

std::vector<std::pair<std::string, Shape>> keys_shapes(const Module& m) {
  std::vector<std::pair<std::string, Shape>> out;
  for (const auto& e : m.params().entries()) out.emplace_back(e.name, e.var.shape());
  return out;
}

std::vector<std::pair<std::string, Shape>> basic_example_keys(const std::string& blk) {
  return {
      {"downsampling_blocks.0.conv1" + blk + ".weight", {4, 3, 3}}, {"downsampling_blocks.0.conv1" + blk + ".bias", {4}},
      {"downsampling_blocks.0.conv2" + blk + ".weight", {4, 4, 3}}, {"downsampling_blocks.0.conv2" + blk + ".bias", {4}},
      {"downsampling_blocks.1.conv1" + blk + ".weight", {5, 4, 3}}, {"downsampling_blocks.1.conv1" + blk + ".bias", {5}},
      {"downsampling_blocks.1.conv2" + blk + ".weight", {5, 5, 3}}, {"downsampling_blocks.1.conv2" + blk + ".bias", {5}},
      {"upsampling_blocks.0.conv1.block.0.weight", {5, 5, 3}},      {"upsampling_blocks.0.conv1.block.0.bias", {5}},
      {"upsampling_blocks.0.conv2" + blk + ".weight", {4, 9, 3}},   {"upsampling_blocks.0.conv2" + blk + ".bias", {4}},
      {"upsampling_blocks.1.conv1.block.0.weight", {6, 6, 3}},      {"upsampling_blocks.1.conv1.block.0.bias", {6}},
      {"upsampling_blocks.1.conv2" + blk + ".weight", {5, 11, 3}},  {"upsampling_blocks.1.conv2" + blk + ".bias", {5}},
      {"bottleneck_conv" + blk + ".weight", {6, 5, 3}},             {"bottleneck_conv" + blk + ".bias", {6}},
      {"output_conv.block.0.weight", {2, 4, 1}},                    {"output_conv.block.0.bias", {2}},
  };
}

TEST(SequnetStateDict, BasicExampleValid) {
  Sequnet m(basic_cfg(3, {4, 5, 6}, 2, 3, 8));
  EXPECT_EQ(keys_shapes(m), basic_example_keys(".block.0"));
  EXPECT_EQ(m.params().count(), 819);
  EXPECT_EQ(m.input_size(), 41);
  EXPECT_EQ(m.output_size(), 9);
  EXPECT_FALSE(m.padded());
}

TEST(SequnetStateDict, BasicExamplePaddedUsesBlock1) {
  Sequnet m(basic_cfg(3, {4, 5, 6}, 2, 3, std::nullopt));
  EXPECT_EQ(keys_shapes(m), basic_example_keys(".block.1"));
  EXPECT_EQ(m.params().count(), 819);
  EXPECT_TRUE(m.padded());
}

TEST(SequnetStateDict, PrefixIsPrepended) {
  Sequnet m(basic_cfg(3, {4, 5, 6}, 2, 3, 8), default_generator(), "conv.");
  for (const auto& k : keys_of(m)) EXPECT_EQ(k.rfind("conv.", 0), 0u) << k;
  SequnetRes r(res_cfg(3, 4, 3, 2, 3, 8, 2), default_generator(), "net.");
  for (const auto& k : keys_of(r)) EXPECT_EQ(k.rfind("net.", 0), 0u) << k;
  // The prefixed models still run.
  NoGradGuard ng;
  EXPECT_EQ(m.forward(Variable(Tensor::zeros({1, 3, 41}))).shape(), (Shape{1, 2, 9}));
  EXPECT_EQ(r.forward(Variable(Tensor::zeros({1, 3, 61}))).shape(), (Shape{1, 2, 8}));
}

TEST(SequnetStateDict, ResidualExample) {
  SequnetRes m(res_cfg(3, 4, 3, 2, 3, 8, 2));
  std::vector<std::pair<std::string, Shape>> want;
  auto layer = [&](const std::string& p, Shape w) {
    for (const char* part : {"filter", "gate"}) {
      want.emplace_back(p + part + ".weight", w);
      want.emplace_back(p + part + ".bias", Shape{4});
    }
  };
  for (int i = 0; i < 2; ++i) {
    const std::string p = "downsampling_blocks." + std::to_string(i) + ".";
    layer(p + "convs.0.", {4, 4, 3});
    layer(p + "convs.1.", {4, 4, 3});
    layer(p + "downconv.", {4, 4, 3});
  }
  for (int i = 0; i < 2; ++i) {
    const std::string p = "upsampling_blocks." + std::to_string(i) + ".";
    layer(p + "upconv.", {4, 4, 3});
    layer(p + "convs.0.", {4, 8, 3});
    layer(p + "convs.1.", {4, 8, 3});
  }
  layer("bottlenecks.0.", {4, 4, 3});
  layer("bottlenecks.1.", {4, 4, 3});
  want.emplace_back("input_conv.weight", Shape{4, 3, 3});
  want.emplace_back("input_conv.bias", Shape{4});
  want.emplace_back("output_conv.1.weight", Shape{2, 4, 1});
  want.emplace_back("output_conv.1.bias", Shape{2});
  EXPECT_EQ(keys_shapes(m), want);
  EXPECT_EQ(m.params().count(), 1890);
  EXPECT_EQ(m.input_size(), 61);
  EXPECT_EQ(m.output_size(), 8);
  EXPECT_EQ(m.cycles(), 4);
}

TEST(SequnetParamCounts, PaperConfigs) {
  // §11: JSB basic ([175,175], K3, 88 → 88) and Nottingham basic ([150]×4, K5).
  EXPECT_EQ(Sequnet(basic_cfg(88, {175, 175}, 88, 3, std::nullopt)).params().count(), 521938);
  EXPECT_EQ(Sequnet(basic_cfg(88, {150, 150, 150, 150}, 88, 5, std::nullopt)).params().count(), 1768738);
  // Char-PTB backbone: 5 905 139 total (49 symbols) = backbone + embedding (49 × 100) + tied
  // decoder bias (49) — the backbone alone.
  EXPECT_EQ(Sequnet(basic_cfg(100, {390, 390, 390, 100}, 100, 3, 320)).params().count(), 5905139 - 49 * 100 - 49);
}

TEST(SequnetParamCounts, RawAudioResidual) {
  // C 180, 11 levels, depth 2, K 5, 256 → 256 (constructed only: no forward, it is big).
  SequnetRes m(res_cfg(256, 180, 11, 256, 5, 5000, 2));
  EXPECT_EQ(m.params().count(), 26867236);
  EXPECT_EQ(m.input_size(), 36857);
  EXPECT_EQ(m.output_size(), 5120);
  EXPECT_EQ(m.cycles(), 1024);
}

// ---- causality -------------------------------------------------------------------------------

// Perturbs every input step t in turn (all channels, both batch rows) and checks, for every
// output j of an (I → O) model: nothing changes when t > I − O + j, and output j changes when
// t = I − O + j (its newest dependency). In f64 for a clean "changed" test.
void check_causality(Module& m, int64_t c_in, int64_t I, int64_t O, uint64_t seed) {
  NoGradGuard ng;
  m.set_training(false);
  const Tensor x0 = rand64({2, c_in, I}, seed);
  const Variable y0v = m.forward(Variable(x0));
  ASSERT_EQ(y0v.size(2), O);
  const int64_t C_out = y0v.size(1);
  const auto y0 = values(y0v);
  for (int64_t t = 0; t < I; ++t) {
    Tensor x = x0.clone();
    double* px = x.data<double>();
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t c = 0; c < c_in; ++c) px[(n * c_in + c) * I + t] += 0.75;
    const auto y = values(m.forward(Variable(x)));
    for (int64_t j = 0; j < O; ++j) {
      double diff = 0;
      for (int64_t n = 0; n < 2; ++n)
        for (int64_t c = 0; c < C_out; ++c) {
          const size_t k = size_t((n * C_out + c) * O + j);
          diff = std::max(diff, std::fabs(y[k] - y0[k]));
        }
      if (t > I - O + j) {
        ASSERT_EQ(diff, 0.0) << "output " << j << " depends on future input " << t << " (I " << I << ", O " << O << ")";
      }
      if (t == I - O + j) {
        ASSERT_GT(diff, 1e-9) << "output " << j << " does not depend on input " << t;
      }
    }
  }
}

TEST(SequnetCausality, BasicValid) {
  for (auto [ch, K, target] : std::vector<std::tuple<std::vector<int64_t>, int64_t, int64_t>>{
           {{4, 5, 6}, 3, 8}, {{3, 4}, 5, 3}, {{3, 3, 4, 5}, 3, 5}}) {
    Generator gen(11);
    Sequnet m(basic_cfg(3, ch, 2, K, target), gen);
    m.params().store_as(DType::F64);
    SCOPED_TRACE(m.describe());
    check_causality(m, 3, m.input_size(), m.output_size(), 5);
  }
}

TEST(SequnetCausality, ResidualFixedPlan) {
  for (auto [C, levels, K, target, depth] : std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>>{
           {4, 3, 3, 8, 2}, {3, 4, 5, 3, 1}, {4, 2, 3, 5, 1}, {3, 1, 3, 4, 2}}) {
    Generator gen(12);
    SequnetRes m(res_cfg(3, C, levels, 2, K, target, depth), gen);
    m.params().store_as(DType::F64);
    SCOPED_TRACE(m.describe());
    check_causality(m, 3, m.input_size(), m.output_size(), 6);
  }
}

TEST(SequnetCausality, PaddedModesAreCausalWithOutputLengthT) {
  Generator gen(13);
  Sequnet b(basic_cfg(3, {4, 5, 6}, 2, 3, std::nullopt), gen);
  SequnetRes r(res_cfg(3, 4, 3, 2, 3, std::nullopt, 2), gen);
  b.params().store_as(DType::F64);
  r.params().store_as(DType::F64);
  for (Module* m : {static_cast<Module*>(&b), static_cast<Module*>(&r)}) {
    SCOPED_TRACE(m->describe());
    for (int64_t T : {1, 2, 7, 23, 40}) {
      NoGradGuard ng;
      m->set_training(false);
      EXPECT_EQ(m->forward(Variable(rand64({2, 3, T}, 3))).shape(), (Shape{2, 2, T})) << "T = " << T;
    }
    check_causality(*m, 3, 23, 23, 8);  // I = O = T: output j depends on input j and nothing later
  }
}

TEST(SequnetCausality, PaddedOutputIsTheTailOfTheZeroPaddedPlan) {
  // Padded mode = the valid computation with P = K − 1 on the input zero-padded to the plan:
  // feeding the explicitly padded input gives the same last T outputs.
  Generator gen(14);
  Sequnet b(basic_cfg(2, {3, 4, 5}, 2, 5, std::nullopt), gen);
  b.set_training(false);
  b.params().store_as(DType::F64);
  NoGradGuard ng;
  const int64_t T = 23;
  const BasicPlan plan = plan_basic_sequnet(5, 3, T, true);
  ASSERT_EQ(plan.input_size, 25);
  const Tensor x = rand64({1, 2, T}, 9);
  const Variable y = b.forward(Variable(x));
  const Variable yp = b.forward(pad_time(Variable(x), plan.input_size - T));  // length 25, planned as-is
  ASSERT_EQ(yp.size(2), 25);
  const auto a = values(y), c = values(crop(yp, T));
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], c[i], 1e-12);
}

// ---- dropout -----------------------------------------------------------------------------------

TEST(SequnetDropout, OnlyActiveInTraining) {
  Generator init(21);
  Sequnet m(basic_cfg(3, {4, 5, 6}, 2, 3, 8, 0.5), init);
  const Variable x(rand64({2, 3, 41}, 1).to(DType::F32));
  NoGradGuard ng;
  m.set_training(false);
  const auto e1 = values(m.forward(x)), e2 = values(m.forward(x));
  EXPECT_EQ(e1, e2);
  Generator g(5);
  m.set_generator(&g);
  const RngState before = g.state();
  m.set_training(false);
  (void)m.forward(x);
  EXPECT_EQ(g.state(), before) << "eval mode must not draw dropout masks";
  m.set_training(true);
  const auto t1 = values(m.forward(x));
  EXPECT_NE(g.state(), before);
  const auto t2 = values(m.forward(x));
  EXPECT_NE(t1, e1);
  EXPECT_NE(t1, t2);
  // Same generator state → same masks → same output.
  g.set_state(before);
  EXPECT_EQ(values(m.forward(x)), t1);
  // f64 training works too (masks drawn in the parameters' dtype).
  m.params().store_as(DType::F64);
  const Variable y64 = m.forward(Variable(x.data().to(DType::F64)));
  EXPECT_EQ(y64.dtype(), DType::F64);
  EXPECT_EQ(y64.shape(), (Shape{2, 2, 9}));
}

TEST(SequnetDropout, OneMaskPerConvBlock) {
  // Valid §7 example, N = 2: masks are drawn after every ConvBlock and every upsampling
  // (4n + 1 = 9 sites); the conv1 output of a down block is dropped once and used both as the
  // shortcut and as the strided conv's input. Count the Philox blocks (ceil(numel / 4) each).
  Sequnet m(basic_cfg(3, {4, 5, 6}, 2, 3, 8, 0.3));
  const int64_t N = 2, K = 3;
  int64_t L = 41, blocks = 0;
  auto site = [&](int64_t C, int64_t len) { blocks += (N * C * len + 3) / 4; };
  std::vector<int64_t> ch = {4, 5, 6};
  L -= K - 1, site(4, L);              // down 0 conv1
  L = (L - K) / 2 + 1, site(4, L);     // down 0 strided
  L -= K - 1, site(5, L);              // down 1 conv1
  L = (L - K) / 2 + 1, site(5, L);     // down 1 strided
  L -= K - 1, site(6, L);              // bottleneck
  L = 2 * L - K, site(6, L);           // up 1 transposed (+ crop)
  L -= K - 1, site(5, L);              // up 1 conv2
  L = 2 * L - K, site(5, L);           // up 0 transposed
  L -= K - 1, site(4, L);              // up 0 conv2
  ASSERT_EQ(L, 9);
  Generator g(3);
  m.set_generator(&g);
  m.set_training(true);
  NoGradGuard ng;
  (void)m.forward(Variable(Tensor::ones({N, 3, 41})));
  EXPECT_EQ(g.state().offset, uint64_t(blocks));
}

TEST(SequnetDropout, DropoutOneLeavesOnlyTheOutputBias) {
  Sequnet m(basic_cfg(3, {4, 5, 6}, 2, 3, std::nullopt, 1.0));
  m.set_training(true);
  NoGradGuard ng;
  const auto y = values(m.forward(Variable(Tensor::ones({1, 3, 10}))));
  const auto b = values(m.params().get("output_conv.block.0.bias"));
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t t = 0; t < 10; ++t) EXPECT_EQ(y[size_t(c * 10 + t)], b[size_t(c)]);
}

TEST(SequnetDropout, ResidualHasNoDropout) {
  SequnetRes m(res_cfg(3, 4, 3, 2, 3, 8, 2));
  const Variable x(rand64({2, 3, 61}, 2).to(DType::F32));
  NoGradGuard ng;
  m.set_training(false);
  const auto e = values(m.forward(x));
  m.set_training(true);
  EXPECT_EQ(values(m.forward(x)), e);
}

// ---- gradients of the padded modes at other lengths (refs cover T = 23 / 21) --------------------

TEST(SequnetGradcheck, PaddedModesInputGradient) {
  Generator gen(31);
  auto b = std::make_shared<Sequnet>(basic_cfg(2, {3, 4}, 2, 3, std::nullopt), gen);
  auto r = std::make_shared<SequnetRes>(res_cfg(2, 3, 3, 2, 3, std::nullopt, 1), gen);
  b->params().store_as(DType::F64);
  r->params().store_as(DType::F64);
  b->set_training(false);
  r->set_training(false);
  for (int64_t T : {5, 8}) {
    EXPECT_TRUE(gradcheck("sequnet basic padded", [b](const std::vector<Variable>& v) { return b->forward(v[0]); },
                          {rand64({1, 2, T}, 40 + T)}));
    EXPECT_TRUE(gradcheck("sequnet residual padded",
                          [r](const std::vector<Variable>& v) { return r->forward(v[0]); }, {rand64({1, 2, T}, 50 + T)}));
  }
}

// ---- describe and errors ---------------------------------------------------------------------

TEST(SequnetDescribe, NamesModeAndPlan) {
  Sequnet v(basic_cfg(5, {8, 10, 12}, 4, 3, 10));
  EXPECT_THAT(v.describe(), HasSubstr("45 -> 13"));
  EXPECT_THAT(v.describe(), HasSubstr("[8, 10, 12]"));
  EXPECT_THAT(Sequnet(basic_cfg(5, {8, 10}, 4, 3, std::nullopt)).describe(), HasSubstr("padded"));
  SequnetRes r(res_cfg(5, 8, 3, 4, 3, 8, 2));
  EXPECT_THAT(r.describe(), HasSubstr("61 -> 8"));
  EXPECT_THAT(r.describe(), HasSubstr("pad_front [1, 0]"));
  EXPECT_THAT(r.describe(), HasSubstr("depth 2"));
}

TEST(SequnetErrors, WrongInputs) {
  Sequnet v(basic_cfg(5, {8, 10, 12}, 4, 3, 10));
  Sequnet p(basic_cfg(5, {8, 10, 12}, 4, 3, std::nullopt));
  SequnetRes r(res_cfg(5, 8, 3, 4, 3, 8, 2));
  SequnetRes rp(res_cfg(5, 8, 3, 4, 3, std::nullopt, 2));
  NoGradGuard ng;
  EXPECT_THAT(error_of([&] { v.forward(Variable(Tensor::zeros({2, 5, 44}))); }),
              AllOf(HasSubstr("45"), HasSubstr("44"), HasSubstr("Sequnet")));
  EXPECT_THAT(error_of([&] { v.forward(Variable(Tensor::zeros({2, 4, 45}))); }), HasSubstr("(N, 5, T)"));
  EXPECT_THAT(error_of([&] { p.forward(Variable(Tensor::zeros({2, 6, 7}))); }), HasSubstr("(N, 5, T)"));
  EXPECT_THAT(error_of([&] { p.forward(Variable(Tensor::zeros({5, 7}))); }), HasSubstr("(N, 5, T)"));
  EXPECT_THAT(error_of([&] { r.forward(Variable(Tensor::zeros({1, 5, 60}))); }),
              AllOf(HasSubstr("61"), HasSubstr("60"), HasSubstr("SequnetRes")));
  EXPECT_THAT(error_of([&] { rp.forward(Variable(Tensor::zeros({1, 3, 60}))); }), HasSubstr("(N, 5, T)"));
  EXPECT_THAT(error_of([&] { v.forward(Variable(Tensor::zeros({2, 5, 45}, DType::F64))); }), HasSubstr("dtype"));
  EXPECT_THAT(error_of([&] { (void)p.input_size(); }), HasSubstr("padded"));
  EXPECT_THAT(error_of([&] { (void)rp.output_size(); }), HasSubstr("target_output_size"));
}

TEST(SequnetErrors, BadConfigs) {
  EXPECT_THAT(error_of([] { (void)Sequnet(basic_cfg(5, {8, 10}, 4, 4, 10)); }), HasSubstr("kernel_size"));
  EXPECT_THAT(error_of([] { (void)Sequnet(basic_cfg(5, {8}, 4, 3, 10)); }), HasSubstr("2 levels"));
  EXPECT_THAT(error_of([] { (void)Sequnet(basic_cfg(5, {8, 0}, 4, 3, 10)); }), HasSubstr("channel"));
  EXPECT_THAT(error_of([] { (void)Sequnet(basic_cfg(5, {8, 8}, 4, 3, 10, 1.5)); }), HasSubstr("dropout"));
  EXPECT_THAT(error_of([] { (void)Sequnet(basic_cfg(5, {8, 8}, 4, 3, 0)); }), HasSubstr("target_output_size"));
  EXPECT_THAT(error_of([] { (void)SequnetRes(res_cfg(5, 8, 3, 4, 2, 8, 1)); }), HasSubstr("kernel_size"));
  EXPECT_THAT(error_of([] { (void)SequnetRes(res_cfg(5, 8, 3, 4, 3, 8, 0)); }), HasSubstr("depth"));
  EXPECT_THAT(error_of([] { (void)SequnetRes(res_cfg(5, 8, 0, 4, 3, 8, 1)); }), HasSubstr("num_levels"));
}

}  // namespace

// Training feeds the residual Seq-U-Net its codes: the K-tap input conv runs as K lookups
// (models/one_hot_conv.h). The same output as the conv over the one-hot input and the same
// gradients, up to the order of the sums (f64), for K = 3 and 5.
TEST(SequnetResCodes, LookupInputConvEqualsTheOneHotConv) {
  for (auto [C, levels, K, target, depth] :
       std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>>{{4, 3, 3, 8, 2}, {3, 2, 5, 5, 1}}) {
    const int64_t classes = 7;
    Generator g1(21), g2(21);
    SequnetRes a(res_cfg(classes, C, levels, 6, K, target, depth), g1),
        b(res_cfg(classes, C, levels, 6, K, target, depth), g2);
    a.params().store_as(DType::F64), b.params().store_as(DType::F64);
    SCOPED_TRACE(a.describe());
    const int64_t N = 2, T = a.input_size();
    Tensor codes = Tensor::empty({N, T}, DType::I64);
    for (int64_t i = 0; i < codes.numel(); ++i) codes.data<int64_t>()[i] = (i * 5 + i / 3) % classes;
    Variable ya = a.forward(Variable(one_hot_channels_first(codes, classes, DType::F64)));
    Variable yb = b.forward_codes(codes);
    ASSERT_EQ(ya.shape(), yb.shape());
    EXPECT_LT(max_abs_diff(ya.data(), yb.data()), 1e-12);
    const Tensor r = rand64(ya.shape(), 11);
    ya.backward(r), yb.backward(r);
    const auto pa = a.params().unique(), pb = b.params().unique();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {
      ASSERT_EQ(pa[i].grad().defined(), pb[i].grad().defined()) << a.params().unique_names()[i];
      if (pa[i].grad().defined()) {
        EXPECT_LT(max_abs_diff(pa[i].grad(), pb[i].grad()), 1e-11) << a.params().unique_names()[i];
      }
    }
  }
  Generator g(3);
  SequnetRes m(res_cfg(7, 4, 3, 6, 3, 8, 1), g);
  EXPECT_THAT(error_of([&] {
                m.forward_codes(Tensor::zeros({2, m.input_size()}, DType::F32));
              }),
              HasSubstr("codes i64 (N, T)"));
  EXPECT_THAT(error_of([&] {
                m.forward_codes(Tensor::zeros({1, m.input_size() + 1}, DType::I64));
              }),
              HasSubstr("planned"));
  SequnetRes unplanned(res_cfg(7, 4, 3, 6, 3, std::nullopt, 1), g);
  EXPECT_THAT(error_of([&] {
                unplanned.forward_codes(Tensor::zeros({1, 40}, DType::I64));
              }),
              HasSubstr("planned output size"));
}
