// models/registry.h — build a model from the JSON config stored with reference files.
//
// The PyTorch reference files (../shared/refs) carry `__metadata__["config"]`: the official class
// or task wrapper and its constructor arguments, e.g.
//   {"class": "tcn.TemporalConvNet", "num_inputs": 5, "num_channels": [8, 8, 6], "kernel_size": 3, ...}
//   {"wrapper": "char_cnn/model.TCN", "model": "sequnet", "emsize": 6, ...}
// build_from_config() maps each to the seqnet model with the same parameter names.
#pragma once
#include <memory>
#include <string>

#include "models/module.h"

namespace seqnet {

enum class ModelKind {
  Backbone,      // (N, C, T) float input → (N, C', T') output
  CharLanguage,  // tokens → logits, objective: mean CE over the output positions
  PolyMusic,     // piano roll (N, T, K) → logits, objective: summed BCE with logits
  Generation,    // step-mode reference files (fast generation; not in this module)
};

struct BuiltModel {
  std::unique_ptr<Module> model;
  ModelKind kind = ModelKind::Backbone;
  std::string name;  // the official class / wrapper named in the config
};

// Throws seqnet::Error naming the unknown class / the missing or malformed field.
// `doc` names where the config came from ("<file>: __metadata__ 'config'"; default "model config").
BuiltModel build_from_config(const std::string& config_json, Generator& gen = default_generator());
BuiltModel build_from_config(const std::string& config_json, const std::string& doc, Generator& gen);

}  // namespace seqnet
