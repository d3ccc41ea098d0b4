// train/loop/config.h — everything that defines a training run, with each task's official defaults.
//
// A TrainConfig is resolved once (task defaults, then the user's flags on top), printed at the
// start of a run, and stored as JSON in every checkpoint, so `seqnet eval`, `seqnet generate`
// and `--resume` rebuild exactly the same task and model from the file alone. Unknown JSON keys
// are ignored and missing ones take the defaults, so a checkpoint stays loadable when fields are
// added later.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "train/tasks/task_table.h"

namespace seqnet {

struct TrainConfig {
  std::string task = "copy", model = "tcn";
  TaskModelOptions model_opts;  // unset fields: the task's model defaults (train/tasks/task_table.cpp)

  // optimisation (MODELS.md §10)
  std::string optim = "adam";  // "adam" or "sgd"
  double lr = 1e-3;
  double clip = -1;            // ≤ 0: no clipping
  double momentum = 0.0;       // SGD only
  int64_t epochs = 100;
  int64_t batch_size = 1;
  uint64_t seed = 1111;

  // text (char, word): windows of seq_len every validseqlen positions; the model's planner may
  // change them (Seq-U-Net char: 397 / 325), see TextTask
  int64_t seq_len = 0, validseqlen = 0;
  // copy memory: T blanks; adding: sequence length (seq_len)
  int64_t blank_len = 1000;
  int64_t n_train = 0, n_valid = 0, n_test = 0;  // synthetic set sizes
  // raw audio: hop between training items of a file
  int64_t hop = 40000;

  // run control
  int64_t log_interval = 100;
  int64_t max_steps = 0;         // > 0: at most this many training steps per epoch (quick runs)
  int64_t max_eval_batches = 0;  // > 0: evaluate on at most this many batches per split
  std::string data_dir;          // default: $SEQNET_DATA or ../shared/data
  std::string out_dir = "runs/default";

  // The official defaults of `task` (the task table's TrainingDefaults), before any flag.
  static TrainConfig defaults(const std::string& task, const std::string& model);
  // Throws Error naming the first field that is out of range.
  void validate() const;
};

nlohmann::json to_json(const TrainConfig& c);
TrainConfig train_config_from_json(const nlohmann::json& j);

}  // namespace seqnet
