// tests/test_models_tcn_wavenet.cpp — the TCN (MODELS.md §5) and WaveNet (§6) models:
//   * parity with the official PyTorch outputs and gradients (refs tcn_a, tcn_b, wavenet_a,
//     wavenet_b) in f32 and f64, alias keys included;
//   * parameter counts (§11) and state_dict keys / order (§5, §6 examples);
//   * causality (output j depends on inputs up to I − O + j and on that one), receptive field;
//   * dropout (training vs eval), f64 gradchecks, error messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/paths.h"
#include "core/safetensors.h"
#include "models/heads.h"
#include "models/tcn.h"
#include "models/wavenet.h"
#include "ops/ops.h"
#include "ops/time.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

using namespace seqnet;
using namespace seqnet::testing;
using ::testing::HasSubstr;

namespace {

// ---- reference parity ------------------------------------------------------------------------------

std::unique_ptr<Module> model_from_config(const std::string& config_json) {
  const auto j = nlohmann::json::parse(config_json);
  const std::string cls = j.at("class");
  if (cls == "tcn.TemporalConvNet") {
    TCNConfig c;
    c.num_inputs = j.at("num_inputs");
    c.num_channels = j.at("num_channels").get<std::vector<int64_t>>();
    c.kernel_size = j.at("kernel_size");
    c.dropout = j.at("dropout");
    return std::make_unique<TCN>(c);
  }
  if (cls == "raw_audio/wavenet_model.WaveNetModel") {
    WaveNetConfig c;
    c.layers = j.at("layers");
    c.blocks = j.at("blocks");
    c.dilation_channels = j.at("dilation_channels");
    c.residual_channels = j.at("residual_channels");
    c.skip_channels = j.at("skip_channels");
    c.classes = j.at("classes");
    c.output_length = j.at("output_length");
    c.kernel_size = j.at("kernel_size");
    c.bias = j.at("bias");
    auto m = std::make_unique<WaveNet>(c);
    EXPECT_EQ(m->receptive_field(), j.at("receptive_field").get<int64_t>());
    EXPECT_EQ(m->input_size(), j.at("input_size").get<int64_t>());
    return m;
  }
  ADD_FAILURE() << "unknown class " << cls;
  return nullptr;
}

struct MaxErr {
  double abs = 0, rel = 0;  // rel: |a − b| / |b| over elements with |b| > 1e-3 (tiny b: see abs)
  double scaled = 0;        // max |a − b| / max |b| per tensor
  void merge(const MaxErr& o) {
    abs = std::max(abs, o.abs);
    rel = std::max(rel, o.rel);
    scaled = std::max(scaled, o.scaled);
  }
};

// Elementwise |got − want| ≤ rtol·|want| + atol; records the largest errors.
::testing::AssertionResult close(const std::string& what, const Tensor& got, const Tensor& want, double rtol,
                                 double atol, MaxErr& err) {
  if (!got.defined()) return ::testing::AssertionFailure() << what << ": no gradient";
  if (got.shape() != want.shape())
    return ::testing::AssertionFailure() << what << ": shape " << shape_str(got.shape()) << " vs reference "
                                         << shape_str(want.shape());
  const auto a = got.to(DType::F64).contiguous().to_vector<double>();
  const auto b = want.to(DType::F64).contiguous().to_vector<double>();
  MaxErr e;
  int64_t worst = -1;
  double worst_excess = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    e.abs = std::max(e.abs, d);
    if (std::fabs(b[i]) > 1e-3) e.rel = std::max(e.rel, d / std::fabs(b[i]));
    const double excess = d - (rtol * std::fabs(b[i]) + atol);
    if (!(excess <= 0) && (worst < 0 || excess > worst_excess)) {
      worst = int64_t(i);
      worst_excess = excess;
    }
  }
  double bmax = 0;
  for (double v : b) bmax = std::max(bmax, std::fabs(v));
  if (bmax > 0) e.scaled = e.abs / bmax;
  err.merge(e);
  if (worst >= 0)
    return ::testing::AssertionFailure() << what << ": element " << worst << " is " << a[size_t(worst)]
                                         << ", reference " << b[size_t(worst)] << " (max abs err " << e.abs << ")";
  return ::testing::AssertionSuccess();
}

bool is_zero(const Tensor& t) {
  for (double v : t.to(DType::F64).contiguous().to_vector<double>())
    if (v != 0.0) return false;
  return true;
}

