// tests/test_training.cpp — the training CLI end to end: configuration, checkpoints and exact
// resume, the music batching extension, overfitting one batch per model family, divergence
// handling and bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#if SEQNET_HAVE_WAV_MAT
#include <matio.h>
#endif

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "checkpoint_util.h"
#include "core/paths.h"
#include "models/heads.h"
#include "ops/ops.h"
#include "test_util.h"
#include "train/cli/cli.h"
#include "train/data/plot.h"
#include "train/data/synthetic_data.h"
#include "train/loop/checkpoint.h"
#include "train/loop/interrupt.h"
#include "train/loop/optim.h"
#include "train/loop/trainer.h"
#include "train/tasks/task.h"

using namespace seqnet;
using seqnet::testing::expect_same_checkpoint;
using seqnet::testing::TempDir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

// A tiny copy-memory run (seconds): T = 12, 3 levels of 8 channels, dropout on so the RNG
// state matters for resuming.
TrainConfig tiny_copy(const std::string& out) {
  TrainConfig c = TrainConfig::defaults("copy", "tcn");
  c.blank_len = 12;
  c.model_opts.levels = 3;
  c.model_opts.nhid = 8;
  c.model_opts.ksize = 3;
  c.model_opts.dropout = 0.2;
  c.n_train = 96, c.n_valid = 32, c.n_test = 32;
  c.batch_size = 16;
  c.epochs = 4;
  c.lr = 1e-2;
  c.out_dir = out;
  return c;
}

TrainOptions quiet() {
  TrainOptions o;
  o.verbosity = 0;
  return o;
}

bool have_jsb() { return path_exists(data_dir() + "/music/JSB_Chorales.mat"); }

}  // namespace

// ---- configuration -------------------------------------------------------------------------------

TEST(TrainConfig, OfficialDefaultsPerTask) {
  const TrainConfig copy = TrainConfig::defaults("copy", "tcn");
  EXPECT_EQ(copy.batch_size, 32);
  EXPECT_EQ(copy.epochs, 20);
  EXPECT_DOUBLE_EQ(copy.clip, 1.0);
  EXPECT_EQ(copy.blank_len, 1000);
  const TrainConfig ch = TrainConfig::defaults("char", "sequnet");
  EXPECT_EQ(ch.seq_len, 400);
  EXPECT_EQ(ch.validseqlen, 320);
  EXPECT_DOUBLE_EQ(ch.clip, 0.4);
  const TrainConfig w = TrainConfig::defaults("word", "tcn");
  EXPECT_EQ(w.seq_len, 117);
  EXPECT_EQ(w.validseqlen, 45);
  const TrainConfig a = TrainConfig::defaults("audio", "wavenet");
  EXPECT_DOUBLE_EQ(a.lr, 5e-4);
  EXPECT_EQ(a.batch_size, 16);
  EXPECT_EQ(a.epochs, 10);
  EXPECT_EQ(TrainConfig::defaults("jsb", "sequnet").batch_size, 1);
  EXPECT_THROW(TrainConfig::defaults("copy", "wavenet"), Error);
  EXPECT_THROW(TrainConfig::defaults("nope", "tcn"), Error);
}

TEST(TrainConfig, JsonRoundTripKeepsEveryField) {
  TrainConfig c = tiny_copy("/tmp/x");
  c.model_opts.emsize = 33;
  c.model_opts.tied = false;
  c.seed = 77;
  c.max_steps = 5;
  const TrainConfig d = train_config_from_json(nlohmann::json::parse(to_json(c).dump()));
  EXPECT_EQ(to_json(c), to_json(d));
  EXPECT_EQ(d.model_opts.levels, 3);
  EXPECT_FALSE(d.model_opts.output_size.has_value());
  // unknown keys are ignored, missing ones take the defaults (checkpoints survive new fields)
  const TrainConfig e = train_config_from_json({{"task", "word"}, {"model", "tcn"}, {"future_field", 1}});
  EXPECT_EQ(e.seq_len, 117);
}

TEST(TrainConfig, ValidateNamesTheBadField) {
  TrainConfig c = tiny_copy("/tmp/x");
  c.lr = -1;
  EXPECT_THAT([&] { c.validate(); }, ::testing::ThrowsMessage<Error>(HasSubstr("--lr")));
  c = tiny_copy("/tmp/x");
  c.epochs = 0;
  EXPECT_THAT([&] { c.validate(); }, ::testing::ThrowsMessage<Error>(HasSubstr("--epochs")));
  c = TrainConfig::defaults("char", "tcn");
  c.validseqlen = 500;
  EXPECT_THAT([&] { c.validate(); }, ::testing::ThrowsMessage<Error>(HasSubstr("--validseqlen")));
  c = tiny_copy("/tmp/x");
  c.optim = "rmsprop";
  EXPECT_THAT([&] { c.validate(); }, ::testing::ThrowsMessage<Error>(HasSubstr("--optim")));
}

