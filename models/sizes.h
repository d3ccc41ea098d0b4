// models/sizes.h — how big a model is, without building it: its parameter count (the closed forms
// of MODELS.md §5–§8), the feature elements its forward pass produces per example (Σ over
// layers of channels × time) and the multiply-adds of that forward pass (bench/train's GFLOP/s). train/tasks/task_memory.h turns these into the memory a training
// step needs, so that a configuration too large for the machine is refused before anything is
// allocated.
//
// All arithmetic is overflow-checked: a size that does not fit in int64 throws Error naming the
// model ("TCN: sizes overflow int64 ..."). Tests (Sizes.*) compare the parameter counts with
// the built models for many configurations; they must agree exactly.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace seqnet {

struct ModelSize {
  int64_t parameters = 0;
  int64_t features = 0;  // per example: Σ over the layers' outputs of channels × time steps
  int64_t macs = 0;      // per example: multiply-adds of the forward pass's convolutions
};

// TemporalConvNet(inputs, channels, K) on windows of T steps (§5).
// newest > 0: the sizes of TCN::forward_newest(x, newest), which computes fewer steps per level.
ModelSize tcn_size(int64_t inputs, const std::vector<int64_t>& channels, int64_t kernel, int64_t T, int64_t newest = 0);
// WaveNetModel on inputs of T steps (§6; T ≥ the receptive field).
ModelSize wavenet_size(int64_t layers, int64_t blocks, int64_t dilation_channels, int64_t residual_channels,
                       int64_t skip_channels, int64_t classes, int64_t kernel, bool bias, int64_t T);
// Basic Seq-U-Net (§7) on inputs of T steps (the planned input size), valid or padded mode.
ModelSize sequnet_size(int64_t inputs, const std::vector<int64_t>& channels, int64_t outputs, int64_t kernel,
                       int64_t T, bool padded);
// Residual Seq-U-Net (§8) on inputs of T steps.
ModelSize sequnet_res_size(int64_t inputs, int64_t channels, int64_t levels, int64_t depth, int64_t outputs,
                           int64_t kernel, int64_t T);

// Overflow-checked int64 arithmetic for size computations; `who` names the model in the error.
struct CheckedSize {
  std::string who;
  int64_t add(int64_t a, int64_t b) const;
  int64_t mul(int64_t a, int64_t b) const;
  int64_t mul(int64_t a, int64_t b, int64_t c) const { return mul(mul(a, b), c); }
};

}  // namespace seqnet