// Builds the model of `tag` from its params file's config, loads the official parameters, runs
// the stored input (eval mode) in `dtype`, backpropagates sum(output · R) and compares output,
// grad_input and grad.<key> for every state_dict key (aliases included).
void check_parity(const std::string& tag, DType dtype) {
  const std::string dir = refs_dir();
  const std::string pfile = dir + "/" + tag + ".params.safetensors", dfile = dir + "/" + tag + ".data.safetensors";
  if (!path_exists(pfile) || !path_exists(dfile))
    GTEST_SKIP() << "reference data for " << tag << " not found in " << dir << " (set SEQNET_REFS)";
  const SafetensorsFile params = load_safetensors(pfile);
  const SafetensorsFile data = load_safetensors(dfile);
  std::unique_ptr<Module> model = model_from_config(params.metadata.at("config"));
  ASSERT_TRUE(model);
  model->params().load(params);
  EXPECT_EQ(model->params().count(), std::stoll(params.metadata.at("n_parameters")));
  model->params().store_as(dtype);
  model->set_training(false);

  // f32: the stored values are float64 results rounded to f32, ours are f32 computations.
  // f64: only the rounding of the stored values remains (≤ 2^-24 relative).
  const double rtol = dtype == DType::F32 ? 1e-5 : 1e-6;
  const double atol = dtype == DType::F32 ? 2e-6 : 1e-9;
  MaxErr out_err, grad_err;

  Variable x(data.get("input").to(dtype), true);
  Variable y = model->forward(x);
  EXPECT_EQ(y.dtype(), dtype);
  EXPECT_TRUE(close(tag + " output", y.data(), data.get("output"), rtol, atol, out_err));
  y.backward(data.get("R").to(dtype));
  EXPECT_TRUE(close(tag + " grad_input", x.grad(), data.get("grad_input"), rtol, atol, grad_err));
  int checked = 0, absent = 0;
  for (const auto& e : model->params().entries()) {
    const std::string key = "grad." + e.name;
    const Tensor& g = e.var.grad();
    if (data.contains(key)) {
      EXPECT_TRUE(close(tag + " " + key, g, data.get(key), rtol, atol, grad_err));
      if (g.defined()) {
        EXPECT_EQ(g.dtype(), dtype) << key;
      }
      ++checked;
    } else {
      // Only WaveNet's last residual conv gets no gradient in PyTorch: ours must be zero (or
      // undefined, which the optimisers treat as "no gradient" exactly like PyTorch's None).
      EXPECT_THAT(e.name, ::testing::StartsWith("residual_convs.")) << tag << ": reference lacks " << key;
      EXPECT_TRUE(!g.defined() || is_zero(g)) << key << " should have a zero gradient";
      ++absent;
    }
  }
  // Every reference gradient belongs to a parameter of ours.
  for (const auto& [name, t] : data.tensors) {
    if (name.rfind("grad.", 0) == 0) {
      EXPECT_TRUE(model->params().contains(name.substr(5))) << tag << ": unexpected reference " << name;
    }
  }
  std::printf("[ parity   ] %s %s: %d grads compared (%d absent → zero); output max abs %.3g rel %.3g "
              "(of max %.3g); grads max abs %.3g rel %.3g (of max %.3g)\n",
              tag.c_str(), dtype_name(dtype), checked, absent, out_err.abs, out_err.rel, out_err.scaled, grad_err.abs,
              grad_err.rel, grad_err.scaled);
}

}  // namespace

TEST(TCNRefs, TcnA_F32) { check_parity("tcn_a", DType::F32); }
TEST(TCNRefs, TcnA_F64) { check_parity("tcn_a", DType::F64); }
TEST(TCNRefs, TcnB_F32) { check_parity("tcn_b", DType::F32); }
TEST(TCNRefs, TcnB_F64) { check_parity("tcn_b", DType::F64); }
TEST(WaveNetRefs, WavenetA_F32) { check_parity("wavenet_a", DType::F32); }
TEST(WaveNetRefs, WavenetA_F64) { check_parity("wavenet_a", DType::F64); }
TEST(WaveNetRefs, WavenetB_F32) { check_parity("wavenet_b", DType::F32); }
TEST(WaveNetRefs, WavenetB_F64) { check_parity("wavenet_b", DType::F64); }

// The alias keys share the Variable of their primary: one gradient, one storage, and loading a
// file whose alias differs from its primary is refused.
TEST(TCNRefs, AliasesShareTheParameter) {
  TCN m({3, {4, 4, 5}, 3, 0.2});
  const ParameterSet& p = m.params();
  for (const char* t : {"bias", "weight_g", "weight_v"}) {
    EXPECT_EQ(p.get(std::string("network.1.net.0.") + t).impl(), p.get(std::string("network.1.conv1.") + t).impl());
    EXPECT_EQ(p.get(std::string("network.2.net.4.") + t).impl(), p.get(std::string("network.2.conv2.") + t).impl());
  }
  const std::string pfile = refs_dir() + "/tcn_a.params.safetensors";
  if (!path_exists(pfile)) GTEST_SKIP() << "tcn_a reference not found in " << refs_dir();
  SafetensorsFile f = load_safetensors(pfile);
  for (auto& [name, t] : f.tensors)
    if (name == "network.1.net.0.bias") t = t.clone(), t.data<float>()[0] += 1.0f;
  TCN a({5, {8, 8, 6}, 3, 0.2});
  EXPECT_THAT(error_of([&] { a.params().load(f); }), HasSubstr("network.1.net.0.bias"));
}

// ---- parameter counts (§11) and state_dict layout (§5, §6) -------------------------------------