TEST(TrainConfig, HalvingRulesOfMODELS10) {
  const std::vector<double> h{1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.44, 0.43, 0.42, 0.41};
  // char: strict, last 5 → max(last 5) = 0.45
  EXPECT_FALSE(halving_rule("char").should_halve(11, 0.45, h));
  EXPECT_TRUE(halving_rule("char").should_halve(11, 0.46, h));
  EXPECT_FALSE(halving_rule("char").should_halve(10, 0.9, h));  // only after epoch 10
  // word / copy: ≥
  EXPECT_TRUE(halving_rule("word").should_halve(11, 0.45, h));
  EXPECT_TRUE(halving_rule("copy").should_halve(11, 0.45, h));
  // poly: strict, last 10 → max = 0.9
  EXPECT_FALSE(halving_rule("jsb").should_halve(11, 0.9, h));
  EXPECT_TRUE(halving_rule("jsb").should_halve(11, 0.91, h));
  // audio, adding: constant
  EXPECT_FALSE(halving_rule("audio").should_halve(50, 100.0, h));
  EXPECT_FALSE(halving_rule("adding").should_halve(50, 100.0, h));
}

// ---- optimiser state -------------------------------------------------------------------------------

TEST(Optim, StateSlotsRoundTrip) {
  Variable p(Tensor::from_vector<float>({1, 2, 3}, {3}), true);
  Adam a({p}, 0.1);
  p.set_grad(Tensor::from_vector<float>({0.5f, -1, 2}, {3}));
  a.step();
  EXPECT_EQ(a.step_count(), 1);
  EXPECT_FLOAT_EQ(a.state("exp_avg", 0).to_vector<float>()[0], 0.05f);
  EXPECT_THROW(a.state("momentum_buffer", 0), Error);
  SGD s({p}, 0.1, 0.9);
  EXPECT_EQ(s.state_slots(), std::vector<std::string>{"momentum_buffer"});
  EXPECT_TRUE(SGD({p}, 0.1).state_slots().empty());
}

// ---- checkpoints and resume ---------------------------------------------------------------------------

TEST(Training, CopyTaskLearnsAndWritesItsFiles) {
  TempDir dir("train");
  TrainConfig c = tiny_copy(dir.str());
  c.model_opts.dropout = 0.0;
  c.model_opts.nhid = 16;
  c.model_opts.ksize = 7;  // receptive field 85 over sequences of 32
  c.lr = 5e-3;
  c.n_train = 1024;
  c.epochs = 4;
  TrainOutcome o = run_training(c, quiet());
  EXPECT_EQ(o.epochs_run, 4);
  for (const char* f : {"best.safetensors", "last.safetensors", "metrics.jsonl", "loss.svg", "results.json"})
    EXPECT_TRUE(fs::exists(dir.path() / f)) << f;
  EXPECT_LT(o.test.loss, 0.5 * std::log(8.0)) << "not clearly better than guessing the 8 digits";
  EXPECT_GT(o.test.metrics.at("accuracy"), 0.5);
  // eval from the checkpoint alone reproduces the final evaluation
  LoadedRun run = load_run((dir.path() / "best.safetensors").string());
  FullEval f = evaluate_all(*run.task, *run.model.model, 0);
  EXPECT_DOUBLE_EQ(f.test.loss, o.test.loss);
  EXPECT_DOUBLE_EQ(f.valid.metrics.at("accuracy"), o.valid.metrics.at("accuracy"));
  // the metrics file has one epoch record per epoch
  std::ifstream in(dir.path() / "metrics.jsonl");
  int epochs = 0;
  for (std::string line; std::getline(in, line);)
    epochs += nlohmann::json::parse(line)["type"] == "epoch" ? 1 : 0;
  EXPECT_EQ(epochs, 4);
}

TEST(Training, ResumeIsBitExact) {
  TempDir a("full"), b("resumed");
  run_training(tiny_copy(a.str()), quiet());  // 4 epochs in one go
  TrainConfig c = tiny_copy(b.str());
  c.epochs = 2;
  run_training(c, quiet());  // 2 epochs ...
  c.epochs = 4;
  TrainOptions r = quiet();
  r.resume = true;
  run_training(c, r);  // ... + 2 resumed
  expect_same_checkpoint(a.str() + "/last.safetensors", b.str() + "/last.safetensors");
  expect_same_checkpoint(a.str() + "/best.safetensors", b.str() + "/best.safetensors");
}

