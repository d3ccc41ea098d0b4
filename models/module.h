// models/module.h — what every model has: named parameters in PyTorch order, a training flag.
//
// ParameterSet is an ordered list of (name, Variable) using the exact keys of the official
// PyTorch state_dict, in its order, aliases included (the TCN registers each weight-normed conv
// twice: `conv1.*` and `net.0.*` are the same tensors). Loading a state dict reports every
// missing key, unexpected key and shape mismatch by name; saving writes a file that PyTorch's
// load_state_dict accepts unchanged.
//
// Module is the one small base class of the models: forward(x) plus the parameters and the
// train/eval switch. There are no nested module objects to walk: each model registers its
// parameters by their full dotted names when it is built.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "core/safetensors.h"

namespace seqnet {

class ParameterSet {
 public:
  struct Entry {
    std::string name;
    Variable var;
    bool is_alias = false;  // a second name for a Variable registered earlier
  };

  // Registers a new leaf parameter (requires_grad = true) and returns it.
  Variable add(const std::string& name, Tensor init);
  // Registers `name` as another key for the already registered parameter `of`.
  void alias(const std::string& name, const std::string& of);

  const std::vector<Entry>& entries() const { return entries_; }
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  const Variable& get(const std::string& name) const;  // Error listing similar names if absent
  std::vector<Variable> unique() const;                 // each parameter once, in order
  std::vector<std::string> unique_names() const;        // the primary name of each
  int64_t count() const;                                // number of scalars, aliases once

  // All keys (aliases included) with their current tensors, in state_dict order.
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  // Writes state_dict() as safetensors (atomically), e.g. with metadata {"config": ...}. The
  // file has the official keys in the official order, so PyTorch's load_state_dict takes it.
  void save(const std::string& path, const std::map<std::string, std::string>& metadata = {}) const;

  // Copies every parameter from `file` (keys prefixed with `prefix`). Strict: throws one Error
  // listing all missing keys, unexpected keys (file keys with the prefix that are not
  // parameters) and shape mismatches, naming the file. Alias keys must hold the same values
  // as their primary. Values are converted to each parameter's dtype.
  void load(const SafetensorsFile& file, const std::string& prefix = "");

  // Appends all entries of `other` (same Variables, same names) — how a task head takes in the
  // parameters of its backbone, which was built with the head's prefix (e.g. "conv.").
  void append(const ParameterSet& other);

  // Converts every parameter to `dtype` / moves it to `device`, in place (the Variables stay the
  // same, so aliases and optimisers keep pointing at them); gradients are dropped.
  void store_as(DType dtype);
  void store_on(Device device);
  void zero_grad();

 private:
  std::vector<Entry> entries_;
  std::map<std::string, size_t> index_;
};

class Module {
 public:
  virtual ~Module() = default;
  // (N, C_in, T) → (N, C_out, T_out) for the backbones; task heads document their own layout.
  virtual Variable forward(const Variable& x) = 0;
  // The newest `newest` output steps of forward(x), for the heads that read only those (the text
  // losses, copy memory, adding): (N, C_out, newest), 1 ≤ newest ≤ T_out. Here forward(x)
  // cropped; the TCN overrides it to compute only the steps the output needs (models/tcn.h).
  virtual Variable forward_newest(const Variable& x, int64_t newest);
  virtual std::string describe() const = 0;

  ParameterSet& params() { return params_; }
  const ParameterSet& params() const { return params_; }
  void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  // The generator dropout masks are drawn from (the default one unless set).
  void set_generator(Generator* gen) { gen_ = gen; }
  Generator& generator() const { return gen_ ? *gen_ : default_generator(); }

 protected:
  ParameterSet params_;
  bool training_ = true;
  Generator* gen_ = nullptr;
};

// PyTorch's default initialisation of Conv1d / Linear weights and biases:
// U(−1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5) reduces to this).
Tensor default_uniform_init(const Shape& shape, int64_t fan_in, Generator& gen, DType dtype = DType::F32);

}  // namespace seqnet