TEST(TCNParams, CountFormula) {
  // Σ over blocks of C_out(C_in·K + 2) + C_out(C_out·K + 2) + [C_in ≠ C_out]·C_out(C_in + 1).
  auto formula = [](int64_t in, const std::vector<int64_t>& ch, int64_t K) {
    int64_t n = 0;
    for (size_t i = 0; i < ch.size(); ++i) {
      const int64_t ci = i ? ch[i - 1] : in, co = ch[i];
      n += co * (ci * K + 2) + co * (co * K + 2) + (ci != co ? co * (ci + 1) : 0);
    }
    return n;
  };
  struct Case {
    int64_t in;
    std::vector<int64_t> ch;
    int64_t K, expected;  // backbone only: §11 total minus the task head
  };
  const std::vector<Case> cases = {
      {3, {4, 4, 5}, 3, 408},                                // §5 example
      {88, {220, 220}, 3, 534468 - (220 * 88 + 88)},         // JSB TCN − Linear(220 → 88)
      {88, {215, 215, 215, 215}, 5, 1754058 - (215 * 88 + 88)},  // Nottingham / Muse − Linear
      {100, {600, 600, 600, 100}, 3, 5923249 - (49 * 100 + 49)},  // char PTB (49 symbols) − tied emb/dec (bias)
      {600, {600, 600, 600, 600}, 3, 14659600 - (10000 * 600 + 10000)},  // word PTB − tied emb/dec
      {1, {10, 10, 10, 10, 10, 10, 10, 10}, 7, 11020 - (10 * 10 + 10)},  // copy memory − Linear
  };
  for (const Case& c : cases) {
    TCN m({c.in, c.ch, c.K, 0.2});
    EXPECT_EQ(m.params().count(), c.expected) << m.describe();
    EXPECT_EQ(m.params().count(), formula(c.in, c.ch, c.K)) << m.describe();
  }
}

TEST(WaveNetParams, Count) {
  WaveNet ex({2, 2, 4, 3, 5, 6, 4, 2, true});
  EXPECT_EQ(ex.params().count(), 471);
  WaveNet ex_nobias({2, 2, 4, 3, 5, 6, 4, 2, false});
  EXPECT_EQ(ex_nobias.params().count(), 471 - (3 + 4 * (2 * 4 + 3 + 5)));
  WaveNet audio({13, 4, 128, 128, 512, 256, 5000, 2, true});
  EXPECT_EQ(audio.params().count(), 8141184);
  EXPECT_EQ(audio.receptive_field(), 32765);
  EXPECT_EQ(audio.input_size(), 37764);
}