TEST(Training, ResumeIsBitExactOnShuffledMusic) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  if (!have_jsb()) GTEST_SKIP() << "no JSB_Chorales.mat under " << data_dir();
  TempDir a("jsb_full"), b("jsb_resumed");
  auto cfg = [](const std::string& out, int64_t epochs) {
    TrainConfig c = TrainConfig::defaults("jsb", "sequnet");
    c.model_opts.nhid = 16;
    c.max_steps = 6, c.max_eval_batches = 4, c.epochs = epochs, c.batch_size = 2, c.lr = 1e-3;
    c.out_dir = out;
    return c;
  };
  run_training(cfg(a.str(), 3), quiet());
  run_training(cfg(b.str(), 1), quiet());
  TrainOptions r = quiet();
  r.resume = true;
  run_training(cfg(b.str(), 3), r);
  expect_same_checkpoint(a.str() + "/last.safetensors", b.str() + "/last.safetensors");
}

TEST(Training, CheckpointIsLoadableAsAPlainStateDict) {
  TempDir dir("sd");
  TrainConfig c = tiny_copy(dir.str());
  c.epochs = 1;
  run_training(c, quiet());
  Checkpoint ck = load_checkpoint(dir.str() + "/best.safetensors");
  // official PyTorch names, TCN aliases included, then optimizer.* keys
  EXPECT_TRUE(ck.file.contains("conv.network.0.conv1.weight_v"));
  EXPECT_TRUE(ck.file.contains("conv.network.0.net.0.weight_v"));
  EXPECT_TRUE(ck.file.contains("linear.weight"));
  EXPECT_TRUE(ck.file.contains("optimizer.exp_avg.linear.weight"));
  EXPECT_EQ(ck.optim_kind, "adam");
  EXPECT_EQ(ck.config.blank_len, 12);
}

TEST(Training, DamagedOrForeignCheckpointsAreRejected) {
  TempDir dir("bad");
  const std::string plain = dir.str() + "/plain.safetensors";
  save_safetensors(plain, {{"w", Tensor::zeros({2})}});
  EXPECT_THAT([&] { load_checkpoint(plain); }, ::testing::ThrowsMessage<Error>(HasSubstr("not a seqnet checkpoint")));
  const std::string junk = dir.str() + "/junk.safetensors";
  std::ofstream(junk) << "not a safetensors file at all";
  EXPECT_THAT([&] { load_checkpoint(junk); }, ::testing::ThrowsMessage<Error>(HasSubstr(junk)));
  const std::string bad = dir.str() + "/bad.safetensors";
  save_safetensors(bad, {{"w", Tensor::zeros({2})}},
                   {{"format", kCheckpointFormat}, {"config", "{\"task\": \"copy\", \"model\": \"tcn\"}"},
                    {"task", "{}"}, {"state", "{broken"}});
  EXPECT_THAT([&] { load_checkpoint(bad); }, ::testing::ThrowsMessage<Error>(HasSubstr("damaged")));
}

TEST(Training, DivergenceStopsAndKeepsTheLastGoodCheckpoint) {
  TempDir dir("nan");
  TrainConfig c = tiny_copy(dir.str());
  TrainOptions o = quiet();
  o.after_epoch = [](int64_t epoch, Module& m) {
    if (epoch == 1) {
      Tensor w = m.params().get("linear.weight").data();  // shares the parameter's storage
      w.fill_(std::nan(""));                              // poison the weights
    }
  };
  try {
    run_training(c, o);
    FAIL() << "no error for a NaN loss";
  } catch (const TrainingDiverged& e) {
    EXPECT_EQ(e.epoch, 2);
    EXPECT_EQ(e.step, 1);
    EXPECT_THAT(e.what(), HasSubstr("epoch 2, step 1"));
    EXPECT_THAT(e.what(), HasSubstr("last.safetensors"));
  }
  Checkpoint ck = load_checkpoint(dir.str() + "/last.safetensors");
  EXPECT_EQ(ck.state.epoch, 1);
  for (float v : ck.file.get("linear.weight").to_vector<float>()) ASSERT_TRUE(std::isfinite(v));
}

// ---- music: batches of different lengths equal batch 1 -------------------------------------------------

