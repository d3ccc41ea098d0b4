// train/main.cpp — the `seqnet` command-line tool.
//
//   seqnet info              build, BLAS library in use, threads, CUDA, allocator
//   seqnet demo [--steps N]  the built-in demo job (a small network fitted with seqnet's ops)
//
// More subcommands (verify, train, eval, generate, search, plot) arrive with the models and
// the training CLI.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "core/allocator.h"
#include "core/paths.h"
#include "core/runtime.h"
#include "train/demo.h"
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
  auto* info = app.add_subcommand("info", "show the build, the BLAS in use, threads and data locations");
  DemoConfig demo_cfg;
  auto* demo = app.add_subcommand("demo", "fit a small network with seqnet's ops and show the loss falling");
  demo->add_option("--steps", demo_cfg.steps, "training steps")->check(CLI::PositiveNumber);
  demo->add_option("--hidden", demo_cfg.hidden, "hidden units per layer")->check(CLI::PositiveNumber);
  demo->add_option("--lr", demo_cfg.lr, "Adam learning rate")->check(CLI::PositiveNumber);
  demo->add_option("--seed", demo_cfg.seed, "random seed");
  CLI11_PARSE(app, argc, argv);
  try {
    init_runtime();
    if (*info) return cmd_info();
    if (*demo) return cmd_demo(demo_cfg);
  } catch (const std::exception& e) {
    fmt::print(stderr, "seqnet: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
