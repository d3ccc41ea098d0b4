// train/main.cpp — the `seqnet` command-line tool.
//
//   seqnet info [--task T --model M]   build, BLAS in use, threads; or a task model's size
//   seqnet verify PARAMS DATA          check a model against PyTorch reference files
//   seqnet demo [--steps N]            the built-in demo job (a small network fitted with seqnet's ops)
//
// More subcommands (train, eval, generate, search, plot) arrive with the training CLI.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "core/allocator.h"
#include "core/error.h"
#include "core/paths.h"
#include "core/runtime.h"
#include "models/tasks.h"
#include "train/demo.h"
#include "train/verify.h"
#ifdef SEQNET_HAVE_CUDA
#include "cuda/cuda_info.h"
#endif

using namespace seqnet;

namespace {

int cmd_info() {
  BlasInfo b = blas_info();
  fmt::print("seqnet {}\n", SEQNET_VERSION);
  fmt::print("  BLAS library : {}\n", b.library.empty() ? "unknown" : b.library);
  fmt::print("  BLAS config  : {}\n", b.config.empty() ? "(not OpenBLAS)" : b.config);
  fmt::print("  BLAS threads : {} ({})\n", b.threads, b.parallel);
  fmt::print("  OpenMP threads: {} (set SEQNET_THREADS to change)\n", num_threads());
#ifdef SEQNET_HAVE_CUDA
  const int gpus = cuda::device_count();
  fmt::print("  CUDA backend : built; {} GPU(s) visible{}\n", gpus, gpus > 0 ? ": " + cuda::device_name(0) : "");
#else
  fmt::print("  CUDA backend : not built (configure with -DSEQNET_CUDA=ON on a machine with nvcc + cuBLAS)\n");
#endif
  fmt::print("  refs         : {}{}\n", refs_dir(), path_exists(refs_dir()) ? "" : " (not found)");
  fmt::print("  data         : {}{}\n", data_dir(), path_exists(data_dir()) ? "" : " (not found)");
  if (b.parallel != "openmp")
    fmt::print("  warning: the loaded BLAS is not the OpenMP build of OpenBLAS; BLAS and seqnet kernels "
               "will use separate thread pools (apt-get install libopenblas0-openmp)\n");
  return 0;
}

int cmd_task_info(const std::string& task, const std::string& model, const TaskModelOptions& opt) {
  Generator gen(0);
  TaskModel tm = build_task_model(task, model, opt, gen);
  const ParameterSet& p = tm.model->params();
  fmt::print("task {} / model {}\n  {}\n", task, model, tm.model->describe());
  for (const auto& s : tm.settings) fmt::print("  {}\n", s);
  int64_t aliases = 0;
  for (const auto& e : p.entries()) aliases += e.is_alias ? 1 : 0;
  fmt::print("  parameters: {} ({} tensors, {} state_dict keys incl. {} aliases)\n", p.count(),
             p.unique().size(), p.entries().size(), aliases);
  return 0;
}

int cmd_verify(const std::string& params, const std::string& data, const std::string& dtype) {
  VerifyOptions opt;
  check(dtype == "f32" || dtype == "f64", "verify: --dtype must be f32 or f64, got '{}'", dtype);
  opt.dtype = dtype == "f64" ? DType::F64 : DType::F32;
  VerifyResult r = verify_reference(params, data, opt);
  print_verify(stdout, r, opt);
  if (r.not_applicable) return 2;  // nothing was checked: neither a pass nor a failure
  return r.passed ? 0 : 1;
}

int cmd_demo(const DemoConfig& cfg) {
  fmt::print("seqnet demo: MLP 2 -> {} -> {} -> 1 (tanh), Adam lr {}, fitting y = sin(3 x1) cos(2 x2) on {} points\n",
             cfg.hidden, cfg.hidden, cfg.lr, cfg.points);
  DemoResult r = run_demo(cfg, [](int64_t step, double loss) {
    fmt::print("  step {:5d}  train MSE {:.6f}\n", step, loss);
    std::fflush(stdout);
  });
  fmt::print("done in {:.2f} s: train MSE {:.6f} -> {:.6f} ({:.0f}x lower), held-out MSE {:.6f}\n", r.seconds,
             r.first_loss, r.final_loss, r.first_loss / r.final_loss, r.final_valid_loss);
  return r.final_loss < r.first_loss ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seqnet: Seq-U-Net, TCN and WaveNet in C++ — training, evaluation and generation"};
  app.require_subcommand(1);
  auto* info = app.add_subcommand("info", "show the build, the BLAS in use, threads and data locations; "
                                           "with --task and --model: that model's size");
  std::string info_task, info_model;
  TaskModelOptions tmo;
  info->add_option("--task", info_task, "task: copy, jsb, nottingham, muse, piano, char, word, audio");
  info->add_option("--model", info_model, "model: tcn, sequnet, sequnet_res, wavenet (as the task offers)");
  {
    auto opt64 = [&](const char* name, std::optional<int64_t>& slot, const char* help) {
      info->add_option_function<int64_t>(name, [&slot](const int64_t& v) { slot = v; }, help)
          ->check(CLI::PositiveNumber);
    };
    opt64("--nhid", tmo.nhid, "hidden channels (audio: C / residual channels)");
    opt64("--levels", tmo.levels, "levels (audio WaveNet: layers per block)");
    opt64("--ksize", tmo.ksize, "kernel size");
    opt64("--emsize", tmo.emsize, "embedding size (char, word)");
    opt64("--vocab", tmo.vocab, "vocabulary size (char, word)");
    opt64("--validseqlen", tmo.validseqlen, "predicted positions per window (char, word)");
    opt64("--depth", tmo.depth, "residual Seq-U-Net depth (audio WaveNet: blocks)");
    opt64("--output_size", tmo.output_size, "audio output size");
    info->add_option_function<double>("--dropout", [&](const double& v) { tmo.dropout = v; }, "dropout");
  }
  std::string v_params, v_data, v_dtype = "f32";
  auto* verify = app.add_subcommand("verify", "check a model against PyTorch reference files "
                                               "(outputs, input and parameter gradients)");
  verify->add_option("PARAMS", v_params, "<tag>.params.safetensors (official state_dict + config)")->required();
  verify->add_option("DATA", v_data, "<tag>.data.safetensors (input, R, output, gradients)")->required();
  verify->add_option("--dtype", v_dtype, "compute in f32 (default) or f64");
  DemoConfig demo_cfg;
  auto* demo = app.add_subcommand("demo", "fit a small network with seqnet's ops and show the loss falling");
  demo->add_option("--steps", demo_cfg.steps, "training steps")->check(CLI::PositiveNumber);
  demo->add_option("--hidden", demo_cfg.hidden, "hidden units per layer")->check(CLI::PositiveNumber);
  demo->add_option("--lr", demo_cfg.lr, "Adam learning rate")->check(CLI::PositiveNumber);
  demo->add_option("--seed", demo_cfg.seed, "random seed");
  CLI11_PARSE(app, argc, argv);
  try {
    init_runtime();
    if (*info) {
      if (!info_task.empty() || !info_model.empty()) {
        check(!info_task.empty() && !info_model.empty(), "info: give both --task and --model");
        return cmd_task_info(info_task, info_model, tmo);
      }
      return cmd_info();
    }
    if (*verify) return cmd_verify(v_params, v_data, v_dtype);
    if (*demo) return cmd_demo(demo_cfg);
  } catch (const std::exception& e) {
    fmt::print(stderr, "seqnet: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
