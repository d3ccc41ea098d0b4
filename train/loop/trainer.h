// train/loop/trainer.h — the training loop of every task (MODELS.md §10).
//
//   for epoch = 1 .. epochs:
//     for each step: zero grads → forward + loss → backward → clip global norm (clip > 0)
//                    → optimiser step; progress and JSON-lines metrics every log_interval
//     validate; halve the lr by the task's rule; save best.safetensors if the validation loss
//     improved; save last.safetensors (everything --resume needs)
//   reload the best weights; evaluate train / valid / test; write results.json
//
// Files in cfg.out_dir: last.safetensors, best.safetensors (train/loop/checkpoint.h), metrics.jsonl
// (one JSON object per log interval and per epoch), loss.svg (train / valid loss per epoch),
// results.json. A non-finite loss stops the run with TrainingDiverged naming the epoch and step;
// the checkpoints on disk are the last good ones. SIGINT / SIGTERM stop it at the next safe point
// with Interrupted (train/loop/interrupt.h), the last checkpoint intact. At start, temporaries a
// killed run left in out_dir are removed; on --resume, metrics.jsonl is made to agree with the
// checkpoint (records of an unfinished epoch dropped, a missing epoch record restored).
#pragma once
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "core/error.h"
#include "train/tasks/task_model.h"
#include "train/loop/checkpoint.h"
#include "train/loop/config.h"
#include "train/tasks/task.h"

namespace seqnet {

struct TrainingDiverged : Error {
  using Error::Error;
  int64_t epoch = 0, step = 0;
};

struct TrainOptions {
  bool resume = false;       // continue from out_dir/last.safetensors
  bool final_eval = true;    // evaluate the best checkpoint on all splits at the end
  int verbosity = 1;         // 0: errors only; 1: progress + epoch lines
  // Where the model, its batches and the optimiser state live. A run's checkpoints do not
  // record it: a run trained on a GPU resumes or evaluates on the CPU and the other way round.
  Device device = Device::cpu();
  // Called after each epoch's checkpoints are written (tests use it to poke at the model).
  std::function<void(int64_t epoch, Module& model)> after_epoch;
  // Called after each optimiser step (1-based step within the epoch; tests use it to interrupt).
  std::function<void(int64_t epoch, int64_t step)> after_step;
};

struct TrainOutcome {
  int64_t epochs_run = 0, best_epoch = 0;
  double best_valid = 0, seconds = 0;
  EvalResult train, valid, test;  // of the best checkpoint (when final_eval)
};

TrainOutcome run_training(const TrainConfig& cfg, const TrainOptions& opt = {});

// A model rebuilt from a checkpoint alone (with its task, whose data is loaded from
// cfg.data_dir or `data_dir_override`).
struct LoadedRun {
  Checkpoint checkpoint;
  std::unique_ptr<Task> task;
  TaskModel model;
  TaskModelOptions options;  // the model options after the task filled in its data facts (vocab)
};
LoadedRun load_run(const std::string& checkpoint_path, const std::string& data_dir_override = "");

// The model of a checkpoint alone, without its data (its config holds the resolved model
// options, the vocabulary size included). Weights restored; eval mode.
TaskModel load_model(const Checkpoint& ck);

// Builds cfg's task and model (the model initialised from `gen`) and binds them. With
// `for_training`, the memory a training step needs is estimated first (train/tasks/task_memory.h)
// and a configuration that cannot fit is refused before the model is allocated.
LoadedRun build_run(const TrainConfig& cfg, Generator& gen, bool for_training = false, Device device = Device::cpu());

// Evaluates all three splits under no-grad in eval mode.
struct FullEval {
  EvalResult train, valid, test;
};
FullEval evaluate_all(Task& task, Module& model, int64_t max_eval_batches);
nlohmann::json to_json(const EvalResult& r);
std::string format_eval(const EvalResult& r);  // "loss 0.1234 (bpc 1.3456)"

}  // namespace seqnet
