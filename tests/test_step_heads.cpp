// tests/test_step_heads.cpp — the step modes of the text and music task models
// (models/step/head_step.h) against full forwards of the same models, and `seqnet generate`'s
// fast path against its --slow path.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "autograd/variable.h"
#include "models/heads.h"
#include "models/planning.h"
#include "models/step/head_step.h"
#include "test_util.h"
#include "train/cli/generate.h"
#include "train/loop/checkpoint.h"
#include "train/loop/trainer.h"

using namespace seqnet;
using namespace seqnet::testing;
using ::testing::HasSubstr;

namespace {

// max |a − b| / max(1, max |b|) of two float buffers of n values.
double rel_err(const float* a, const float* b, int64_t n) {
  double m = 0, scale = 1;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, double(std::fabs(a[i] - b[i]))), scale = std::max(scale, double(std::fabs(b[i])));
  return m / scale;
}

Tensor random_tokens(int64_t N, int64_t T, int64_t V, Generator& g) {
  return Tensor::uniform({N, T}, 0, double(V) - 1e-9, DType::F32, g).to(DType::I64);
}

// Logits (N, V) of position `pos` of lm.forward(tokens) (N, T_out, V).
Tensor lm_logits_at(LanguageModel& lm, const Tensor& tokens, int64_t pos) {
  Tensor y = lm.forward(Variable(tokens)).data().contiguous();
  return y.select(1, pos < 0 ? y.size(1) + pos : pos).contiguous();
}

}  // namespace

// TCN language model: every step equals the newest logits of a full forward over all tokens so far.
TEST(HeadSteps, TcnLanguageModelStepsEqualTheFullForward) {
  for (int64_t N : {1, 3}) {
    Generator g(11 + N);
    LanguageModel lm({"tcn", 13, 6, {9, 7, 6}, 3, 0.0, 0.0, 320, true, false}, g);
    lm.set_training(false);
    NoGradGuard ng;
    const int64_t T0 = 5, S = 24;
    const Tensor tokens = random_tokens(N, T0 + S, 13, g);
    LanguageModelStepper st(lm);
    const Tensor y0 = st.save(tokens.narrow(1, 0, T0).contiguous());
    EXPECT_LT(rel_err(y0.data<float>(), lm_logits_at(lm, tokens.narrow(1, 0, T0).contiguous(), -1).data<float>(), N * 13), 1e-5);
    std::vector<int64_t> ids(static_cast<size_t>(N));
    for (int64_t s = 1; s <= S; ++s) {
      for (int64_t n = 0; n < N; ++n) ids[size_t(n)] = tokens.data<int64_t>()[n * (T0 + S) + T0 + s - 1];
      const Tensor& y = st.step(ids.data());
      const Tensor ref = lm_logits_at(lm, tokens.narrow(1, 0, T0 + s).contiguous(), -1);
      ASSERT_LT(rel_err(y.data<float>(), ref.data<float>(), N * 13), 1e-5) << "N " << N << " step " << s;
    }
  }
}

// Seq-U-Net language model (valid mode): step s equals the full forward of the window that keeps
// the save point on the decimation grid (E = I + m·C, output −1 − (m·C − s)).
TEST(HeadSteps, SequnetLanguageModelStepsEqualTheGridAlignedWindow) {
  Generator g(5);
  // 3 levels → cycles 4; target 6 → O ≥ 6 ≥ cycles, so every phase is inside one window's outputs.
  LanguageModel lm({"sequnet", 11, 5, {7, 6, 5}, 3, 0.0, 0.0, 6, true, false}, g);
  lm.set_training(false);
  NoGradGuard ng;
  const int64_t N = 2, I = lm.input_size(0), C = 4, S = 3 * C;
  const Tensor tokens = random_tokens(N, I + S, 11, g);
  LanguageModelStepper st(lm);
  ASSERT_EQ(st.cycles(), C);
  st.save(tokens.narrow(1, 0, I).contiguous());
  std::vector<int64_t> ids(static_cast<size_t>(N));
  for (int64_t s = 1; s <= S; ++s) {
    for (int64_t n = 0; n < N; ++n) ids[size_t(n)] = tokens.data<int64_t>()[n * (I + S) + I + s - 1];
    const Tensor& y = st.step(ids.data());
    const int64_t m = (s + C - 1) / C, E = I + m * C;
    const Tensor ref = lm_logits_at(lm, tokens.narrow(1, E - I, I).contiguous(), -1 - (m * C - s));
    ASSERT_LT(rel_err(y.data<float>(), ref.data<float>(), N * 11), 1e-5) << "step " << s;
  }
}

