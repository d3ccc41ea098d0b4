// tests/test_gpu_train.cpp — `seqnet train --device cuda` end to end (skipped without a GPU).
//
// The CPU is the oracle: the same configuration, seed and data trained on the GPU gives the same
// loss at every step (1e-4 relative: the kernels sum in other orders, so the trajectories drift
// apart by float rounding only), dropout included (both backends draw the same Philox masks).
// A GPU rerun with the same seed is bitwise identical (no kernel uses floating-point atomics).
// Checkpoints are device-independent: a run trained on the GPU is evaluated and resumed on the
// CPU, and a GPU run resumed on the GPU equals one trained in one go, bit for bit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/device_api.h"
#include "core/paths.h"
#include "cuda/ops/tensor_table.h"
#include "ops/backend.h"
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

// ---- the optimiser kernels, CPU twin vs GPU ------------------------------------------------------

// Lengths that make the GPU's tensor tables (cuda/ops/tensor_table.h: 8 192 elements a block, 32
// tensors and 480 blocks a launch) split everywhere they can: an empty tensor, one element, a
// chunk ± 1, 40 small tensors (past a table's 32), and one tensor longer than a table's blocks
// cover (it continues in the next table).
std::vector<int64_t> optimiser_lengths() {
  std::vector<int64_t> ns = {0, 1, 255, 8191, 8192, 8193, 3000};
  for (int64_t i = 0; i < 40; ++i) ns.push_back(7 + 13 * i);
  ns.push_back(cuda::kTableBlocks * cuda::kTableChunk + 5);
  ns.push_back(5);
  return ns;
}

// Tensors of those lengths, uniform in [lo, hi), one draw for both devices.
std::vector<Tensor> draw_list(const std::vector<int64_t>& ns, DType dt, Generator& g, double lo, double hi) {
  std::vector<Tensor> ts;
  for (const int64_t n : ns) ts.push_back(Tensor::uniform({n}, lo, hi, dt, g));
  return ts;
}
std::vector<Tensor> copied_to(const std::vector<Tensor>& ts, Device d) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.to(d).contiguous().clone());
  return out;
}

// max over the list of |gpu − cpu| / max |cpu| (each list's own scale).
double list_rel_diff(const std::vector<Tensor>& gpu, const std::vector<Tensor>& cpu) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const std::vector<double> a = gpu[i].to(Device::cpu()).to(DType::F64).to_vector<double>();
    const std::vector<double> b = cpu[i].to(DType::F64).to_vector<double>();
    for (size_t j = 0; j < b.size(); ++j) {
      diff = std::max(diff, std::fabs(a[j] - b[j]));
      scale = std::max(scale, std::fabs(b[j]));
    }
  }
  return diff / std::max(scale, 1e-300);
}

bool bitwise_equal(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    const Tensor ha = a[i].to(Device::cpu()), hb = b[i].to(Device::cpu());
    if (ha.numel() > 0 && std::memcmp(ha.raw_data(), hb.raw_data(), size_t(ha.numel()) * dtype_size(ha.dtype())) != 0)
      return false;
  }
  return true;
}

