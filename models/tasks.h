// models/tasks.h — the model of each task of the paper, with the official defaults (MODELS.md §10).
//
//   build_task_model("char", "sequnet", {})  →  LanguageModel(vocab 50, emsize 100,
//                                               Seq-U-Net [390, 390, 390, 100], K 3, target 320)
// Options override the defaults the way the official scripts' flags do (--nhid, --levels, ...).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/module.h"

namespace seqnet {

struct TaskModelOptions {
  std::optional<int64_t> nhid, levels, ksize, emsize, vocab, validseqlen, depth, output_size;
  std::optional<double> dropout, emb_dropout;
  std::optional<bool> tied;
};

struct TaskModel {
  std::unique_ptr<Module> model;
  std::string task, model_name;
  std::vector<std::string> settings;  // human-readable list of the settings used
};

const std::vector<std::string>& task_names();                       // copy, jsb, nottingham, ...
std::vector<std::string> task_model_names(const std::string& task);  // the models a task offers
TaskModel build_task_model(const std::string& task, const std::string& model, const TaskModelOptions& opt,
                           Generator& gen = default_generator());

}  // namespace seqnet