TEST(TCNParams, StateDictKeysInOfficialOrder) {
  TCN m({3, {4, 4, 5}, 3, 0.2});
  std::vector<std::string> want;
  std::vector<Shape> shapes;
  auto level = [&](int i, int64_t ci, int64_t co) {
    const std::string p = "network." + std::to_string(i) + ".";
    for (const char* conv : {"conv1.", "conv2.", "net.0.", "net.4."}) {
      const int64_t c = (conv == std::string("conv1.") || conv == std::string("net.0.")) ? ci : co;
      want.push_back(p + conv + "bias"), shapes.push_back({co});
      want.push_back(p + conv + "weight_g"), shapes.push_back({co, 1, 1});
      want.push_back(p + conv + "weight_v"), shapes.push_back({co, c, 3});
    }
    if (ci != co) {
      want.push_back(p + "downsample.weight"), shapes.push_back({co, ci, 1});
      want.push_back(p + "downsample.bias"), shapes.push_back({co});
    }
  };
  level(0, 3, 4);
  level(1, 4, 4);
  level(2, 4, 5);
  const auto sd = m.params().state_dict();
  ASSERT_EQ(sd.size(), want.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    EXPECT_EQ(sd[i].first, want[i]) << "key " << i;
    EXPECT_EQ(sd[i].second.shape(), shapes[i]) << want[i];
    EXPECT_EQ(sd[i].second.dtype(), DType::F32) << want[i];
  }
  EXPECT_EQ(m.params().unique().size(), 6u * 3 + 2 * 2);
  EXPECT_EQ(m.params().count(), 408);

  // Task heads build the backbone with a prefix.
  TCN pre({3, {4, 4, 5}, 3, 0.2}, default_generator(), "tcn.");
  ASSERT_EQ(pre.params().entries().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(pre.params().entries()[i].name, "tcn." + want[i]);
  Variable y = pre.forward(Variable(Tensor::zeros({1, 3, 6})));
  EXPECT_EQ(y.shape(), (Shape{1, 5, 6}));
}

TEST(WaveNetParams, StateDictKeysInOfficialOrder) {
  WaveNet m({2, 2, 4, 3, 5, 6, 4, 2, true});
  std::vector<std::pair<std::string, Shape>> want;
  auto list = [&](const std::string& mod, Shape w, int64_t b) {
    for (int i = 0; i < 4; ++i) {
      want.push_back({mod + "." + std::to_string(i) + ".weight", w});
      want.push_back({mod + "." + std::to_string(i) + ".bias", {b}});
    }
  };
  list("filter_convs", {4, 3, 2}, 4);
  list("gate_convs", {4, 3, 2}, 4);
  list("residual_convs", {3, 4, 1}, 3);
  list("skip_convs", {5, 4, 1}, 5);
  want.push_back({"start_conv.weight", {3, 6, 1}});
  want.push_back({"start_conv.bias", {3}});
  want.push_back({"end_conv_1.weight", {5, 5, 1}});
  want.push_back({"end_conv_1.bias", {5}});
  want.push_back({"end_conv_2.weight", {6, 5, 1}});
  want.push_back({"end_conv_2.bias", {6}});
  const auto sd = m.params().state_dict();
  ASSERT_EQ(sd.size(), want.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    EXPECT_EQ(sd[i].first, want[i].first) << "key " << i;
    EXPECT_EQ(sd[i].second.shape(), want[i].second) << want[i].first;
  }

  // bias = false: only the end convs keep their biases.
  WaveNet nb({2, 2, 4, 3, 5, 6, 4, 2, false});
  std::vector<std::string> names;
  for (const auto& e : nb.params().entries()) names.push_back(e.name);
  std::vector<std::string> want_nb;
  for (const auto& [k, s] : want)
    if (k.find(".bias") == std::string::npos || k.rfind("end_conv", 0) == 0) want_nb.push_back(k);
  EXPECT_EQ(names, want_nb);
}

TEST(TCNParams, Initialisation) {
  Generator gen(7);
  TCN m({6, {40, 30}, 3, 0.2}, gen);
  const ParameterSet& p = m.params();
  // v ~ U(±1/sqrt(C_in·K)), g = ‖v‖ per output channel (so W = v), bias ~ U(±1/sqrt(C_in·K)).
  const Tensor v = p.get("network.1.conv1.weight_v").data();
  const Tensor g = p.get("network.1.conv1.weight_g").data();
  const double bound = 1 / std::sqrt(40.0 * 3);
  const auto vv = v.to(DType::F64).to_vector<double>();
  const auto gv = g.to(DType::F64).to_vector<double>();
  double vmax = 0;
  for (double x : vv) vmax = std::max(vmax, std::fabs(x));
  EXPECT_LE(vmax, bound);
  EXPECT_GT(vmax, 0.9 * bound);
  for (int64_t o = 0; o < 30; ++o) {
    double ss = 0;
    for (int64_t k = 0; k < 120; ++k) ss += vv[size_t(o * 120 + k)] * vv[size_t(o * 120 + k)];
    EXPECT_NEAR(gv[size_t(o)], std::sqrt(ss), 1e-6);
  }
  for (double b : p.get("network.0.conv2.bias").data().to(DType::F64).to_vector<double>())
    EXPECT_LE(std::fabs(b), 1 / std::sqrt(40.0 * 3));
  // downsample weight ~ N(0, 0.01²), its bias default (fan_in = C_in).
  const auto dw = p.get("network.0.downsample.weight").data().to(DType::F64).to_vector<double>();
  double s2 = 0;
  for (double x : dw) s2 += x * x;
  EXPECT_NEAR(std::sqrt(s2 / double(dw.size())), 0.01, 0.002);
  for (double b : p.get("network.0.downsample.bias").data().to(DType::F64).to_vector<double>())
    EXPECT_LE(std::fabs(b), 1 / std::sqrt(6.0));
  // Same generator seed → same parameters.
  Generator gen2(7);
  TCN m2({6, {40, 30}, 3, 0.2}, gen2);
  EXPECT_EQ(m2.params().get("network.1.conv2.weight_v").data().to_vector<float>(),
            p.get("network.1.conv2.weight_v").data().to_vector<float>());
}

TEST(TCNParams, Describe) {
  EXPECT_EQ(TCN({5, {8, 8, 6}, 3, 0.2}).describe(), "TCN(5 → [8, 8, 6], K=3, dropout 0.2, RF 29)");
  EXPECT_EQ(TCN({4, {7, 7, 7, 3}, 2, 0.0}).receptive_field(), 31);
  const std::string w = WaveNet({3, 2, 8, 6, 10, 12, 5, 2, true}).describe();
  EXPECT_THAT(w, HasSubstr("WaveNet"));
  EXPECT_THAT(w, HasSubstr("RF 15"));
}

// ---- causality ----------------------------------------------------------------------------------

namespace {

// For every input step t: perturb x[:, :, t] and record which output steps change. Returns
// changed[t][j]. Model in eval mode, f64.
std::vector<std::vector<bool>> dependency_map(Module& m, const Tensor& x) {
  NoGradGuard ng;
  const Tensor base = m.forward(Variable(x)).data().contiguous();
  const int64_t N = x.size(0), C = x.size(1), T = x.size(2), O = base.size(2), Co = base.size(1);
  std::vector<std::vector<bool>> changed(size_t(T), std::vector<bool>(size_t(O), false));
  for (int64_t t = 0; t < T; ++t) {
    Tensor xp = x.clone();
    double* px = xp.data<double>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) px[(n * C + c) * T + t] += 0.5 + 0.1 * double(c);
    const Tensor y = m.forward(Variable(xp)).data().contiguous();
    const double* a = y.data<double>();
    const double* b = base.data<double>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < Co; ++o)
        for (int64_t j = 0; j < O; ++j)
          if (a[(n * Co + o) * O + j] != b[(n * Co + o) * O + j]) changed[size_t(t)][size_t(j)] = true;
  }
  return changed;
}