// Adam over 3 steps, SGD with and without momentum, the squared norm and the clip's scale, each
// as one list call: the GPU's tables against the CPU's loops (f64 within 1e-13, f32 within 1e-6 of
// each list's largest value — the CPU may contract a·b + c into an FMA, the GPU rounds every step;
// the norm within 1e-12: both sum squares in double, in other orders). Every element is updated
// (a table that skipped a chunk would leave its old values, far outside the tolerance), and a GPU
// rerun gives the same bits.
TEST(GpuTrain, OptimiserKernelsMatchTheCpu) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  const std::vector<int64_t> ns = optimiser_lengths();
  for (const DType dt : {DType::F64, DType::F32}) {
    SCOPED_TRACE(dtype_name(dt));
    const double tol = dt == DType::F64 ? 1e-13 : 1e-6;
    Generator gen(11);
    const std::vector<Tensor> p0 = draw_list(ns, dt, gen, -1, 1);
    std::vector<std::vector<Tensor>> grads;
    for (int step = 0; step < 3; ++step) grads.push_back(draw_list(ns, dt, gen, -2, 2));

    // Adam: returns p, m, v after 3 steps on device d.
    const auto adam = [&](Device d) {
      std::vector<Tensor> p = copied_to(p0, d), m, v;
      for (const Tensor& x : p) m.push_back(zeros_like(x)), v.push_back(zeros_like(x));
      for (int step = 0; step < 3; ++step) {
        const std::vector<Tensor> g = copied_to(grads[size_t(step)], d);
        std::vector<AdamSlot> slots;
        for (size_t i = 0; i < p.size(); ++i) slots.push_back({p[i], g[i], m[i], v[i]});
        const double bc1 = 1 - std::pow(0.9, step + 1), bc2 = 1 - std::pow(0.999, step + 1);
        backend(d, "Adam").optim.adam_step(slots,
                                           AdamStep{.lr = 1e-2, .bias_correction1 = bc1, .bias_correction2 = bc2});
      }
      return std::vector<std::vector<Tensor>>{p, m, v};
    };
    const auto cpu_adam = adam(Device::cpu()), gpu_adam = adam(test_gpu());
    for (size_t k = 0; k < 3; ++k) EXPECT_LE(list_rel_diff(gpu_adam[k], cpu_adam[k]), tol) << "Adam, array " << k;
    EXPECT_GT(list_rel_diff(cpu_adam[0], p0), 1e-4) << "Adam moved nothing";
    const auto gpu_again = adam(test_gpu());
    for (size_t k = 0; k < 3; ++k) EXPECT_TRUE(bitwise_equal(gpu_again[k], gpu_adam[k])) << "Adam rerun, array " << k;

    // SGD, momentum 0.9 (2 steps) and none (1 step): p and the velocity.
    for (const double momentum : {0.9, 0.0}) {
      const auto sgd = [&](Device d) {
        std::vector<Tensor> p = copied_to(p0, d), v;
        for (const Tensor& x : p) v.push_back(momentum != 0 ? zeros_like(x) : Tensor());
        for (int step = 0; step < (momentum != 0 ? 2 : 1); ++step) {
          const std::vector<Tensor> g = copied_to(grads[size_t(step)], d);
          std::vector<SgdSlot> slots;
          for (size_t i = 0; i < p.size(); ++i) slots.push_back({p[i], g[i], v[i]});
          backend(d, "SGD").optim.sgd_step(slots, 0.05, momentum);
        }
        return std::make_pair(p, v);
      };
      const auto [cp, cv] = sgd(Device::cpu());
      const auto [gp, gv] = sgd(test_gpu());
      EXPECT_LE(list_rel_diff(gp, cp), tol) << "SGD momentum " << momentum;
      if (momentum != 0) {
        EXPECT_LE(list_rel_diff(gv, cv), tol) << "SGD velocity";
      }
      EXPECT_GT(list_rel_diff(cp, p0), 1e-3) << "SGD moved nothing";
    }

    // The squared norm (added to an accumulator) and the scale.
    const std::vector<Tensor> g_cpu = copied_to(grads[0], Device::cpu()), g_gpu = copied_to(grads[0], test_gpu());
    const double cpu_sq = backend(Device::cpu(), "norm").optim.sum_squares(g_cpu, 0.5);
    const double gpu_sq = backend(test_gpu(), "norm").optim.sum_squares(g_gpu, 0.5);
    EXPECT_NEAR(gpu_sq, cpu_sq, 1e-12 * cpu_sq);
    EXPECT_EQ(backend(test_gpu(), "norm").optim.sum_squares(g_gpu, 0.5), gpu_sq) << "norm rerun";
    double direct = 0.5;  // by hand: Σ g², which a table that skipped or repeated a chunk would miss
    for (const Tensor& g : grads[0])
      for (const double x : g.to(DType::F64).to_vector<double>()) direct += x * x;
    EXPECT_NEAR(cpu_sq, direct, 1e-12 * direct);
    backend(Device::cpu(), "scale").optim.scale(g_cpu, 0.3);
    backend(test_gpu(), "scale").optim.scale(g_gpu, 0.3);
    EXPECT_LE(list_rel_diff(g_gpu, g_cpu), tol) << "scale";
    EXPECT_LE(list_rel_diff(g_cpu, grads[0]), 0.7 + 1e-6);
    EXPECT_GE(list_rel_diff(g_cpu, grads[0]), 0.7 - 1e-3) << "scale changed nothing";
  }
}

// A list whose tensors disagree, or whose slots share what the call writes, is refused before
// anything runs (slot 0, listed first, keeps its values), naming the slot and the tensor.
TEST(GpuTrain, OptimiserListsAreChecked) {
  if (!seqnet::testing::gpu_is_real()) GTEST_SKIP() << "no GPU visible (the CPU twin trusts the trainer's checks)";
  using seqnet::testing::error_of;
  using ::testing::AllOf;
  using ::testing::HasSubstr;
  const Device d = test_gpu();
  const auto full = [&](Shape s, double x, DType t = DType::F32) { return Tensor::full(s, x, t, d); };
  Tensor p = full({4}, 1), g = full({4}, 0.5), m = full({4}, 0), v = full({4}, 0);
  const OptimKernels& k = backend(d, "Adam").optim;
  const auto p_kept = [&] { return p.to(Device::cpu()).to_vector<float>() == std::vector<float>(4, 1.0f); };
  EXPECT_THAT(error_of([&] {
                k.adam_step({{p, g, m, v}, {p.clone(), g, full({3}, 0), v.clone()}}, AdamStep{});
              }),
              AllOf(HasSubstr("Adam: tensor m of slot 1"), HasSubstr("f32[3]")));
  EXPECT_THAT(error_of([&] {
                k.adam_step({{p, g, m, v}, {p.clone(), g, m.clone(), full({4}, 0, DType::F64)}}, {});
              }),
              HasSubstr("Adam: tensor v of slot 1 is f64[4]"));
  EXPECT_THAT(error_of([&] {
                k.adam_step({{p, g, m, v}, {p.clone(), g, m, v.clone()}}, AdamStep{});
              }),
              HasSubstr("Adam: slots 0 and 1 share storage"));
  EXPECT_TRUE(p_kept()) << "a refused call changed slot 0";
  EXPECT_THAT(error_of([&] {
                k.sum_squares({g, full({4}, 0, DType::F64)}, 0);
              }),
              HasSubstr("clip_grad_norm: tensor g of slot 1"));
  EXPECT_THAT(error_of([&] { k.scale({g, g}, 0.5); }), HasSubstr("clip_grad_norm: slots 0 and 1 share storage"));
  EXPECT_THAT(error_of([&] {
                k.sgd_step({{p, g, Tensor()}}, 0.1, 0.9);
              }),
              HasSubstr("SGD: tensor velocity of slot 0 is undefined"));
  EXPECT_TRUE(p_kept());
  EXPECT_EQ(error_of([&] { k.adam_step({{p, g, m, v}}, AdamStep{}); }), "<no error>");
  EXPECT_FALSE(p_kept()) << "the accepted call updated nothing";
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
