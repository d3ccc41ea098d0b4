// tests/test_generation_step.cpp — the fast autoregressive step modes (MODELS.md §9):
//   * against the official PyTorch step modes (refs wavenet_a_gen, sequnet_res_gen_steps): the
//     save output, every step output (teacher forcing) and greedy free-running generation;
//   * for random models of several configurations: every step output equals the matching window
//     of a full normal-mode forward (WaveNet: the window ending at the sample; residual
//     Seq-U-Net: the window that keeps the save point on the decimation grid), over ≥ 3 cycles;
//   * a step allocates nothing once the buffers exist (allocator and operator-new counters).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "core/allocator.h"
#include "core/paths.h"
#include "core/safetensors.h"
#include "models/registry.h"
#include "models/step/sequnet_res_step.h"
#include "models/step/wavenet_step.h"
#include "ops/loss.h"
#include "test_util.h"

// Counts every global operator new in this test binary, to prove that a step allocates nothing
// on the heap at all (not only through the tensor allocator). Under AddressSanitizer the global
// operators stay ASan's own (a replacement would pair with ASan's variants that are not
// replaced, e.g. aligned or array new, and trip its new/free mismatch check); there only the
// tensor allocator's counter is checked.
#if defined(__SANITIZE_ADDRESS__)
#define SEQNET_COUNT_HEAP 0
#else
#define SEQNET_COUNT_HEAP 1
#endif
namespace {
std::atomic<int64_t> g_heap_allocs{0};
constexpr bool kCountHeap = SEQNET_COUNT_HEAP;
}
#if SEQNET_COUNT_HEAP
void* operator new(std::size_t n) {
  g_heap_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that operator new above is malloc-based, and warns about free on its result.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif
// The counter for other test files of this binary (tests/test_step_sequnet.cpp); −1 where it is
// not counted (AddressSanitizer builds).
int64_t seqnet_test_heap_allocs() { return kCountHeap ? g_heap_allocs.load() : -1; }

using namespace seqnet;
using seqnet::testing::max_abs_diff;

namespace {

// |a − b| ≤ atol + rtol·|b| everywhere (float32 vs the float64-computed references).
void expect_close(const std::string& what, const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-6) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  const auto av = a.to(DType::F64).contiguous().to_vector<double>();
  const auto bv = b.to(DType::F64).contiguous().to_vector<double>();
  for (size_t i = 0; i < av.size(); ++i)
    ASSERT_LE(std::fabs(av[i] - bv[i]), atol + rtol * std::fabs(bv[i])) << what << " element " << i << ": " << av[i]
                                                                          << " vs " << bv[i];
}

Tensor onehot_window(const Tensor& indices, int64_t begin, int64_t end, int64_t classes) {
  return one_hot_channels_first(indices.narrow(1, begin, end - begin).contiguous(), classes);  // (N, classes, T)
}

// The column of indices[:, t] as one-hot rows (N, classes).
Tensor onehot_column(const Tensor& indices, int64_t t, int64_t classes) {
  return onehot_window(indices, t, t + 1, classes).squeeze(2).contiguous();
}

std::vector<int64_t> argmax_rows(const Tensor& logits) {  // (N, classes) → N indices
  const auto v = logits.to(DType::F64).contiguous().to_vector<double>();
  const int64_t N = logits.size(0), K = logits.size(1);
  std::vector<int64_t> out(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n)
    out[size_t(n)] = std::max_element(v.begin() + n * K, v.begin() + (n + 1) * K) - (v.begin() + n * K);
  return out;
}

// ---- (a) the official step modes ----------------------------------------------------------------

// Runs save / teacher-forced steps / greedy generation on `gen` and compares with the file.
template <class Stepper>
void check_against_refs(Stepper& gen, const SafetensorsFile& D, int64_t I, int64_t classes, const char* tag) {
  const Tensor& indices = D.get("indices");
  const int64_t S = D.get("step_outputs").size(0);
  NoGradGuard no_grad;
  Tensor saved = gen.save(onehot_window(indices, 0, I, classes));
  expect_close(std::string(tag) + " save_output", saved, D.get("save_output"));
  double worst = max_abs_diff(saved, D.get("save_output"));
  for (int64_t s = 1; s <= S; ++s) {
    const Tensor& y = gen.step(onehot_column(indices, I + s - 1, classes));
    const Tensor ref = D.get("step_outputs").select(0, s - 1);
    expect_close(fmt::format("{} step {}", tag, s), y, ref);
    // The official step output is also the full_equivalent window of a normal forward.
    expect_close(fmt::format("{} step {} vs full_equivalent", tag, s), y, D.get("full_equivalent").select(0, s - 1),
                 1e-5, 2e-6);
    worst = std::max(worst, max_abs_diff(y, ref));
  }
  // Greedy: call 0 = save on the first I samples (its last column), then steps on the argmax.
  const Tensor& g_logits = D.get("greedy_logits");
  const auto g_ref = D.get("greedy_indices").to_vector<int64_t>();
  const int64_t G = g_logits.size(0), N = indices.size(0);
  Tensor y0 = gen.save(onehot_window(indices, 0, I, classes));
  Tensor logits = y0.select(2, y0.size(2) - 1).contiguous();
  for (int64_t g = 0; g < G; ++g) {
    expect_close(fmt::format("{} greedy logits {}", tag, g), logits, g_logits.select(0, g));
    worst = std::max(worst, max_abs_diff(logits, g_logits.select(0, g)));
    const std::vector<int64_t> chosen = argmax_rows(logits);
    for (int64_t n = 0; n < N; ++n) ASSERT_EQ(chosen[size_t(n)], g_ref[size_t(n * G + g)]) << tag << " greedy " << g;
    if (g + 1 < G) logits = gen.step_indices(chosen.data()).clone();
  }
  ::testing::Test::RecordProperty(std::string(tag) + "_max_abs", fmt::format("{:.3e}", worst));
  std::printf("[ %s ] max |ours - official| over save, %lld steps and %lld greedy logits: %.3e\n", tag,
              (long long)S, (long long)G, worst);
}

// The official model of a generation ref (<name>.params.safetensors: config + state_dict), in
// eval mode.
BuiltModel load_ref_model(const std::string& params_path) {
  SafetensorsFile P = load_safetensors(params_path);
  BuiltModel built = build_from_config(P.metadata.at("config"));
  built.model->params().load(P);
  built.model->set_training(false);
  return built;
}

TEST(GenerationRefs, WaveNetStepModeMatchesOfficial) {
  const std::string dir = refs_dir();
  if (!path_exists(dir + "/wavenet_a_gen.safetensors")) GTEST_SKIP() << "reference data not found at " << dir;
  SafetensorsFile D = load_safetensors(dir + "/wavenet_a_gen.safetensors");
  BuiltModel built = load_ref_model(dir + "/wavenet_a.params.safetensors");
  auto& model = dynamic_cast<WaveNet&>(*built.model);
  WaveNetStepper gen(model);
  ASSERT_EQ(model.receptive_field(), 15);
  check_against_refs(gen, D, 15, model.config().classes, "wavenet_a_gen");
}

TEST(GenerationRefs, SequnetResClockedStepModeMatchesOfficial) {
  const std::string dir = refs_dir();
  if (!path_exists(dir + "/sequnet_res_gen_steps.safetensors")) GTEST_SKIP() << "reference data not found at " << dir;
  SafetensorsFile D = load_safetensors(dir + "/sequnet_res_gen_steps.safetensors");
  BuiltModel built = load_ref_model(dir + "/sequnet_res_gen.params.safetensors");
  auto& model = dynamic_cast<SequnetRes&>(*built.model);
  SequnetResStepper gen(model);
  ASSERT_EQ(model.input_size(), 125);
  ASSERT_EQ(gen.cycles(), 8);
  check_against_refs(gen, D, 125, model.config().num_inputs, "sequnet_res_gen");
}

// Half-precision weights on the same files: teacher-forced steps stay within 3e-3 of the largest
// official output (the float32 steppers above are exact to 1e-5).
template <class Stepper>
void check_half_against_refs(Stepper& gen, const SafetensorsFile& D, int64_t I, int64_t classes, const char* tag) {
  const Tensor& indices = D.get("indices");
  const Tensor& ref = D.get("step_outputs");
  NoGradGuard no_grad;
  gen.save(onehot_window(indices, 0, I, classes));
  double diff = 0, scale = 0;
  for (int64_t s = 1; s <= ref.size(0); ++s) {
    const Tensor r = ref.select(0, s - 1);
    diff = std::max(diff, max_abs_diff(gen.step(onehot_column(indices, I + s - 1, classes)), r));
    for (double v : r.to(DType::F64).contiguous().to_vector<double>()) scale = std::max(scale, std::fabs(v));
  }
  std::printf("[ %s f16 ] max |ours - official| over %lld steps: %.3e (%.2e of max |output|)\n", tag,
              (long long)ref.size(0), diff, diff / scale);
  EXPECT_GT(diff, 0.0) << tag;
  EXPECT_LT(diff / scale, 3e-3) << tag;
}

TEST(GenerationRefs, HalfWeightsStayCloseToOfficial) {
  const std::string dir = refs_dir();
  if (!path_exists(dir + "/wavenet_a_gen.safetensors") || !path_exists(dir + "/sequnet_res_gen_steps.safetensors"))
    GTEST_SKIP() << "reference data not found at " << dir;
  BuiltModel wb = load_ref_model(dir + "/wavenet_a.params.safetensors");
  auto& wn = dynamic_cast<WaveNet&>(*wb.model);
  WaveNetStepper w16(wn, step::Weights::F16);
  check_half_against_refs(w16, load_safetensors(dir + "/wavenet_a_gen.safetensors"), 15, wn.config().classes,
                          "wavenet_a_gen");
  BuiltModel sb = load_ref_model(dir + "/sequnet_res_gen.params.safetensors");
  auto& su = dynamic_cast<SequnetRes&>(*sb.model);
  SequnetResStepper s16(su, step::Weights::F16);
  check_half_against_refs(s16, load_safetensors(dir + "/sequnet_res_gen_steps.safetensors"), 125,
                          su.config().num_inputs, "sequnet_res_gen");
}

// ---- (b) step outputs = windows of full forwards, random models ---------------------------------

struct WaveNetCase {
  int64_t layers, blocks, K;
  bool bias;
  int64_t batch, extra_save;  // the save input is RF + extra_save samples long
};

// Named for GoogleTest (else it prints the struct's bytes, padding included).
void PrintTo(const WaveNetCase& c, std::ostream* os) {
  *os << "layers " << c.layers << " blocks " << c.blocks << " K " << c.K << (c.bias ? " bias" : "") << " batch "
      << c.batch << " extra " << c.extra_save;
}

class WaveNetStepEqualsFull : public ::testing::TestWithParam<WaveNetCase> {};

TEST_P(WaveNetStepEqualsFull, EveryStepIsTheLastOutputOfTheWindowEndingThere) {
  const WaveNetCase c = GetParam();
  WaveNetConfig cfg;
  cfg.layers = c.layers, cfg.blocks = c.blocks, cfg.kernel_size = c.K, cfg.bias = c.bias;
  cfg.dilation_channels = 5, cfg.residual_channels = 4, cfg.skip_channels = 7, cfg.classes = 6, cfg.output_length = 1;
  Generator g(100 + c.layers * 10 + c.K);
  WaveNet model(cfg, g);
  model.set_training(false);
  const int64_t RF = model.receptive_field(), I = RF + c.extra_save, S = std::max<int64_t>(12, 2 * RF);
  Tensor x = Tensor::randn({c.batch, cfg.classes, I + S}, DType::F32, g);
  NoGradGuard no_grad;
  Tensor full = model.forward(Variable(x)).data();  // output j ↔ window ending at input RF − 1 + j
  ASSERT_EQ(full.size(2), I + S - RF + 1);

  WaveNetStepper gen(model);
  Tensor saved = gen.save(x.narrow(2, 0, I).contiguous());
  EXPECT_LT(max_abs_diff(saved, full.narrow(2, 0, I - RF + 1)), 1e-5);
  double worst = 0;
  for (int64_t s = 1; s <= S; ++s) {
    const Tensor& y = gen.step(x.select(2, I + s - 1).contiguous());
    const double d = max_abs_diff(y, full.select(2, I + s - 1 - (RF - 1)));
    ASSERT_LT(d, 1e-5) << "step " << s;
    worst = std::max(worst, d);
  }
  std::printf("[ wavenet L%lld B%lld K%lld %s N%lld ] %lld steps, max |step − full| %.3e\n", (long long)c.layers,
              (long long)c.blocks, (long long)c.K, c.bias ? "bias" : "nobias", (long long)c.batch, (long long)S, worst);
}

INSTANTIATE_TEST_SUITE_P(Configs, WaveNetStepEqualsFull,
                         ::testing::Values(WaveNetCase{3, 2, 2, true, 1, 0}, WaveNetCase{3, 2, 2, false, 3, 4},
                                           WaveNetCase{2, 3, 3, true, 3, 0}, WaveNetCase{4, 1, 3, false, 1, 2}));

struct SequnetCase {
  int64_t K, depth, levels, batch, target;
};

class SequnetResStepEqualsFull : public ::testing::TestWithParam<SequnetCase> {};

// Step s (clock 1 at the first step) equals output −1 − (m·C − s) of a full forward over the I
// samples ending at t0 + m·C, m = ceil(s / C): that window keeps the save point t0 on every
// level's decimation grid.
TEST_P(SequnetResStepEqualsFull, EveryStepIsTheGridAlignedWindowOfAFullForward) {
  const SequnetCase c = GetParam();
  SequnetResConfig cfg;
  cfg.num_inputs = 3, cfg.num_channels = 5, cfg.num_levels = c.levels, cfg.num_outputs = 4, cfg.kernel_size = c.K;
  cfg.depth = c.depth, cfg.target_output_size = c.target;
  Generator g(200 + c.K * 10 + c.levels);
  SequnetRes model(cfg, g);
  model.set_training(false);
  const int64_t I = model.input_size(), O = model.output_size(), C = model.cycles(), S = 3 * C;
  ASSERT_GE(O, C);  // every window needs the output −1 − (m·C − s), m·C − s < C
  Tensor x = Tensor::randn({c.batch, cfg.num_inputs, I + S}, DType::F32, g);
  NoGradGuard no_grad;

  SequnetResStepper gen(model);
  Tensor saved = gen.save(x.narrow(2, 0, I).contiguous());
  EXPECT_LT(max_abs_diff(saved, model.forward(Variable(x.narrow(2, 0, I).contiguous())).data()), 1e-5);
  EXPECT_EQ(gen.clock(), 1);
  double worst = 0, worst_naive = 0;
  Tensor full;
  int64_t full_m = -1;
  for (int64_t s = 1; s <= S; ++s) {
    const Tensor& y = gen.step(x.select(2, I + s - 1).contiguous());
    const int64_t m = (s + C - 1) / C;
    if (m != full_m) {
      full = model.forward(Variable(x.narrow(2, m * C, I).contiguous())).data();
      full_m = m;
    }
    const double d = max_abs_diff(y, full.select(2, O - 1 - (m * C - s)));
    ASSERT_LT(d, 1e-5) << "step " << s << " (clock " << (s % C) << ")";
    worst = std::max(worst, d);
    // A window simply ending at t0 + s differs off the grid (as the spec says): the test must be
    // able to tell the two apart, or it would not check the clock.
    if (s % C != 0) {
      Tensor naive = model.forward(Variable(x.narrow(2, s, I).contiguous())).data();
      worst_naive = std::max(worst_naive, max_abs_diff(y, naive.select(2, O - 1)));
    }
  }
  if (C > 1) {
    EXPECT_GT(worst_naive, 1e-4) << "off-grid windows should differ from the clocked step outputs";
  }
  std::printf("[ seqnet_res K%lld D%lld L%lld N%lld ] %lld steps (%lld cycles of %lld), max |step − full| %.3e "
              "(naive window: %.3e)\n",
              (long long)c.K, (long long)c.depth, (long long)c.levels, (long long)c.batch, (long long)S, 3LL,
              (long long)C, worst, worst_naive);
}

INSTANTIATE_TEST_SUITE_P(Configs, SequnetResStepEqualsFull,
                         ::testing::Values(SequnetCase{3, 1, 3, 1, 1}, SequnetCase{5, 2, 4, 3, 1},
                                           SequnetCase{3, 2, 5, 1, 7}, SequnetCase{5, 1, 6, 3, 1},
                                           SequnetCase{3, 2, 6, 3, 1}, SequnetCase{5, 2, 3, 1, 5}));

// ---- no allocation per step -------------------------------------------------------------------

template <class Stepper>
void expect_no_allocations(Stepper& gen, const Tensor& column, int64_t steps, const char* tag) {
  for (int i = 0; i < 3; ++i) gen.step(column);  // warm-up (BLAS may set itself up)
  const int64_t tensors0 = cpu_allocator().stats().total_allocs, heap0 = g_heap_allocs.load();
  for (int64_t s = 0; s < steps; ++s) gen.step(column);
  const int64_t tensors1 = cpu_allocator().stats().total_allocs, heap1 = g_heap_allocs.load();
  EXPECT_EQ(tensors1 - tensors0, 0) << tag << ": tensor allocations during " << steps << " steps";
  EXPECT_EQ(heap1 - heap0, 0) << tag << ": operator new calls during " << steps << " steps";
}

TEST(GenerationSteps, WaveNetStepAllocatesNothing) {
  WaveNetConfig cfg;
  cfg.layers = 4, cfg.blocks = 2, cfg.dilation_channels = 6, cfg.residual_channels = 5, cfg.skip_channels = 7;
  cfg.classes = 8, cfg.output_length = 1, cfg.kernel_size = 2, cfg.bias = true;
  Generator g(7);
  WaveNet model(cfg, g);
  model.set_training(false);
  for (step::Weights w : {step::Weights::F32, step::Weights::F16}) {
    SCOPED_TRACE(step::weights_name(w));
    WaveNetStepper gen(model, w);
    NoGradGuard no_grad;
    gen.save(Tensor::randn({2, 8, model.receptive_field()}, DType::F32, g));
    // The counter works: a save allocates.
    const int64_t before = g_heap_allocs.load();
    gen.save(Tensor::randn({2, 8, model.receptive_field()}, DType::F32, g));
    if (kCountHeap) {
      EXPECT_GT(g_heap_allocs.load(), before);
    }
    expect_no_allocations(gen, Tensor::randn({2, 8}, DType::F32, g), 40, "wavenet");
    const int64_t idx[2] = {1, 7};
    const int64_t t0 = cpu_allocator().stats().total_allocs, h0 = g_heap_allocs.load();
    for (int i = 0; i < 10; ++i) gen.step_indices(idx);
    EXPECT_EQ(cpu_allocator().stats().total_allocs - t0, 0);
    EXPECT_EQ(g_heap_allocs.load() - h0, 0);
  }
}

TEST(GenerationSteps, SequnetResStepAllocatesNothing) {
  SequnetResConfig cfg;
  cfg.num_inputs = 6, cfg.num_channels = 5, cfg.num_levels = 4, cfg.num_outputs = 6, cfg.kernel_size = 5;
  cfg.depth = 2, cfg.target_output_size = 1;
  Generator g(8);
  SequnetRes model(cfg, g);
  model.set_training(false);
  for (step::Weights w : {step::Weights::F32, step::Weights::F16}) {
    SCOPED_TRACE(step::weights_name(w));
    SequnetResStepper gen(model, w);
    NoGradGuard no_grad;
    gen.save(Tensor::randn({3, 6, model.input_size()}, DType::F32, g));
    expect_no_allocations(gen, Tensor::randn({3, 6}, DType::F32, g), 4 * gen.cycles(), "sequnet_res");
    const int64_t idx[3] = {0, 5, 2};
    const int64_t t0 = cpu_allocator().stats().total_allocs, h0 = g_heap_allocs.load();
    for (int64_t i = 0; i < 2 * gen.cycles(); ++i) gen.step_indices(idx);
    EXPECT_EQ(cpu_allocator().stats().total_allocs - t0, 0);
    EXPECT_EQ(g_heap_allocs.load() - h0, 0);
  }
}

// ---- API behaviour ------------------------------------------------------------------------------

TEST(GenerationSteps, StepIndicesEqualsOneHotStepAndSaveResetsTheClock) {
  SequnetResConfig cfg;
  cfg.num_inputs = 6, cfg.num_channels = 4, cfg.num_levels = 3, cfg.num_outputs = 6, cfg.kernel_size = 3;
  cfg.target_output_size = 1;
  Generator g(9);
  SequnetRes model(cfg, g);
  model.set_training(false);
  SequnetResStepper a(model), b(model);
  NoGradGuard no_grad;
  const Tensor ids = Tensor::from_vector<int64_t>({0, 3, 5, 1, 2, 4, 0, 5, 3, 1, 1, 2}, {1, 12});
  Tensor x = Tensor::randn({1, 6, model.input_size()}, DType::F32, g);
  a.save(x);
  b.save(x);
  for (int64_t s = 0; s < 5; ++s) b.step(onehot_column(ids, s, 6));  // b's clock is now off the grid
  EXPECT_NE(b.clock(), 1);
  b.save(x);
  EXPECT_EQ(b.clock(), 1);
  for (int64_t s = 0; s < 12; ++s) {
    const int64_t idx = ids.to_vector<int64_t>()[size_t(s)];
    Tensor ya = a.step_indices(&idx).clone();
    const Tensor& yb = b.step(onehot_column(ids, s, 6));
    EXPECT_LT(max_abs_diff(ya, yb), 1e-6) << "step " << s;
  }
}

// Row shares of a thread team: disjoint, covering, ordered, and multiples of 8 when rows allow.
TEST(GenerationSteps, RowSharesCoverEveryRowOnce) {
  for (int64_t count : {1, 3, 10, 128, 180, 512}) {
    for (int n : {1, 2, 3, 4}) {
      int64_t next = 0;
      for (int tid = 0; tid < n; ++tid) {
        const auto [b, e] = step::share(count, tid, n);
        EXPECT_EQ(b, next) << count << " rows, " << n << " threads, member " << tid;
        EXPECT_LE(b, e);
        if (count >= 8 * n && tid + 1 < n) {
          EXPECT_EQ(e % 8, 0);
        }
        next = e;
      }
      EXPECT_EQ(next, count) << count << " rows, " << n << " threads";
    }
  }
  EXPECT_EQ(step::share(180, 0, 2), (std::pair<int64_t, int64_t>{0, 88}));
}

// A step runs as a team of threads that split every layer's rows; the result must not depend on it.
TEST(GenerationSteps, ThreadTeamsGiveTheSameOutputs) {
  WaveNetConfig wc;
  wc.layers = 3, wc.blocks = 2, wc.dilation_channels = 24, wc.residual_channels = 20, wc.skip_channels = 36;
  wc.classes = 10, wc.output_length = 1, wc.kernel_size = 2, wc.bias = true;
  SequnetResConfig sc;
  sc.num_inputs = 10, sc.num_channels = 24, sc.num_levels = 4, sc.num_outputs = 10, sc.kernel_size = 3, sc.depth = 2;
  sc.target_output_size = 1;
  Generator g(11);
  WaveNet wn(wc, g);
  SequnetRes su(sc, g);
  NoGradGuard no_grad;
  const Tensor xw = Tensor::randn({3, 10, wn.receptive_field()}, DType::F32, g);
  const Tensor xs = Tensor::randn({3, 10, su.input_size()}, DType::F32, g);
  const Tensor cols = Tensor::randn({20, 3, 10}, DType::F32, g);
  std::vector<Tensor> outs[2];
  for (int threads : {1, 2}) {
    WaveNetStepper a(wn);
    SequnetResStepper b(su);
    a.set_team_threads(threads);
    b.set_team_threads(threads);
    a.save(xw);
    b.save(xs);
    for (int64_t s = 0; s < 20; ++s) {
      outs[threads - 1].push_back(a.step(cols.select(0, s).contiguous()).clone());
      outs[threads - 1].push_back(b.step(cols.select(0, s).contiguous()).clone());
    }
  }
  for (size_t i = 0; i < outs[0].size(); ++i) EXPECT_LT(max_abs_diff(outs[0][i], outs[1][i]), 1e-6) << i;
}

// Models built with a key prefix (as inside task heads) step as well.
TEST(GenerationSteps, PrefixedModels) {
  WaveNetConfig wc;
  wc.layers = 2, wc.blocks = 2, wc.dilation_channels = 4, wc.residual_channels = 3, wc.skip_channels = 5;
  wc.classes = 6, wc.output_length = 1, wc.kernel_size = 2, wc.bias = true;
  SequnetResConfig sc;
  sc.num_inputs = 6, sc.num_channels = 4, sc.num_levels = 3, sc.num_outputs = 6, sc.kernel_size = 3;
  sc.target_output_size = 1;
  Generator g(12);
  WaveNet wn(wc, g, "net.");
  SequnetRes su(sc, g, "net.");
  NoGradGuard no_grad;
  Tensor xw = Tensor::randn({1, 6, wn.receptive_field() + 1}, DType::F32, g);
  Tensor xs = Tensor::randn({1, 6, su.input_size() + su.cycles()}, DType::F32, g);
  WaveNetStepper a(wn);
  a.save(xw.narrow(2, 0, wn.receptive_field()).contiguous());
  EXPECT_LT(max_abs_diff(a.step(xw.select(2, wn.receptive_field()).contiguous()),
                         wn.forward(Variable(xw.narrow(2, 1, wn.receptive_field()).contiguous())).data().select(2, 0)),
            1e-5);
  SequnetResStepper b(su);
  b.save(xs.narrow(2, 0, su.input_size()).contiguous());
  Tensor y;
  for (int64_t s = 0; s < su.cycles(); ++s) y = b.step(xs.select(2, su.input_size() + s).contiguous()).clone();
  Tensor full = su.forward(Variable(xs.narrow(2, su.cycles(), su.input_size()).contiguous())).data();
  EXPECT_LT(max_abs_diff(y, full.select(2, full.size(2) - 1)), 1e-5);
}

TEST(GenerationSteps, ClearErrors) {
  WaveNetConfig cfg;
  cfg.layers = 2, cfg.blocks = 1, cfg.dilation_channels = 3, cfg.residual_channels = 3, cfg.skip_channels = 3;
  cfg.classes = 4, cfg.output_length = 1;
  WaveNet model(cfg);
  WaveNetStepper gen(model);
  NoGradGuard no_grad;
  try {
    gen.step(Tensor::zeros({1, 4}));
    ADD_FAILURE() << "step before save must throw";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), ::testing::HasSubstr("call save first"));
  }
  EXPECT_THROW(gen.save(Tensor::zeros({1, 5, 10})), Error);                 // wrong channel count
  EXPECT_THROW(gen.save(Tensor::zeros({1, 4, 2})), Error);                  // shorter than the RF
  gen.save(Tensor::zeros({2, 4, model.receptive_field()}));
  EXPECT_THROW(gen.step(Tensor::zeros({1, 4})), Error);                      // batch differs from save
  const int64_t bad[2] = {0, 4};
  EXPECT_THROW(gen.step_indices(bad), Error);                                // index out of range
  gen.reset();
  EXPECT_FALSE(gen.ready());
}

}  // namespace