namespace {
std::vector<Tensor> random_rolls(const std::vector<int64_t>& lengths, uint64_t seed) {
  Generator g(seed);
  std::vector<Tensor> out;
  for (int64_t L : lengths) {
    Tensor u = Tensor::uniform({L, 88}, 0, 1, DType::F32, g);
    std::vector<float> v = u.to_vector<float>();
    for (float& x : v) x = x < 0.15f ? 1.0f : 0.0f;
    out.push_back(Tensor::from_vector<float>(v, {L, 88}));
  }
  return out;
}

void check_music_batching(const std::string& model_name, int64_t K, int64_t levels) {
  PolyMusicConfig cfg;
  cfg.model = model_name;
  cfg.num_channels.assign(size_t(levels), 6);
  cfg.kernel_size = K;
  cfg.dropout = 0.0;
  Generator g(3);
  PolyMusicModel model(cfg, g);
  model.params().store_as(DType::F64);
  model.set_training(false);
  const auto seqs = random_rolls({8, 13, 2, 21, 6}, 42);
  // batch 1: Σ of per-sequence summed losses and their parameter gradients
  double sum1 = 0;
  int64_t frames1 = 0;
  model.params().zero_grad();
  for (const Tensor& s : seqs) {
    MusicBatch b = make_music_batch({&s}, model, DType::F64);
    Variable l = music_batch_loss(model, b);
    sum1 += l.item();
    frames1 += b.frames;
    l.backward();
  }
  std::vector<Tensor> g1;
  for (const Variable& p : model.params().unique()) g1.push_back(p.grad().clone());
  // one batch of all five
  model.params().zero_grad();
  std::vector<const Tensor*> ptrs;
  for (const Tensor& s : seqs) ptrs.push_back(&s);
  MusicBatch b = make_music_batch(ptrs, model, DType::F64);
  Variable l = music_batch_loss(model, b);
  l.backward();
  EXPECT_EQ(b.frames, frames1);
  EXPECT_NEAR(l.item(), sum1, 1e-10 * std::abs(sum1)) << model_name;
  EXPECT_NEAR(l.item() / double(b.frames), sum1 / double(frames1), 1e-12) << "NLL per frame";
  const auto params = model.params().unique();
  for (size_t i = 0; i < params.size(); ++i) {
    const auto a = g1[i].to_vector<double>(), c = params[i].grad().to_vector<double>();
    for (size_t k = 0; k < a.size(); ++k) ASSERT_NEAR(a[k], c[k], 1e-9 * (1 + std::abs(a[k]))) << model_name << " param " << i;
  }
}
}  // namespace

TEST(MusicBatching, TcnBatchEqualsBatchOne) { check_music_batching("tcn", 3, 2); }
TEST(MusicBatching, SequnetBatchEqualsBatchOne) { check_music_batching("sequnet", 3, 3); }
TEST(MusicBatching, SequnetK5BatchEqualsBatchOne) { check_music_batching("sequnet", 5, 4); }

// ---- overfitting one batch, per model family ----------------------------------------------------------

namespace {
// Fits one fixed batch with Adam; returns (first loss, last loss).
std::pair<double, double> overfit(Module& m, const std::function<Variable()>& loss_fn, int steps, double lr) {
  // (full-batch Adam on one fixed batch: the quickest sign forward, backward and optimiser agree)
  Adam opt(m.params().unique(), lr);
  double first = 0, last = 0;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Variable l = loss_fn();
    if (s == 0) first = l.item();
    last = l.item();
    l.backward();
    opt.step();
  }
  return {first, last};
}

void overfit_copy(const std::string& model_name) {
  CopyMemoryConfig cfg;
  cfg.model = model_name;
  cfg.nhid = 12, cfg.levels = 3, cfg.kernel_size = 3;
  Generator g(9);
  CopyMemoryModel m(cfg, g);
  m.set_training(true);
  Tensor x, y;
  Generator dg(4);
  make_copy_memory(8, 6, dg, x, y);
  auto [first, last] = overfit(m, [&] { return cross_entropy(m.forward(Variable(x)), y, Reduction::Mean, 2); }, 600, 1e-2);
  EXPECT_GT(first, 1.5) << model_name;
  EXPECT_LT(last, 0.05) << model_name << ": loss " << first << " -> " << last;
}
}  // namespace

TEST(Overfit, TcnCopyBatch) { overfit_copy("tcn"); }
TEST(Overfit, SequnetCopyBatch) { overfit_copy("sequnet"); }
TEST(Overfit, SequnetResCopyBatch) { overfit_copy("sequnet_res"); }

TEST(Overfit, WaveNetAudioBatch) {
  WaveNetConfig c;
  c.layers = 3, c.blocks = 1, c.dilation_channels = c.residual_channels = 16, c.skip_channels = 32;
  c.classes = 32, c.kernel_size = 2, c.output_length = 12, c.bias = true;
  Generator g(5);
  AudioModel m(std::make_unique<WaveNet>(c, g), 32);
  auto* w = dynamic_cast<WaveNet*>(&m.backbone());
  const int64_t I = w->input_size();
  Generator dg(6);
  std::vector<int64_t> codes;
  for (int64_t i = 0; i < 2 * (I + 1); ++i) codes.push_back(int64_t(dg.next_u64() % 32));
  Tensor all = Tensor::from_vector<int64_t>(codes, {2, I + 1});
  Tensor input = all.narrow(1, 0, I).contiguous(), target = all.narrow(1, I + 1 - 12, 12).contiguous();
  auto [first, last] =
      overfit(m, [&] { return cross_entropy(m.forward(Variable(input)), target, Reduction::Mean, 1); }, 300, 1e-2);
  EXPECT_GT(first, 2.5);
  EXPECT_LT(last, 0.05) << "loss " << first << " -> " << last;
}

