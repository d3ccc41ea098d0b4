// tests/test_gpu_train.cpp — `seqnet train --device cuda` end to end (skipped without a GPU).
//
// The CPU is the oracle: the same configuration, seed and data trained on the GPU gives the same
// loss at every step (1e-4 relative: the kernels sum in other orders, so the trajectories drift
// apart by float rounding only), dropout included (both backends draw the same Philox masks).
// A GPU rerun with the same seed is bitwise identical (no kernel uses floating-point atomics).
// Checkpoints are device-independent: a run trained on the GPU is evaluated and resumed on the
// CPU, and a GPU run resumed on the GPU equals one trained in one go, bit for bit.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/device_api.h"
#include "core/paths.h"
#include "tests/checkpoint_util.h"
#include "tests/test_util.h"
#include "train/loop/checkpoint.h"
#include "train/loop/trainer.h"
#include "train/tasks/task_memory.h"

namespace seqnet {
namespace {

using seqnet::testing::expect_same_checkpoint;
using seqnet::testing::TempDir;

// The GPU of these tests: cuda:0, or the CPU in ctest's dry run (tests/test_util.h).
bool have_gpu() { return seqnet::testing::have_test_gpu(); }
using seqnet::testing::test_gpu;

TrainOptions on(Device d, bool resume = false) {
  TrainOptions o;
  o.verbosity = 0;
  o.device = d;
  o.resume = resume;
  o.final_eval = false;
  return o;
}

// 20 steps of copy-memory Seq-U-Net with dropout (one epoch of 20 batches; a step record each).
TrainConfig copy_sequnet(const std::string& out) {
  TrainConfig c = TrainConfig::defaults("copy", "sequnet");
  c.blank_len = 40;
  c.model_opts.levels = 3;
  c.model_opts.nhid = 16;
  c.model_opts.dropout = 0.2;
  c.batch_size = 8;
  c.n_train = 160, c.n_valid = 16, c.n_test = 16;
  c.epochs = 1;
  c.log_interval = 1;
  c.lr = 2e-3;
  c.out_dir = out;
  return c;
}

// The same at 4 steps per epoch, for `epochs` epochs (the resume tests).
TrainConfig short_copy_sequnet(const std::string& out, int64_t epochs) {
  TrainConfig c = copy_sequnet(out);
  c.n_train = 32;
  c.epochs = epochs;
  return c;
}

// 20 steps of char TCN at nhid 32 with dropout, on PTB characters.
TrainConfig char_tcn(const std::string& out) {
  TrainConfig c = TrainConfig::defaults("char", "tcn");
  c.model_opts.nhid = 32;
  c.model_opts.levels = 3;
  c.max_steps = 20;
  c.max_eval_batches = 2;
  c.epochs = 1;
  c.log_interval = 1;
  c.out_dir = out;
  return c;
}

// The training loss of every step record of a run's metrics.jsonl.
std::vector<double> step_losses(const std::string& dir) {
  std::ifstream in(dir + "/metrics.jsonl");
  std::vector<double> out;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j["type"] == "step") out.push_back(j["loss"].get<double>());
  }
  return out;
}

// CPU and GPU runs of `cfg` agree step by step; a second GPU run equals the first bit for bit.
void expect_gpu_trajectory_matches_cpu(const std::function<TrainConfig(const std::string&)>& make, size_t steps) {
  TempDir cpu("gpu_traj_cpu"), gpu("gpu_traj_gpu"), again("gpu_traj_again");
  run_training(make(cpu.str()), on(Device::cpu()));
  run_training(make(gpu.str()), on(test_gpu()));
  run_training(make(again.str()), on(test_gpu()));
  const std::vector<double> c = step_losses(cpu.str()), g = step_losses(gpu.str()), g2 = step_losses(again.str());
  ASSERT_EQ(c.size(), steps);
  ASSERT_EQ(g.size(), steps);
  double worst = 0;
  for (size_t i = 0; i < steps; ++i) {
    const double rel = std::abs(g[i] - c[i]) / std::max(std::abs(c[i]), 1e-12);
    worst = std::max(worst, rel);
    EXPECT_LE(rel, 1e-4) << "step " << i + 1 << ": CPU " << c[i] << ", GPU " << g[i];
  }
  std::printf("  %zu steps: largest relative difference CPU vs GPU %.3g\n", steps, worst);
  EXPECT_EQ(g, g2) << "a GPU rerun with the same seed differs";
  expect_same_checkpoint(gpu.str() + "/last.safetensors", again.str() + "/last.safetensors");
}