// Output j may depend only on inputs I − O + j − (rf − 1) .. I − O + j, and must depend on I − O + j.
void expect_causal(Module& m, const Tensor& x, int64_t rf) {
  const auto changed = dependency_map(m, x);
  const int64_t I = int64_t(changed.size()), O = int64_t(changed[0].size());
  for (int64_t j = 0; j < O; ++j) {
    const int64_t newest = I - O + j;
    EXPECT_TRUE(changed[size_t(newest)][size_t(j)]) << "output " << j << " does not depend on input " << newest;
    for (int64_t t = 0; t < I; ++t) {
      if (t > newest || t < newest - (rf - 1)) {
        EXPECT_FALSE(changed[size_t(t)][size_t(j)]) << "output " << j << " depends on input " << t << " (I " << I
                                                   << ", O " << O << ", RF " << rf << ")";
      }
    }
  }
  // The receptive field is attained: some output depends on the oldest input of its window.
  // (Not every output need: in the TCN only one path — tap 0 of every conv — reaches that input,
  // and a ReLU may cut it for a given input.)
  bool full = false;
  for (int64_t j = 0; j < O; ++j) {
    const int64_t oldest = I - O + j - (rf - 1);
    if (oldest >= 0 && changed[size_t(oldest)][size_t(j)]) full = true;
  }
  EXPECT_TRUE(full) << "no output depends on the input " << rf - 1 << " steps before its newest one";
}

}  // namespace

TEST(TCNCausality, OutputJDependsOnInputsUpToJ) {
  Generator gen(11);
  TCN m({3, {8, 8, 6}, 3, 0.2}, gen);  // RF 29
  m.params().store_as(DType::F64);
  m.set_training(false);
  const Tensor x = rand64({2, 3, 40}, 12);
  expect_causal(m, x, m.receptive_field());
  TCN m2({2, {6, 5}, 2, 0.0}, gen);  // K = 2, RF 7
  m2.params().store_as(DType::F64);
  m2.set_training(false);
  expect_causal(m2, rand64({2, 2, 15}, 13), m2.receptive_field());
}

TEST(WaveNetCausality, OutputJDependsOnInputsUpToRFMinus1PlusJ) {
  Generator gen(21);
  WaveNet m({3, 2, 5, 4, 6, 7, 6, 2, true}, gen);  // RF 15, 20 inputs → 6 outputs
  m.params().store_as(DType::F64);
  m.set_training(false);
  const Tensor x = rand64({2, 7, m.input_size()}, 22);
  EXPECT_EQ(m.forward(Variable(x)).shape(), (Shape{2, 7, 6}));
  expect_causal(m, x, m.receptive_field());
  WaveNet m3({2, 2, 4, 3, 5, 6, 3, 3, false}, gen);  // K = 3, RF 13; longer input than planned
  m3.params().store_as(DType::F64);
  m3.set_training(false);
  const Tensor x3 = rand64({1, 6, 17}, 23);
  EXPECT_EQ(m3.forward(Variable(x3)).shape(), (Shape{1, 6, 17 - 13 + 1}));
  expect_causal(m3, x3, m3.receptive_field());
}

// ---- dropout --------------------------------------------------------------------------------------

TEST(TCNDropout, TrainingDiffersFromEvalAndEvalIsDeterministic) {
  Generator init(31);
  TCN m({3, {8, 8}, 3, 0.3}, init);
  const Variable x(Tensor::uniform({2, 3, 20}, -1, 1, DType::F32, init));
  m.set_training(false);
  const auto e1 = m.forward(x).data().to_vector<float>();
  const auto e2 = m.forward(x).data().to_vector<float>();
  EXPECT_EQ(e1, e2);
  Generator g(5);
  m.set_generator(&g);
  m.set_training(true);
  const auto t1 = m.forward(x).data().to_vector<float>();
  const auto t2 = m.forward(x).data().to_vector<float>();
  EXPECT_NE(t1, e1);
  EXPECT_NE(t1, t2);  // fresh masks each call
  Generator g_again(5);
  m.set_generator(&g_again);
  EXPECT_EQ(m.forward(x).data().to_vector<float>(), t1);  // masks come from the model's generator
  // dropout 0: training is the same function as eval.
  Generator init0(31);
  TCN m0({3, {8, 8}, 3, 0.0}, init0);
  m0.set_training(true);
  const auto a = m0.forward(x).data().to_vector<float>();
  m0.set_training(false);
  EXPECT_EQ(m0.forward(x).data().to_vector<float>(), a);
}