// ---- tasks on the real data (skipped without ../shared/data) ------------------------------------------

TEST(Tasks, EveryRealTaskRunsOneStep) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  if (!path_exists(data_dir())) GTEST_SKIP() << "no data under " << data_dir();
  struct Case {
    std::string task, model;
    std::string file;
  };
  const std::vector<Case> cases{{"jsb", "tcn", "music/JSB_Chorales.mat"},
                                {"nottingham", "sequnet", "music/Nottingham.mat"},
                                {"muse", "tcn", "music/MuseData.mat"},
                                {"piano", "sequnet", "music/Piano_midi.mat"},
                                {"char", "tcn", "ptb/train.txt"},
                                {"word", "sequnet", "ptb/train.txt"},
                                {"audio", "wavenet", "audio/train"},
                                {"audio", "sequnet_res", "audio/train"}};
  for (const Case& k : cases) {
    if (!path_exists(data_dir() + "/" + k.file)) continue;
    TrainConfig c = TrainConfig::defaults(k.task, k.model);
    c.model_opts.nhid = 8;
    if (k.task == "char" || k.task == "word") c.model_opts.emsize = 8, c.batch_size = 4;
    if (k.task == "audio") {
      c.model_opts.levels = 3, c.model_opts.depth = 1, c.model_opts.output_size = 64, c.batch_size = 2;
      if (k.model == "sequnet_res") c.model_opts.ksize = 3;
    }
    Generator g(1);
    LoadedRun run = build_run(c, g);
    Module& m = *run.model.model;
    m.set_generator(&g);
    m.set_training(true);
    run.task->start_epoch(g);
    EXPECT_GT(run.task->steps_per_epoch(), 0) << k.task;
    StepLoss l = run.task->train_loss(m, 0);
    EXPECT_TRUE(std::isfinite(l.reported)) << k.task << "/" << k.model;
    l.loss.backward();
    NoGradGuard ng;
    m.set_training(false);
    EvalResult r = run.task->evaluate(m, Split::Valid, 1);
    EXPECT_TRUE(std::isfinite(r.loss)) << k.task;
    EXPECT_GT(r.count, 0) << k.task;
    if (k.task == "char") {
      EXPECT_EQ(run.task->info()["vocab"].size(), 49u);  // data README §2
      EXPECT_NEAR(r.metrics.at("bpc"), r.loss / std::log(2.0), 1e-12);
    }
    if (k.task == "word") {
      EXPECT_NEAR(r.metrics.at("ppl"), std::exp(r.loss), 1e-9 * std::exp(r.loss));
    }
    if (k.task == "audio") {
      EXPECT_TRUE(r.metrics.count("bits_per_sample") && r.metrics.count("accuracy"));
    }
  }
}

// ---- bad input ---------------------------------------------------------------------------------------

namespace {
// Writes a MAT 5 file with the three cell variables, each holding `width`-wide 0/1 matrices.
void write_music_mat(const std::string& path, int64_t width) {
#if !SEQNET_HAVE_WAV_MAT
  GTEST_FAIL() << "write_music_mat(" << path << ", " << width << ") needs libmatio; skip the test first";
#else
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  ASSERT_NE(mat, nullptr);
  for (const char* name : {"traindata", "validdata", "testdata"}) {
    size_t cdims[2] = {1, 2};
    matvar_t* cell = Mat_VarCreate(name, MAT_C_CELL, MAT_T_CELL, 2, cdims, nullptr, 0);
    for (size_t i = 0; i < 2; ++i) {
      std::vector<double> v(size_t(5 * width), 0.0);
      v[0] = 1.0;
      size_t dims[2] = {5, size_t(width)};
      matvar_t* m = Mat_VarCreate(nullptr, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, v.data(), 0);
      Mat_VarSetCell(cell, int(i), m);
    }
    Mat_VarWrite(mat, cell, MAT_COMPRESSION_NONE);
    Mat_VarFree(cell);
  }
  Mat_Close(mat);
#endif
}

void expect_task_error(const TrainConfig& c, const std::string& needle) {
  try {
    make_task(c);
    ADD_FAILURE() << "no error for " << needle;
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(needle));
  }
}
}  // namespace

TEST(BadInput, MissingDataFilesNameTheFile) {
  TempDir dir("nodata");
  for (const char* task : {"jsb", "char", "word", "audio"}) {
    TrainConfig c = TrainConfig::defaults(task, task == std::string("audio") ? "wavenet" : "tcn");
    c.data_dir = dir.str();
    expect_task_error(c, dir.str());
  }
}

