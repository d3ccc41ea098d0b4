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
#include <vector>

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

// The integer settings of a run with their JSON key, flag and range: validate() checks them naming
// the flag, reading a checkpoint naming the file and field, the command line when it parses.
struct ConfigIntField {
  const char* key;   // JSON key
  const char* flag;  // command-line flag
  int64_t TrainConfig::*member;
  int64_t lo, hi;
};
const std::vector<ConfigIntField>& config_int_fields();
const ConfigIntField& config_int_field(const std::string& key);  // by JSON key

nlohmann::json to_json(const TrainConfig& c);
// `doc` names where the JSON came from ("<file>: checkpoint metadata 'config'"); every error names
// it and the field (a wrong type, a value out of range, an unknown task or model).
TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& doc = "training configuration");

}  // namespace seqnet
