// Memory estimates (train/tasks/task_memory.h, models/sizes.h): exact parameter counts, activation
// estimates that track the measured step peak, and refusal of configurations that cannot fit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "core/paths.h"
#include "models/sizes.h"
#include "train/loop/optim.h"
#include "train/loop/trainer.h"
#include "train/tasks/task_memory.h"
#include "train/tasks/task_model.h"
#include "test_util.h"

using namespace seqnet;
using seqnet::testing::error_of;
using seqnet::testing::TempDir;
using seqnet::testing::kHaveWavMat;
using ::testing::HasSubstr;

namespace {

struct Case {
  std::string task, model;
  TaskModelOptions opts;
};

TaskModelOptions opts(int64_t nhid, int64_t levels, int64_t ksize) {
  TaskModelOptions o;
  o.nhid = nhid, o.levels = levels, o.ksize = ksize;
  return o;
}

}  // namespace

// The closed forms equal the built models' parameter counts on every task / model pair, at the
// defaults and at awkward sizes (levels 1–2, even and large kernels, uneven channel widths).
TEST(TaskMemory, ParameterCountsAreExact) {
  std::vector<Case> cases;
  for (const char* m : {"tcn", "sequnet", "sequnet_res"}) {
    cases.push_back({"copy", m, {}});
    cases.push_back({"copy", m, opts(5, 3, m == std::string("tcn") ? 2 : 3)});
    cases.push_back({"copy", m, opts(3, 2, 5)});
  }
  cases.push_back({"adding", "tcn", {}});
  cases.push_back({"adding", "tcn", opts(7, 1, 4)});
  for (const char* m : {"tcn", "sequnet"}) {
    cases.push_back({"jsb", m, {}});
    cases.push_back({"nottingham", m, opts(17, 3, 5)});
    for (const char* t : {"char", "word"}) {
      Case c{t, m, opts(11, 3, 3)};
      c.opts.vocab = 37, c.opts.emsize = 6, c.opts.validseqlen = 20;
      cases.push_back(c);
      c.opts.tied = true;
      cases.push_back(c);
    }
  }
  Case c{"char", "tcn", {}};
  c.opts.vocab = 49;
  cases.push_back(c);  // the README size: 5 923 249 parameters with 49 symbols (MODELS.md §11)
  Case a{"audio", "wavenet", opts(8, 3, 2)};
  a.opts.depth = 2, a.opts.output_size = 10;
  cases.push_back(a);
  a = {"audio", "sequnet_res", opts(6, 3, 5)};
  a.opts.depth = 2, a.opts.output_size = 10;
  cases.push_back(a);
  for (const Case& k : cases) {
    TrainConfig cfg = TrainConfig::defaults(k.task, k.model);
    Generator gen(1);
    const int64_t built = build_task_model(k.task, k.model, k.opts, gen).model->params().count();
    EXPECT_EQ(estimate_training_memory(cfg, k.opts, 100).parameters, built) << k.task << " / " << k.model;
  }
}

namespace {
// One training step (forward, loss, backward, Adam) of `cfg`: the measured memory the step adds to
// the model's weights — weights, gradients, Adam state and what forward kept — against the estimate.
void expect_estimate_tracks_peak(TrainConfig cfg) {
  TempDir dir("memory");
  cfg.out_dir = dir.str();
  Generator gen(cfg.seed);
  LoadedRun run = build_run(cfg, gen);
  Module& model = *run.model.model;
  model.set_generator(&gen);
  model.set_training(true);
  run.task->start_epoch(gen);
  const int64_t live = cpu_allocator().stats().live_bytes;
  cpu_allocator().reset_peak();
  Adam adam(model.params().unique(), 1e-3);
  adam.zero_grad();
  StepLoss sl = run.task->train_loss(model, 0);
  sl.loss.backward();
  adam.step();
  const double params = double(model.params().count()) * 4;
  const double measured = params + double(cpu_allocator().stats().peak_bytes - live);
  const MemoryEstimate e = estimate_training_memory(cfg, run.options, run.task->longest_example());
  EXPECT_EQ(e.parameters, model.params().count());
  const double ratio = e.total() / measured;
  EXPECT_GT(ratio, 0.67) << cfg.task << " / " << cfg.model << ": estimate " << e.describe() << ", measured "
                        << format_bytes(measured);
  EXPECT_LT(ratio, 1.5) << cfg.task << " / " << cfg.model << ": estimate " << e.describe() << ", measured "
                        << format_bytes(measured);
  std::printf("%-8s %-12s estimate %10.0f kB, measured %10.0f kB, ratio %.2f\n", cfg.task.c_str(),
              cfg.model.c_str(), e.total() / 1e3, measured / 1e3, ratio);
}
}  // namespace

TEST(TaskMemory, EstimateTracksTheMeasuredPeak) {
  for (const char* m : {"tcn", "sequnet", "sequnet_res"}) {
    TrainConfig c = TrainConfig::defaults("copy", m);
    c.blank_len = 300, c.n_train = 64, c.n_valid = c.n_test = 8, c.batch_size = 8;
    c.model_opts.nhid = 32;
    expect_estimate_tracks_peak(c);
  }
  TrainConfig a = TrainConfig::defaults("adding", "tcn");
  a.seq_len = 400, a.n_train = 64, a.n_valid = a.n_test = 8, a.batch_size = 8;
  expect_estimate_tracks_peak(a);
  if (path_exists(data_dir() + "/music/JSB_Chorales.mat"))
    for (const char* m : {"tcn", "sequnet"}) expect_estimate_tracks_peak(TrainConfig::defaults("jsb", m));
  if (kHaveWavMat && path_exists(data_dir() + "/audio"))
    for (const char* m : {"wavenet", "sequnet_res"}) {
      TrainConfig c = TrainConfig::defaults("audio", m);
      c.model_opts.nhid = 16, c.model_opts.output_size = 200, c.batch_size = 2;
      c.model_opts.levels = std::string(m) == "wavenet" ? 8 : 6, c.model_opts.depth = 2;
      expect_estimate_tracks_peak(c);
    }
  if (path_exists(data_dir() + "/ptb"))
    for (const char* m : {"tcn", "sequnet"}) {
      TrainConfig c = TrainConfig::defaults("char", m);
      c.model_opts.nhid = 64;
      expect_estimate_tracks_peak(c);
    }
}