// Music TCN: frames in, logits of the next frame out, equal to the full forward.
TEST(HeadSteps, TcnMusicModelStepsEqualTheFullForward) {
  Generator g(3);
  PolyMusicModel model({"tcn", 10, 10, {8, 8, 6}, 3, 0.0}, g);
  model.set_training(false);
  NoGradGuard ng;
  const int64_t N = 2, T0 = 3, S = 20;
  Tensor roll = Tensor::uniform({N, T0 + S, 10}, 0, 1, DType::F32, g);
  PolyMusicStepper st(model);
  st.save(roll.narrow(1, 0, T0).contiguous());
  for (int64_t s = 1; s <= S; ++s) {
    const Tensor& y = st.step(roll.select(1, T0 + s - 1).contiguous());
    Tensor full = model.forward(Variable(roll.narrow(1, 0, T0 + s).contiguous())).data().contiguous();
    const Tensor ref = full.select(1, T0 + s - 1).contiguous();
    ASSERT_LT(rel_err(y.data<float>(), ref.data<float>(), N * 10), 1e-5) << "step " << s;
  }
}

// Music Seq-U-Net (padded mode): the stream continues the save pass's own planned input — the
// save input front-padded with zeros to its planned length P(T0); P(T0) + m·C is planned again.
TEST(HeadSteps, SequnetMusicModelStepsContinueTheSavePlan) {
  Generator g(9);
  PolyMusicModel model({"sequnet", 10, 10, {8, 8, 6}, 3, 0.0}, g);
  model.set_training(false);
  NoGradGuard ng;
  const int64_t N = 2, C = 4, S = 3 * C;
  for (int64_t T0 : {3, 40}) {  // shorter and longer than the receptive field
    const int64_t P0 = model.aligned_length(T0);
    Tensor roll = Tensor::zeros({N, P0 + S, 10});
    roll.narrow(1, P0 - T0, T0 + S).copy_(Tensor::uniform({N, T0 + S, 10}, 0, 1, DType::F32, g));
    PolyMusicStepper st(model);
    ASSERT_EQ(st.cycles(), C);
    st.save(roll.narrow(1, P0 - T0, T0).contiguous());
    for (int64_t s = 1; s <= S; ++s) {
      const Tensor& y = st.step(roll.select(1, P0 + s - 1).contiguous());
      const int64_t m = (s + C - 1) / C;
      Tensor full = model.forward(Variable(roll.narrow(1, 0, P0 + m * C).contiguous())).data().contiguous();
      const Tensor ref = full.select(1, P0 + m * C - 1 - (m * C - s)).contiguous();
      ASSERT_LT(rel_err(y.data<float>(), ref.data<float>(), N * 10), 1e-5) << "T0 " << T0 << " step " << s;
    }
  }
}

TEST(HeadSteps, ClearErrors) {
  Generator g(1);
  LanguageModel lm({"tcn", 13, 6, {9, 6}, 3, 0.0, 0.0, 320, true, false}, g);
  LanguageModelStepper st(lm);
  const int64_t ids[1] = {0};
  EXPECT_THAT(error_of([&] { st.step(ids); }), HasSubstr("call save first"));
  EXPECT_THAT(error_of([&] { st.save(Tensor::zeros({1, 4})); }), HasSubstr("expected token ids i64"));
  Tensor bad = Tensor::zeros({1, 4}, DType::I64);
  bad.data<int64_t>()[2] = 13;
  EXPECT_THAT(error_of([&] { st.save(bad); }), HasSubstr("token id 13 at (0, 2) is outside [0, 13)"));
  st.save(Tensor::zeros({1, 4}, DType::I64));
  const int64_t big[1] = {99};
  EXPECT_THAT(error_of([&] { st.step(big); }), HasSubstr("token id 99 of sequence 0"));
  PolyMusicModel pm({"tcn", 10, 10, {8}, 3, 0.0}, g);
  PolyMusicStepper ps(pm);
  EXPECT_THAT(error_of([&] { ps.save(Tensor::zeros({1, 4, 9})); }), HasSubstr("expected a piano roll (N, T, 10)"));
  ps.save(Tensor::zeros({2, 4, 10}));
  EXPECT_THAT(error_of([&] { ps.step(Tensor::zeros({1, 10})); }), HasSubstr("expected a frame (2, 10)"));
}

