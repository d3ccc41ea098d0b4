// train/tasks/task_table.h — the tasks of the paper, each declared once (MODELS.md §10).
//
// A task is a row of task_table(): its name (--task), its kind (which data pipeline and loss), the
// models it offers with each model's default settings, the training defaults of the official
// script, the learning-rate rule and where its data lives. Everything else asks the table:
// `seqnet info`, the configuration (train/loop/config.cpp), the model builder
// (train/tasks/task_model.cpp), make_task (train/tasks/task.cpp), the trainer's halving rule and
// generation. No other code compares task names.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace seqnet {

// Which data pipeline and loss a task uses (one Task implementation per kind family).
enum class TaskKind { CopyMemory, Adding, Music, Characters, Words, Audio };

// Model settings a flag can override (--nhid, --levels, ...). In the table every setting the
// task's models read is filled in; from the command line only what the user gave is set.
struct TaskModelOptions {
  std::optional<int64_t> nhid, levels, ksize, emsize, vocab, validseqlen, depth, output_size;
  std::optional<double> dropout, emb_dropout;
  std::optional<bool> tied;
};
// Every field set in `user` replaces the one in `defaults`.
TaskModelOptions overlay(const TaskModelOptions& defaults, const TaskModelOptions& user);

// The range of each integer model setting wherever it comes from (a flag, a checkpoint's
// configuration): a mistyped or hostile value is refused with the setting named before it sizes
// anything (a level count of -3 would otherwise become a vector of 2^64 - 3 channels).
struct ModelIntOption {
  const char* key;  // the JSON key in a checkpoint's model_options; the flag is "--" + key
  std::optional<int64_t> TaskModelOptions::*member;
  int64_t lo, hi;
};
const std::vector<ModelIntOption>& model_int_options();
// The entry of `key` (nhid, levels, ksize, emsize, vocab, validseqlen, depth, output_size).
const ModelIntOption& model_int_option(const std::string& key);

// The learning-rate halving rule of a task, checked after epoch e with the validation loss v,
// before v is appended to the history of validation losses:
//   halve when e > min_epoch and v > max(last `window`)   (strict)   or ≥ (not strict).
struct HalvingRule {
  bool enabled = false;
  int64_t min_epoch = 10, window = 5;
  bool strict = true;
  bool should_halve(int64_t epoch, double v, const std::vector<double>& history) const;
  std::string describe() const;
};

// The official script's training settings (copied into a TrainConfig by TrainConfig::defaults).
struct TrainingDefaults {
  double lr = 1e-3;
  double clip = -1;  // ≤ 0: no clipping
  int64_t epochs = 100, batch_size = 1, log_interval = 100;
  int64_t seq_len = 0, validseqlen = 0;          // text windows; adding: the sequence length
  int64_t blank_len = 1000;                      // copy memory: T
  int64_t n_train = 0, n_valid = 0, n_test = 0;  // synthetic set sizes
  int64_t hop = 40000;                           // raw audio: hop between training items
};

struct TaskSpec {
  std::string name;     // --task
  TaskKind kind;
  std::string summary;  // one line for `seqnet info`
  std::vector<std::string> models;                        // offered, in this order
  std::map<std::string, TaskModelOptions> model_defaults;  // per offered model
  TrainingDefaults training;
  HalvingRule lr_rule;
  std::string data;  // under the data folder: a file or folder; empty for generated data
};

const std::vector<TaskSpec>& task_table();
// The row of `name`; an Error listing the known tasks otherwise.
const TaskSpec& task_spec(const std::string& name);
// The row of `name` after checking that it offers `model` (an Error listing its models otherwise).
const TaskSpec& task_spec(const std::string& name, const std::string& model);

// Shorthands over the table.
std::vector<std::string> task_names();                               // copy, adding, jsb, ...
std::vector<std::string> task_model_names(const std::string& task);  // {} for an unknown task
HalvingRule halving_rule(const std::string& task);
std::string music_file_name(const std::string& task);  // "jsb" → music/JSB_Chorales.mat

}  // namespace seqnet