TEST(WaveNetDropout, HasNoDropout) {
  Generator init(32);
  WaveNet m({2, 2, 4, 3, 5, 6, 4, 2, true}, init);
  const Variable x(Tensor::uniform({1, 6, m.input_size()}, -1, 1, DType::F32, init));
  m.set_training(true);
  const auto a = m.forward(x).data().to_vector<float>();
  m.set_training(false);
  EXPECT_EQ(m.forward(x).data().to_vector<float>(), a);
}

// ---- gradchecks (f64) -----------------------------------------------------------------------------

namespace {

// Central differences of L = Σ model(x) ⊙ R w.r.t. a few elements of parameter `name`, against
// the gradient autograd stores in that parameter.
void check_param_grad(Module& m, const Tensor& x, const std::string& name, int64_t max_elems = 12) {
  const Tensor R = rand64(m.forward(Variable(x)).shape(), 99);
  auto loss = [&] {
    NoGradGuard ng;
    const auto y = m.forward(Variable(x)).data().contiguous().to_vector<double>();
    const auto r = R.to_vector<double>();
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += y[i] * r[i];
    return s;
  };
  m.params().zero_grad();
  for (const auto& v : m.params().unique()) {
    Variable w = v;
    w.set_grad(Tensor());
  }
  m.forward(Variable(x)).backward(R);
  Variable p = m.params().get(name);
  ASSERT_TRUE(p.grad().defined()) << name;
  const Tensor g = p.grad().contiguous();
  double* pd = p.data().data<double>();
  const int64_t n = p.numel(), step = std::max<int64_t>(1, n / max_elems);
  for (int64_t k = 0; k < n; k += step) {
    const double h = 1e-6, orig = pd[k];
    pd[k] = orig + h;
    const double lp = loss();
    pd[k] = orig - h;
    const double lm = loss();
    pd[k] = orig;
    const double num = (lp - lm) / (2 * h);
    EXPECT_NEAR(g.data<double>()[k], num, 1e-7 + 1e-5 * std::fabs(num)) << name << " element " << k;
  }
}

}  // namespace

TEST(TCNGradcheck, InputAndParameters) {
  Generator gen(41);
  TCN m({2, {3, 3, 2}, 2, 0.0}, gen);
  m.params().store_as(DType::F64);
  m.set_training(false);
  EXPECT_TRUE(gradcheck("TCN", [&](const std::vector<Variable>& v) { return m.forward(v[0]); },
                        {rand64({2, 2, 9}, 42)}));
  const Tensor x = rand64({2, 2, 9}, 43);
  for (const char* name : {"network.0.conv1.weight_g", "network.0.conv1.weight_v", "network.1.conv2.bias",
                           "network.2.downsample.weight", "network.0.downsample.bias"})
    check_param_grad(m, x, name);
}

TEST(WaveNetGradcheck, InputAndParameters) {
  Generator gen(51);
  WaveNet m({2, 2, 3, 2, 4, 3, 3, 2, true}, gen);
  m.params().store_as(DType::F64);
  EXPECT_TRUE(gradcheck("WaveNet", [&](const std::vector<Variable>& v) { return m.forward(v[0]); },
                        {rand64({2, 3, m.input_size()}, 52)}));
  const Tensor x = rand64({2, 3, m.input_size()}, 53);
  for (const char* name : {"filter_convs.1.weight", "gate_convs.3.bias", "residual_convs.0.weight",
                           "skip_convs.2.weight", "start_conv.weight", "end_conv_1.bias", "end_conv_2.weight"})
    check_param_grad(m, x, name);
}

// ---- errors ---------------------------------------------------------------------------------------

TEST(TCNErrors, WrongInputShape) {
  TCN m({5, {8, 6}, 3, 0.2});
  const std::string e = error_of([&] { m.forward(Variable(Tensor::zeros({2, 4, 10}))); });
  EXPECT_THAT(e, HasSubstr("TCN"));
  EXPECT_THAT(e, HasSubstr("[2, 4, 10]"));
  EXPECT_THAT(e, HasSubstr("5"));
  EXPECT_THAT(error_of([&] { m.forward(Variable(Tensor::zeros({5, 10}))); }), HasSubstr("TCN"));
  EXPECT_THAT(error_of([&] { m.forward(Variable(Tensor::zeros({1, 5, 0}))); }), HasSubstr("TCN"));
  EXPECT_THAT(error_of([] { TCN({5, {}, 3, 0.2}); }), HasSubstr("TCN"));
  EXPECT_THAT(error_of([] { TCN({5, {4}, 3, 1.5}); }), HasSubstr("dropout"));
}

