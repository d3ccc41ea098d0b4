// train/tasks/task_memory.h — the memory a training run will need, estimated before anything is
// allocated, so that `--nhid 1000000` or `--output_size 1e8` is refused in milliseconds with the
// estimate and the memory available, instead of allocating gigabytes for seconds before failing
// (or overflowing into a negative size).
//
//   weights      parameters × (1 weight + 1 gradient + the optimiser's slots: Adam 2, SGD+momentum 1)
//   activations  what forward keeps for backward: batch × the model's feature elements per example
//                (models/sizes.h: Σ channels × time over the layers, at the window the task and
//                the planner fix) × kSavedPerFeature, plus the head's logits and their gradient
//
// Only the weights part is exact (tests compare the parameter count with the built model); the
// activations are an estimate, kept within a factor 1.5 of the measured step peak by tests.
#pragma once
#include <cstdint>
#include <string>

#include "core/device.h"
#include "train/loop/config.h"

namespace seqnet {

struct MemoryEstimate {
  int64_t parameters = 0;
  int64_t batch = 0, window = 0;  // the example shape the activations were sized for
  double weight_bytes = 0;        // weights, gradients and optimiser state
  double activation_bytes = 0;    // kept by forward for backward (estimate)
  double forward_macs = 0;        // multiply-adds of one forward pass of the batch (bench/train's GFLOP/s)
  double total() const { return weight_bytes + activation_bytes; }
  // "≈ 1.2 GB (5.9M parameters: 94 MB with gradients and Adam state; activations 1.1 GB for batch 16 × 400 steps)"
  std::string describe() const;
};

// `opts`: the model options with the task's defaults and its data facts filled in (vocab).
// `longest_example`: the longest training example in time steps where the data decides it (music
// pieces); 0 where the configuration does. Throws Error when a size overflows int64.
MemoryEstimate estimate_training_memory(const TrainConfig& cfg, const TaskModelOptions& opts,
                                        int64_t longest_example);

// Memory the device can still give: CPU, MemAvailable (/proc/meminfo) capped by a cgroup limit;
// 0 if unknown.
double available_memory_bytes(Device d);

// Throws Error when the estimate exceeds what is available, naming the configuration's sizes,
// the estimate and the memory available. Does nothing when the available memory is unknown.
void check_training_memory(const MemoryEstimate& e, const TrainConfig& cfg, Device d);

// Throws Error "<what> need(s) <bytes>, but only <available> is available on <d>" when `bytes`
// exceeds the device's available memory (data sets, before they are generated or read).
void check_fits_in_memory(double bytes, const std::string& what, Device d);

// "1.2 GB", "340 MB", "12 kB"
std::string format_bytes(double bytes);

}  // namespace seqnet