TEST(BadInput, MalformedMusicFiles) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  TempDir dir("badmat");
  fs::create_directories(dir.path() / "music");
  TrainConfig c = TrainConfig::defaults("jsb", "tcn");
  c.data_dir = dir.str();
  const std::string path = (dir.path() / "music" / "JSB_Chorales.mat").string();
  // a cell of the wrong width
  write_music_mat(path, 87);
  expect_task_error(c, "88");
  // the right width loads
  write_music_mat(path, 88);
  EXPECT_NO_THROW(make_task(c));
  // random bytes
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    Generator g(1);
    for (int i = 0; i < 4096; ++i) f.put(char(g.next_u64() & 0xff));
  }
  expect_task_error(c, path);
  // truncated: the first half of a valid file
  write_music_mat(path, 88);
  const auto size = fs::file_size(path);
  fs::resize_file(path, size / 2);
  expect_task_error(c, path);
}

TEST(BadInput, AudioOfTheWrongRate) {
  SEQNET_SKIP_WITHOUT_WAV_MAT();
  TempDir dir("badwav");
  fs::create_directories(dir.path() / "audio" / "train");
  fs::create_directories(dir.path() / "audio" / "test");
  const std::string path = (dir.path() / "audio" / "train" / "x.wav").string();
  seqnet::testing::write_silent_wav(path, 44100, 2, 400);
  TrainConfig c = TrainConfig::defaults("audio", "wavenet");
  c.data_dir = dir.str();
  expect_task_error(c, "44100");
}

TEST(BadInput, CommandLineErrorsExitNonZero) {
  auto run = [](std::vector<const char*> args) {
    args.insert(args.begin(), "seqnet");
    ::testing::internal::CaptureStderr();
    ::testing::internal::CaptureStdout();
    const int rc = run_cli(int(args.size()), args.data());
    const std::string err = ::testing::internal::GetCapturedStderr() + ::testing::internal::GetCapturedStdout();
    return std::make_pair(rc, err);
  };
  auto [rc1, e1] = run({"train", "--task", "copy", "--model", "tcn", "--no-such-flag"});
  EXPECT_NE(rc1, 0);
  EXPECT_THAT(e1, HasSubstr("--no-such-flag"));
  auto [rc2, e2] = run({"train", "--task", "copy", "--model", "tcn", "--lr", "-3"});
  EXPECT_NE(rc2, 0);
  EXPECT_THAT(e2, HasSubstr("--lr"));
  auto [rc3, e3] = run({"train", "--task", "copy", "--model", "wavenet"});
  EXPECT_NE(rc3, 0);
  EXPECT_THAT(e3, HasSubstr("wavenet"));
  auto [rc4, e4] = run({"train", "--task", "jsb", "--model", "tcn", "--dropout", "1.5"});
  EXPECT_NE(rc4, 0);
  EXPECT_THAT(e4, HasSubstr("--dropout"));
  auto [rc5, e5] = run({"eval", "--checkpoint", "/nonexistent/x.safetensors"});
  EXPECT_NE(rc5, 0);
  EXPECT_THAT(e5, HasSubstr("/nonexistent/x.safetensors"));
  auto [rc6, e6] = run({"train", "--resume", "/nonexistent/run"});
  EXPECT_NE(rc6, 0);
  EXPECT_THAT(e6, HasSubstr("/nonexistent/run"));
  auto [rc7, e7] = run({"plot", "/nonexistent/metrics.jsonl", "-o", "/tmp/x.svg"});
  EXPECT_NE(rc7, 0);
  EXPECT_THAT(e7, HasSubstr("/nonexistent/metrics.jsonl"));
}

// A new run into a folder that holds one would replace its checkpoints: refused, unless --overwrite.
TEST(BadInput, TrainRefusesToOverwriteARun) {
  TempDir dir("overwrite");
  TrainConfig c = tiny_copy(dir.str());
  c.epochs = 1;
  run_training(c, quiet());
  const std::string before = seqnet::testing::read_file(dir.file("last.safetensors"));
  const std::string d = dir.str();
  std::vector<const char*> args{"seqnet", "train", "--task", "copy", "--model", "tcn", "--out", d.c_str(),
                                "--epochs", "1", "--max-steps", "1", "--blank_len", "5", "--n_train", "8",
                                "--n_valid", "4", "--n_test", "4", "--nhid", "4", "--levels", "2"};
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  const int rc = run_cli(int(args.size()), args.data());
  const std::string err = ::testing::internal::GetCapturedStderr() + ::testing::internal::GetCapturedStdout();
  EXPECT_NE(rc, 0);
  EXPECT_THAT(err, HasSubstr("already holds a run"));
  EXPECT_THAT(err, HasSubstr("--overwrite"));
  EXPECT_EQ(seqnet::testing::read_file(dir.file("last.safetensors")), before);  // untouched
  args.push_back("--overwrite");
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  const int rc2 = run_cli(int(args.size()), args.data());
  const std::string out2 = ::testing::internal::GetCapturedStderr() + ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc2, 0) << out2;
}