TEST(WaveNetErrors, WrongInputShapeAndTooShort) {
  WaveNet m({3, 2, 8, 6, 10, 12, 5, 2, true});  // RF 15
  std::string e = error_of([&] { m.forward(Variable(Tensor::zeros({2, 11, 19}))); });
  EXPECT_THAT(e, HasSubstr("WaveNet"));
  EXPECT_THAT(e, HasSubstr("[2, 11, 19]"));
  e = error_of([&] { m.forward(Variable(Tensor::zeros({2, 12, 14}))); });
  EXPECT_THAT(e, HasSubstr("WaveNet"));
  EXPECT_THAT(e, HasSubstr("[2, 12, 14]"));
  EXPECT_THAT(e, HasSubstr("15"));
  EXPECT_EQ(m.forward(Variable(Tensor::zeros({2, 12, 15}))).shape(), (Shape{2, 12, 1}));
  EXPECT_THAT(error_of([] { WaveNet({0, 2, 8, 6, 10, 12, 5, 2, true}); }), HasSubstr("WaveNet"));
}

// Training feeds the WaveNet its codes: start_conv runs as a lookup (models/one_hot_conv.h). Same
// output as the one-hot conv bit for bit, and the same gradients (the weight gradient sums the
// same terms in another order), with and without biases, in f64.
TEST(WaveNetCodes, LookupStartConvEqualsTheOneHotConv) {
  for (bool bias : {false, true}) {
    WaveNetConfig cfg;
    cfg.layers = 3, cfg.blocks = 2, cfg.dilation_channels = 4, cfg.residual_channels = 5, cfg.skip_channels = 6;
    cfg.classes = 7, cfg.output_length = 9, cfg.bias = bias;
    Generator g1(3), g2(3);
    WaveNet a(cfg, g1), b(cfg, g2);
    a.params().store_as(DType::F64), b.params().store_as(DType::F64);
    const int64_t N = 2, T = a.input_size() + 2;
    Tensor codes = Tensor::empty({N, T}, DType::I64);
    for (int64_t i = 0; i < codes.numel(); ++i) codes.data<int64_t>()[i] = (i * 5 + i / 3) % cfg.classes;
    Variable ya = a.forward(Variable(one_hot_channels_first(codes, cfg.classes, DType::F64)));
    Variable yb = b.forward_codes(codes);
    ASSERT_EQ(ya.shape(), yb.shape());
    EXPECT_EQ(ya.data().to_vector<double>(), yb.data().to_vector<double>()) << "bias " << bias;
    const Tensor r = rand64(ya.shape(), 11);
    ya.backward(r), yb.backward(r);
    const auto pa = a.params().unique(), pb = b.params().unique();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {
      if (!pa[i].grad().defined()) {
        EXPECT_FALSE(pb[i].grad().defined());
        continue;
      }
      EXPECT_LT(max_abs_diff(pa[i].grad(), pb[i].grad()), 1e-12) << a.params().unique_names()[i];
    }
  }
  WaveNet w(WaveNetConfig{}, default_generator());
  EXPECT_THAT(error_of([&] { w.forward_codes(Tensor::zeros({2, 3}, DType::F32)); }), HasSubstr("codes i64 (N, T)"));
  EXPECT_THAT(error_of([&] { w.forward_codes(Tensor::zeros({1, 10}, DType::I64)); }), HasSubstr("too short"));
}

// ---- the newest output steps alone ----------------------------------------------------------------

namespace {

// Runs `forward` (a closure giving (N, C, k) outputs), a loss Σ y ⊙ weights, and returns the outputs
// followed by every parameter's gradient, flattened.
std::vector<double> outputs_and_grads(ParameterSet& params, const Tensor& weights,
                                      const std::function<Variable()>& forward) {
  params.zero_grad();
  Variable y = forward();
  sum(y * Variable(weights)).backward();
  std::vector<double> all = y.data().contiguous().to_vector<double>();
  for (const Variable& p : params.unique()) {
    const std::vector<double> g = p.grad().to_vector<double>();
    all.insert(all.end(), g.begin(), g.end());
  }
  return all;
}

void expect_all_near(const std::vector<double>& a, const std::vector<double>& b, double tol, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol) << what << ", value " << i;
}

}  // namespace