// ---- seqnet generate: the fast path is the default for text and music --------------------------

namespace {

std::string checkpoint_of(const TempDir& dir, const std::string& task, const std::string& model, TaskModelOptions o,
                          const nlohmann::json& info = nlohmann::json::object()) {
  TrainConfig c = TrainConfig::defaults(task, model);
  c.model_opts = o;
  Generator g(21);
  TaskModel tm = build_task_model(task, model, o, g);
  TrainState st;
  st.lr = c.lr;
  const std::string path = dir.file(fmt::format("{}_{}.safetensors", task, model));
  save_checkpoint(path, c, info, *tm.model, nullptr, st);
  return path;
}

GenerateResult generate(const std::string& ck, const std::string& out, int64_t n, bool slow, int64_t batch = 1) {
  GenerateOptions o;
  o.checkpoint = ck, o.out = out, o.samples = n, o.verbosity = 0, o.temperature = 0, o.slow = slow, o.batch = batch;
  return run_generate(o);
}

}  // namespace

TEST(HeadSteps, GenerateTcnTextAndMusicPickTheSameSymbolsOnBothPaths) {
  TempDir dir("head_gen");
  TaskModelOptions o;
  o.vocab = 6, o.emsize = 4, o.nhid = 8, o.levels = 3;
  const std::string ck = checkpoint_of(dir, "char", "tcn", o, {{"vocab", {"a", "b", "c", " ", "<", ">"}}});
  const GenerateResult fast = generate(ck, dir.file("fast.txt"), 60, false, 2);
  const GenerateResult slow = generate(ck, dir.file("slow.txt"), 60, true, 2);
  EXPECT_EQ(fast.path, "fast");
  EXPECT_EQ(slow.path, "slow");
  for (int b = 0; b < 2; ++b) EXPECT_EQ(read_file(fast.files[size_t(b)]), read_file(slow.files[size_t(b)]));

  TaskModelOptions m;
  m.nhid = 8, m.levels = 2;
  const std::string mk = checkpoint_of(dir, "jsb", "tcn", m);
  const GenerateResult mf = generate(mk, dir.file("fast.mid"), 30, false);
  const GenerateResult ms = generate(mk, dir.file("slow.mid"), 30, true);
  EXPECT_EQ(mf.path, "fast");
  EXPECT_EQ(read_file(mf.files[0]), read_file(ms.files[0]));  // identical MIDI bytes
}

TEST(HeadSteps, GenerateSequnetTextAndMusicRunOnTheFastPath) {
  TempDir dir("head_gen_su");
  TaskModelOptions o;
  o.vocab = 6, o.emsize = 4, o.nhid = 8, o.levels = 3, o.validseqlen = 8;
  const std::string ck = checkpoint_of(dir, "char", "sequnet", o, {{"vocab", {"a", "b", "c", " ", "<", ">"}}});
  const GenerateResult r = generate(ck, dir.file("su.txt"), 50, false, 3);
  EXPECT_EQ(r.path, "fast");
  ASSERT_EQ(r.files.size(), 3u);
  EXPECT_EQ(read_file(r.files[0]).size(), 1u + 50u + 1u);
  TaskModelOptions m;
  m.nhid = 8, m.levels = 3;
  const std::string mk = checkpoint_of(dir, "nottingham", "sequnet", m);
  const GenerateResult mr = generate(mk, dir.file("su.mid"), 40, false);
  EXPECT_EQ(mr.path, "fast");
  EXPECT_EQ(read_file(mr.files[0]).substr(0, 4), "MThd");
}