// The vocabulary stored in a checkpoint must be the data's: the same words in another order would
// silently map every id to another word. Evaluating (and resuming) is refused, naming the first
// difference.
TEST(BadInput, EvalRefusesDataWithAnotherVocabulary) {
  TempDir dir("vocab");
  const fs::path ptb = dir.path() / "ptb";
  fs::create_directories(ptb);
  auto write = [&](const std::string& train) {
    std::ofstream(ptb / "train.txt") << train;
    std::string valid, test;
    for (int i = 0; i < 8; ++i) valid += "a b c d e\n", test += "e d c b a\n";
    std::ofstream(ptb / "valid.txt") << valid;
    std::ofstream(ptb / "test.txt") << test;
  };
  write("a b c d e\nb c d e a\na b c d e\nb c d e a\na b c d e\nb c d e a\n");
  TrainConfig c = TrainConfig::defaults("word", "tcn");
  c.data_dir = dir.str();
  c.out_dir = (dir.path() / "run").string();
  c.model_opts.nhid = 4, c.model_opts.levels = 2, c.model_opts.emsize = 4, c.model_opts.ksize = 2;
  c.batch_size = 2, c.seq_len = 6, c.validseqlen = 3, c.epochs = 1, c.max_steps = 1, c.max_eval_batches = 1;
  run_training(c, quiet());
  const std::string ckpt = c.out_dir + "/best.safetensors";
  EXPECT_NO_THROW(load_run(ckpt, ""));
  write("e d c b a\na b c d e\ne d c b a\na b c d e\ne d c b a\na b c d e\n");  // same words, other order
  const std::string msg = seqnet::testing::error_of([&] { load_run(ckpt, ""); });
  EXPECT_THAT(msg, HasSubstr("differ from the data this run was trained on"));
  EXPECT_THAT(msg, HasSubstr("symbol 0"));
  EXPECT_THAT(msg, HasSubstr(ckpt));
}

// An --out that cannot hold the run is refused before any training.
TEST(BadInput, UnusableOutFolderIsRefusedUpFront) {
  TempDir dir("outfile");
  const std::string file = dir.file("a_file");
  std::ofstream(file) << "x";
  TrainConfig c = tiny_copy(file + "/run");  // a folder inside a regular file cannot exist
  const auto t0 = std::chrono::steady_clock::now();
  const std::string msg = seqnet::testing::error_of([&] { run_training(c, quiet()); });
  EXPECT_THAT(msg, HasSubstr("--out"));
  EXPECT_THAT(msg, HasSubstr(file));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 2.0);  // before training
}

TEST(BadInput, ResumeRefusesToChangeTheExperiment) {
  TempDir dir("resume_flags");
  TrainConfig c = tiny_copy(dir.str());
  c.epochs = 1;
  run_training(c, quiet());
  const std::string d = dir.str();
  std::vector<const char*> args{"seqnet", "train", "--resume", d.c_str(), "--lr", "0.5"};
  ::testing::internal::CaptureStderr();
  const int rc = run_cli(int(args.size()), args.data());
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(err, HasSubstr("--lr cannot change"));
}

// ---- plot -----------------------------------------------------------------------------------------------

