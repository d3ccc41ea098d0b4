// train/loop/checkpoint.h — training checkpoints: one safetensors file holding everything needed to
// evaluate, generate from, or continue a run.
//
//   tensors   the model's state_dict under the official PyTorch names (aliases included, so
//             PyTorch's load_state_dict takes the file after dropping the optimizer.* keys),
//             then "optimizer.<slot>.<parameter>" (exp_avg, exp_avg_sq, momentum_buffer)
//   metadata  "format"  "seqnet-checkpoint/1"
//             "config"  the TrainConfig as JSON (train/loop/config.h) — rebuilds task and model
//             "task"    data facts the task needs (the vocabulary of a text task)
//             "state"   epoch, learning rate, step counts, the RNG state, best validation loss,
//                       the validation history of the halving rule, the per-epoch history
//
// Writes are atomic (core/safetensors.h): an interrupted write leaves the previous file intact.
#pragma once
#include <nlohmann/json.hpp>

#include <limits>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/safetensors.h"
#include "models/module.h"
#include "train/loop/config.h"
#include "train/loop/optim.h"

namespace seqnet {

inline constexpr const char* kCheckpointFormat = "seqnet-checkpoint/1";

struct TrainState {
  int64_t epoch = 0;        // completed epochs
  int64_t global_step = 0;  // optimiser steps taken
  double lr = 0;
  RngState rng{0, 0};
  double best_valid = std::numeric_limits<double>::infinity();
  int64_t best_epoch = 0;
  std::vector<double> valid_history;                  // what the halving rule compares with
  nlohmann::json history = nlohmann::json::array();   // one record per epoch
};

struct Checkpoint {
  TrainConfig config;
  nlohmann::json task_info;
  TrainState state;
  std::string optim_kind;
  SafetensorsFile file;
};

void save_checkpoint(const std::string& path, const TrainConfig& cfg, const nlohmann::json& task_info,
                     const Module& model, const Optimizer* optim, const TrainState& state);
// Reads and checks a checkpoint; Error naming the file if it is not one (or is damaged).
Checkpoint load_checkpoint(const std::string& path);
// Copies the model weights (strict: every key present, shapes equal; optimizer.* keys ignored).
void restore_model(const Checkpoint& ck, Module& model);
// Copies the optimiser state; Error if the checkpoint's optimiser differs or a buffer is missing.
void restore_optimizer(const Checkpoint& ck, Optimizer& optim, const Module& model);

}  // namespace seqnet
