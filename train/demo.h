// train/demo.h — the built-in demo job: fit a two-layer network to a synthetic function.
//
// Until the training CLI exists, `seqnet demo` (and scripts/demo) run this: an MLP
// 2 → hidden → hidden → 1 with tanh, trained with Adam on y = sin(3·x1)·cos(2·x2) sampled on
// [−1, 1]², using nothing but seqnet ops and autograd. It prints the loss as it falls.
#pragma once
#include <cstdint>
#include <functional>

namespace seqnet {

struct DemoConfig {
  int64_t steps = 1500;
  int64_t hidden = 64;
  int64_t points = 512;
  double lr = 1e-2;
  uint64_t seed = 0;
  int64_t log_every = 100;
};

struct DemoResult {
  double first_loss = 0, final_loss = 0, final_valid_loss = 0;
  double seconds = 0;
};

DemoResult run_demo(const DemoConfig& cfg, const std::function<void(int64_t step, double loss)>& log);

}  // namespace seqnet
