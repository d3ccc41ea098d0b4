// train/tasks/task_model.h — the model of a task: the task table's model defaults
// (train/tasks/task_table.h) with the user's options on top, built as the head of that task.
//
//   build_task_model("char", "sequnet", {})  →  LanguageModel(vocab 49, emsize 100,
//                                               Seq-U-Net [390, 390, 390, 100], K 3, target 320)
// Options override the defaults the way the official scripts' flags do (--nhid, --levels, ...).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/module.h"
#include "train/tasks/task_table.h"

namespace seqnet {

struct TaskModel {
  std::unique_ptr<Module> model;
  std::string task, model_name;
  std::vector<std::string> settings;  // human-readable list of the settings used
};

TaskModel build_task_model(const std::string& task, const std::string& model, const TaskModelOptions& opt,
                           Generator& gen = default_generator());

}  // namespace seqnet