// Configurations far beyond the machine are refused before anything is allocated, with the
// estimate and the memory available; sizes beyond int64 name the model.
TEST(TaskMemory, HugeConfigurationsAreRefusedUpFront) {
  TempDir dir("huge");
  TrainConfig c = TrainConfig::defaults("copy", "tcn");
  c.blank_len = 20, c.n_train = 16, c.n_valid = c.n_test = 16;
  c.epochs = 1;
  c.out_dir = dir.str();
  TrainOptions quiet;
  quiet.verbosity = 0;
  // "Before anything is allocated": the refused runs together never hold more than a few MB.
  const int64_t live = cpu_allocator().stats().live_bytes;
  cpu_allocator().reset_peak();
  c.model_opts.nhid = 60000;  // within --nhid's range (2^16), far beyond the machine
  std::string e = error_of([&] { run_training(c, quiet); });
  EXPECT_THAT(e, HasSubstr("copy / tcn: this configuration needs ≈ "));
  EXPECT_THAT(e, HasSubstr("TB"));
  EXPECT_THAT(e, HasSubstr("is available on cpu"));
  c.model_opts.nhid = 10;
  c.blank_len = int64_t{1} << 24;
  c.n_train = 1000000;
  e = error_of([&] { run_training(c, quiet); });
  EXPECT_THAT(e, HasSubstr("copy task: the data sets (--n_train + --n_valid + --n_test = 1000032 sequences of "
                           "16777236 steps) need 67.1 TB, but only "));
  c.n_train = 16;
  c.blank_len = 20;
  // The audio task reads its folder before the check (without ../shared it stops there instead).
  if (path_exists(data_dir() + "/audio/train")) {
    c.task = "audio", c.model = "wavenet";
    c.model_opts.output_size = int64_t{1} << 24;
    c.model_opts.nhid = c.model_opts.levels = c.model_opts.depth = 2;
    e = error_of([&] { run_training(c, quiet); });
    EXPECT_THAT(e, HasSubstr("audio / wavenet: this configuration needs ≈ "));
  }
  // Beyond int64, below the flags' ranges: the closed forms say which model overflowed.
  EXPECT_THAT(error_of([] { tcn_size(1, {int64_t{1} << 40}, 3, 10); }), HasSubstr("TCN: sizes overflow int64"));
  EXPECT_THAT(error_of([] { sequnet_res_size(256, int64_t{1} << 31, 3, 1, 256, 5, int64_t{1} << 40); }),
              HasSubstr("residual Seq-U-Net: sizes overflow int64"));
  EXPECT_LT(cpu_allocator().stats().peak_bytes - live, int64_t(16) << 20);
  EXPECT_FALSE(path_exists(dir.str() + "/last.safetensors"));
}

// Multiply-adds of the forward pass, counted by hand for small models (bench/train's GFLOP/s).
TEST(TaskMemory, ForwardMultiplyAddsByHand) {
  // TCN(3, [4, 4, 5], K3), T = 10: block 0: 4·(3 + 4)·3·10 + downsample 4·3·10 = 960; block 1:
  // 4·8·3·10 = 960; block 2: 5·(4 + 5)·3·10 + 5·4·10 = 1550.
  EXPECT_EQ(tcn_size(3, {4, 4, 5}, 3, 10).macs, 3470);
  // The newest 2 steps (TCN::forward_newest): block 2 (P 8) computes conv2 and the downsample on 2
  // steps, conv1 on min(10, 2 + 8) = 10: 5·4·3·10 + 5·5·3·2 + 5·4·2 = 790; blocks 0 and 1 need all
  // 10 steps (2 + 2·8 ≥ 10): 960 + 960.
  EXPECT_EQ(tcn_size(3, {4, 4, 5}, 3, 10, 2).macs, 2710);
  // K 2 (P 1, 2, 4), the newest step: block 2 on 1 step (conv1 on 5): 5·4·2·5 + 5·5·2·1 + 5·4·1 = 270;
  // block 1 on 1 + 2·4 = 9 (conv1 on 10): 4·4·2·10 + 4·4·2·9 = 608; block 0 on min(10, 9 + 4):
  // 4·3·2·10 + 4·4·2·10 + 4·3·10 = 680.
  EXPECT_EQ(tcn_size(3, {4, 4, 5}, 2, 10, 1).macs, 1558);
  // WaveNet, 2 layers × 1 block, D = R = 2, S = 3, 4 classes, K 2, T = 5 (2 output steps): start
  // 2·4·5 = 40; layer 0 (d 1, 4 steps): gated 2·2·2·2·4 = 64, residual 2·2·4 = 16, skip on the 2
  // output steps 3·2·2 = 12; layer 1 (d 2, 2 steps, the last): gated 16·2 = 32, no residual, skip
  // 12; end convs 3·(3 + 4)·2 = 42.
  EXPECT_EQ(wavenet_size(2, 1, 2, 2, 3, 4, 2, true, 5).macs, 218);
}