TEST(Plot, WritesAnSvgWithBothCurves) {
  TempDir dir("plot");
  const std::string m = dir.str() + "/metrics.jsonl";
  {
    std::ofstream f(m);
    f << R"({"type":"step","loss":3})" << "\n";
    for (int e = 1; e <= 5; ++e)
      f << nlohmann::json{{"type", "epoch"}, {"epoch", e}, {"train_loss", 2.0 / e}, {"valid_loss", 2.5 / e}}.dump()
        << "\n";
  }
  write_loss_plot(m, dir.str() + "/c.svg", "t");
  std::ifstream in(dir.str() + "/c.svg");
  const std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_EQ(std::count(svg.begin(), svg.end(), 'p') > 0, true);
  size_t polylines = 0;
  for (size_t pos = 0; (pos = svg.find("<polyline", pos)) != std::string::npos; ++pos) ++polylines;
  EXPECT_EQ(polylines, 2u);
  EXPECT_THAT(svg, HasSubstr("valid loss"));
  std::ofstream(m) << R"({"type":"step"})" << "\n";
  EXPECT_THAT([&] { write_loss_plot(m, dir.str() + "/d.svg", "t"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("no epoch records")));
}

// ---- stopping, killed runs and resuming --------------------------------------------------------------

namespace {
// The records of metrics.jsonl as (type, epoch, global_step or -1).
std::vector<std::tuple<std::string, int64_t, int64_t>> metrics_records(const std::string& dir) {
  std::vector<std::tuple<std::string, int64_t, int64_t>> out;
  std::ifstream f(dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    const auto j = nlohmann::json::parse(line);
    out.emplace_back(j["type"].get<std::string>(), j["epoch"].get<int64_t>(),
                     j.contains("global_step") ? j["global_step"].get<int64_t>() : -1);
  }
  return out;
}
}  // namespace

// A real SIGINT in the middle of epoch 2 stops at the end of that step: Interrupted names the
// step and the intact checkpoint; --resume drops the unfinished epoch's metrics records and ends
// bit-identical to a run that was never stopped.
TEST(Training, SigintStopsAtASafePointAndResumesExactly) {
  TempDir a("uninterrupted"), b("interrupted");
  TrainConfig c = tiny_copy(a.str());
  c.epochs = 3;
  c.log_interval = 1;
  run_training(c, quiet());
  c.out_dir = b.str();
  TrainOptions o = quiet();
  o.after_step = [](int64_t epoch, int64_t step) {
    if (epoch == 2 && step == 3) std::raise(SIGINT);
  };
  try {
    run_training(c, o);
    FAIL() << "no Interrupted";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.signal, SIGINT);
    EXPECT_THAT(e.what(), HasSubstr("epoch 2, step 3 of 6: stopped by SIGINT"));
    EXPECT_THAT(e.what(), HasSubstr("intact: " + b.str() + "/last.safetensors (after epoch 1)"));
    EXPECT_THAT(e.what(), HasSubstr("seqnet train --resume " + b.str()));
  }
  struct sigaction now {};
  sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL) << "the handler must be restored after training";
  EXPECT_EQ(load_checkpoint(b.str() + "/last.safetensors").state.epoch, 1);
  const auto before = metrics_records(b.str());
  ASSERT_EQ(std::get<1>(before.back()), 2) << "the unfinished epoch's step records are in the file";
  TrainOptions r = quiet();
  r.resume = true;
  run_training(c, r);
  expect_same_checkpoint(a.str() + "/last.safetensors", b.str() + "/last.safetensors");
  EXPECT_EQ(metrics_records(a.str()), metrics_records(b.str())) << "no duplicate or missing records after resume";
}

// SIGTERM after an epoch's checkpoints are written stops there; nothing after that epoch is lost.
TEST(Training, SigtermAfterAnEpochKeepsThatEpoch) {
  TempDir d("sigterm");
  TrainConfig c = tiny_copy(d.str());
  TrainOptions o = quiet();
  o.after_epoch = [](int64_t epoch, Module&) {
    if (epoch == 2) std::raise(SIGTERM);
  };
  try {
    run_training(c, o);
    FAIL() << "no Interrupted";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.signal, SIGTERM);
    EXPECT_THAT(e.what(), HasSubstr("after epoch 2: stopped by SIGTERM"));
  }
  EXPECT_EQ(load_checkpoint(d.str() + "/last.safetensors").state.epoch, 2);
  EXPECT_FALSE(path_exists(d.str() + "/results.json"));
}

// A kill between the checkpoint's rename and the metrics append loses the epoch record, and a kill
// mid-append leaves half a line: --resume restores the record from the checkpoint's history and
// drops the fragment. Temporaries of killed writers are removed at start; a live writer's are kept.
TEST(Training, ResumeRepairsMetricsAndRemovesStaleTemporaries) {
  TempDir a("reference"), b("damaged");
  TrainConfig c = tiny_copy(a.str());
  c.epochs = 3;
  run_training(c, quiet());
  c.out_dir = b.str();
  c.epochs = 2;
  run_training(c, quiet());
  {  // drop the epoch-2 record, leave a torn line
    std::ifstream f(b.file("metrics.jsonl"));
    std::string line, kept;
    while (std::getline(f, line))
      if (line.find("\"type\":\"epoch\"") == std::string::npos || line.find("\"epoch\":2,") == std::string::npos)
        kept += line + "\n";
    std::ofstream(b.file("metrics.jsonl")) << kept << "{\"epoch\":3,\"type\":\"st";
  }
  std::ofstream(b.file("last.safetensors.tmp.999999999.0")) << std::string(1000, 'x');  // no such pid
  const std::string live = fmt::format("best.safetensors.tmp.{}.7", ::getppid());       // a live process
  std::ofstream(b.file(live)) << "y";
  std::ofstream(b.file("notes.tmp.txt")) << "z";  // not a temporary of ours
  c.epochs = 3;
  TrainOptions r = quiet();
  r.resume = true;
  run_training(c, r);
  EXPECT_FALSE(path_exists(b.file("last.safetensors.tmp.999999999.0")));
  EXPECT_TRUE(path_exists(b.file(live)));
  EXPECT_TRUE(path_exists(b.file("notes.tmp.txt")));
  EXPECT_EQ(metrics_records(a.str()), metrics_records(b.str()));
}