TEST(GpuTrain, CopySequnetTrajectoryMatchesTheCpuAndRerunsBitwise) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  expect_gpu_trajectory_matches_cpu(copy_sequnet, 20);
}

TEST(GpuTrain, CharTcnTrajectoryMatchesTheCpuAndRerunsBitwise) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  if (!path_exists(data_dir() + "/ptb/train.txt")) GTEST_SKIP() << "no PTB under " << data_dir();
  expect_gpu_trajectory_matches_cpu(char_tcn, 20);
}

TEST(GpuTrain, ResumeOnTheGpuIsBitExact) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  TempDir a("gpu_full"), b("gpu_resumed");
  auto cfg = short_copy_sequnet;
  run_training(cfg(a.str(), 3), on(test_gpu()));
  run_training(cfg(b.str(), 1), on(test_gpu()));
  run_training(cfg(b.str(), 3), on(test_gpu(), /*resume=*/true));
  expect_same_checkpoint(a.str() + "/last.safetensors", b.str() + "/last.safetensors");
}

TEST(GpuTrain, CheckpointsMoveBetweenCpuAndGpu) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  TempDir g("gpu_ckpt"), c("cpu_ckpt");
  auto cfg = short_copy_sequnet;
  run_training(cfg(g.str(), 1), on(test_gpu()));
  // evaluated on the CPU and on the GPU: the same numbers up to float rounding
  LoadedRun cpu_run = load_run(g.str() + "/last.safetensors");
  const FullEval fc = evaluate_all(*cpu_run.task, *cpu_run.model.model, 0);
  LoadedRun gpu_run = load_run(g.str() + "/last.safetensors");
  gpu_run.model.model->params().store_on(test_gpu());
  const FullEval fg = evaluate_all(*gpu_run.task, *gpu_run.model.model, 0);
  EXPECT_NEAR(fg.valid.loss, fc.valid.loss, 1e-5 * std::abs(fc.valid.loss));
  EXPECT_NEAR(fg.test.loss, fc.test.loss, 1e-5 * std::abs(fc.test.loss));
  // resumed on the CPU, and (from a copy of the same checkpoint) on the GPU: both continue, and
  // their next epoch agrees up to float rounding
  std::filesystem::copy(g.path(), c.path(),
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  run_training(cfg(c.str(), 2), on(Device::cpu(), /*resume=*/true));
  run_training(cfg(g.str(), 2), on(test_gpu(), /*resume=*/true));
  const Checkpoint A = load_checkpoint(c.str() + "/last.safetensors"),
                   B = load_checkpoint(g.str() + "/last.safetensors");
  EXPECT_EQ(A.state.epoch, 2);
  EXPECT_EQ(B.state.epoch, 2);
  ASSERT_EQ(A.state.valid_history.size(), 2u);
  ASSERT_EQ(B.state.valid_history.size(), 2u);
  EXPECT_NEAR(A.state.valid_history[1], B.state.valid_history[1], 1e-4 * std::abs(A.state.valid_history[1]));
}

// The up-front memory check sees the GPU's free memory (plus the allocator's cache), and refuses a
// configuration whose estimate exceeds it, naming the device.
TEST(GpuTrain, MemoryCheckSeesTheGpu) {
  if (!seqnet::testing::gpu_is_real()) GTEST_SKIP() << "no GPU visible (a dry run has no GPU memory to see)";
  const double avail = available_memory_bytes(Device::cuda(0));
  EXPECT_GT(avail, double(1 << 30));
  MemoryEstimate huge;
  huge.weight_bytes = 2 * avail;
  TrainConfig cfg;
  cfg.task = "copy", cfg.model = "tcn";
  const std::string msg = seqnet::testing::error_of([&] { check_training_memory(huge, cfg, Device::cuda(0)); });
  EXPECT_NE(msg.find("available on cuda:0"), std::string::npos) << msg;
}

TEST(GpuTrain, CudaDeviceWithoutAGpuSaysWhy) {
  if (device_available(Device::cuda(0))) GTEST_SKIP() << "a GPU is visible: this test is for machines without one";
  TempDir d("gpu_none");
  const std::string msg = seqnet::testing::error_of([&] { run_training(copy_sequnet(d.str()), on(Device::cuda(0))); });
  EXPECT_NE(msg.find("cuda:0"), std::string::npos) << msg;
}

}  // namespace
}  // namespace seqnet