// TCN::forward_newest computes only the steps the output needs (each level fewer); its outputs and
// gradients are those of forward's newest steps. f64, training mode with dropout 0 (the masks of
// a smaller tensor are other draws), over kernel sizes, level counts, and lengths shorter and
// longer than the receptive field, newest from 1 to T.
TEST(TCNNewest, EqualsTheNewestStepsOfTheFullForwardWithTheSameGradients) {
  struct Case {
    int64_t K;
    std::vector<int64_t> channels;
    int64_t T;
  };
  const Case cases[] = {{3, {5, 4, 6}, 40}, {2, {3, 3, 3, 2}, 9}, {7, {4, 5}, 30}, {1, {3, 2}, 6}, {3, {4}, 1}};
  for (const Case& c : cases) {
    Generator init(51);
    TCN m({3, c.channels, c.K, 0.0}, init);
    m.params().store_as(DType::F64);
    const Variable x(Tensor::uniform({2, 3, c.T}, -1, 1, DType::F64, init));
    for (int64_t newest : {int64_t(1), std::min<int64_t>(c.T, 2), (c.T + 1) / 2, c.T - 1, c.T}) {
      if (newest < 1) continue;
      const Tensor w = Tensor::uniform({2, c.channels.back(), newest}, -1, 1, DType::F64, init);
      const std::string what = fmt::format("K {} levels {} T {} newest {}", c.K, c.channels.size(), c.T, newest);
      const auto full = outputs_and_grads(m.params(), w, [&] { return crop(m.forward(x), newest); });
      const auto part = outputs_and_grads(m.params(), w, [&] { return m.forward_newest(x, newest); });
      expect_all_near(part, full, 1e-12, what);
    }
  }
  // The work shrinks: 3 levels, K 2, T 4000, the newest step: level 2 computes 1 step, level 1 9
  // and level 0 13 (need[i − 1] = need[i] + 2·(K − 1)·2^i), so no (N, C, T) tensor is ever made.
  {
    Generator init(53);
    TCN m({2, {8, 8, 8}, 2, 0.0}, init);
    m.set_training(false);
    NoGradGuard ng;
    const Variable x(Tensor::uniform({1, 2, 4000}, -1, 1, DType::F32, init));
    cpu_allocator().reset_peak();
    const int64_t live = cpu_allocator().stats().live_bytes;
    const Tensor full = m.forward(x).data().contiguous();
    const int64_t full_peak = cpu_allocator().stats().peak_bytes - live;
    cpu_allocator().reset_peak();
    const int64_t live_now = cpu_allocator().stats().live_bytes;  // `full` too
    const Tensor one = m.forward_newest(x, 1).data().contiguous();
    const int64_t newest_peak = cpu_allocator().stats().peak_bytes - live_now;
    EXPECT_GE(full_peak, 8 * 4000 * 4);
    EXPECT_LT(newest_peak * 20, full_peak) << "forward_newest held " << newest_peak << " bytes, forward " << full_peak;
    EXPECT_NEAR(one.data<float>()[7], full.data<float>()[7 * 4000 + 3999], 1e-6);
  }
  Generator init(52);
  TCN m({2, {3, 3}, 3, 0.0}, init);
  const Variable x(Tensor::zeros({1, 2, 12}));
  EXPECT_THAT(error_of([&] { m.forward_newest(x, 0); }), HasSubstr("TCN: asked for the newest 0 output steps"));
  EXPECT_THAT(error_of([&] { m.forward_newest(x, 13); }), HasSubstr("1 <= newest <= T"));
}

// LanguageModel::forward(tokens, k) is the last k rows of forward(tokens), with the same gradients
// for a loss on those rows (the decoder, and for the TCN the levels, run on fewer positions;
// models/heads.h). f64, eval mode; the Seq-U-Net (whose forward_newest crops) in training mode with
// dropout too, both forwards drawing from generators with the same seed.
TEST(LanguageModelNewest, EqualsTheLastRowsOfTheFullForwardWithTheSameGradients) {
  struct Case {
    LanguageModelConfig cfg;
    int64_t T, newest;
    bool training;
  };
  const Case cases[] = {{{"tcn", 13, 6, {9, 7, 6}, 3, 0.2, 0.1, 320, true, false}, 17, 5, false},
                        {{"tcn", 11, 4, {5, 4}, 2, 0.0, 0.0, 320, false, true}, 9, 9, true},
                        {{"tcn", 11, 4, {5, 4}, 2, 0.0, 0.0, 320, false, true}, 30, 1, true},
                        {{"sequnet", 11, 5, {7, 6, 5}, 3, 0.2, 0.1, 6, true, false}, 0, 4, true}};
  for (const Case& c : cases) {
    Generator init(41);
    LanguageModel lm(c.cfg, init);
    lm.params().store_as(DType::F64);
    lm.set_training(c.training);
    const int64_t T = c.cfg.model == "sequnet" ? lm.input_size(0) : c.T;
    const Tensor tokens = Tensor::uniform({3, T}, 0, double(c.cfg.vocab) - 1e-9, DType::F32, init).to(DType::I64);
    const int64_t T_out = lm.output_size(T);
    const Tensor weights = Tensor::uniform({3, c.newest, c.cfg.vocab}, -1, 1, DType::F64, init);
    auto run = [&](bool newest_only) {
      Generator masks(7);
      lm.set_generator(&masks);
      return outputs_and_grads(lm.params(), weights, [&] {
        return newest_only ? lm.forward(Variable(tokens), c.newest)
                           : narrow(lm.forward(Variable(tokens)), 1, T_out - c.newest, c.newest);
      });
    };
    expect_all_near(run(true), run(false), 1e-12, fmt::format("{} T {} newest {}", c.cfg.model, T, c.newest));
  }
  Generator init(42);
  LanguageModel lm({"tcn", 13, 6, {9, 6}, 3, 0.0, 0.0, 320, true, false}, init);
  const Variable tokens(Tensor::zeros({2, 8}, DType::I64));
  for (int64_t bad : {int64_t(0), int64_t(9), int64_t(-2)})
    EXPECT_THAT(
        error_of([&] { lm.forward(tokens, bad); }),
        HasSubstr(fmt::format(
            "asked for the logits of the newest {} positions, but tokens i64[2, 8] give 8 output positions", bad)));
}
