#include "models/module.h"

#include <cmath>
#include <set>

#include "core/error.h"
#include "core/json.h"
#include "ops/time.h"

namespace seqnet {

Variable ParameterSet::add(const std::string& name, Tensor init) {
  check(!contains(name), "ParameterSet: parameter '{}' registered twice", name);
  Variable v(std::move(init), true);
  index_[name] = entries_.size();
  entries_.push_back({name, v, false});
  return v;
}

void ParameterSet::alias(const std::string& name, const std::string& of) {
  check(!contains(name), "ParameterSet: alias '{}' registered twice", name);
  const Variable& v = get(of);
  index_[name] = entries_.size();
  entries_.push_back({name, v, true});
}

const Variable& ParameterSet::get(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    std::string some;
    for (size_t i = 0; i < entries_.size() && i < 6; ++i) some += (i ? ", " : "") + entries_[i].name;
    throw Error(fmt::format("no parameter named '{}' (the model has {} keys: {}{})", name, entries_.size(), some,
                            entries_.size() > 6 ? ", ..." : ""));
  }
  return entries_[it->second].var;
}

std::vector<Variable> ParameterSet::unique() const {
  std::vector<Variable> out;
  for (const Entry& e : entries_)
    if (!e.is_alias) out.push_back(e.var);
  return out;
}

std::vector<std::string> ParameterSet::unique_names() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_)
    if (!e.is_alias) out.push_back(e.name);
  return out;
}

int64_t ParameterSet::count() const {
  int64_t n = 0;
  for (const Entry& e : entries_)
    if (!e.is_alias) n += e.var.numel();
  return n;
}

std::vector<std::pair<std::string, Tensor>> ParameterSet::state_dict() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const Entry& e : entries_) out.emplace_back(e.name, e.var.data());
  return out;
}

void ParameterSet::save(const std::string& path, const std::map<std::string, std::string>& metadata) const {
  save_safetensors(path, state_dict(), metadata);
}

void ParameterSet::load(const SafetensorsFile& file, const std::string& prefix) {
  std::vector<std::string> missing, unexpected, mismatched;
  for (const Entry& e : entries_) {
    const std::string key = prefix + e.name;
    if (!file.contains(key)) {
      missing.push_back(key);
      continue;
    }
    const Tensor& t = file.get(key);
    if (t.shape() != e.var.shape())
      mismatched.push_back(fmt::format("{} (file {}, model {})", key, shape_str(t.shape()), shape_str(e.var.shape())));
  }
  for (const auto& [key, t] : file.tensors)
    if (key.rfind(prefix, 0) == 0 && !contains(key.substr(prefix.size()))) unexpected.push_back(key);
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    // The first few of each list, each name cut: a file (or a model) with hundreds of keys, or keys
    // of any length, must not turn the message into a dump.
    constexpr size_t kShown = 8;
    auto list = [](const std::vector<std::string>& v, const char* sep) {
      std::vector<std::string> shown;
      for (size_t i = 0; i < v.size() && i < kShown; ++i) shown.push_back(text_excerpt(v[i], 120));
      std::string s = fmt::format("{}", fmt::join(shown, sep));
      if (v.size() > kShown) s += fmt::format("{}… ({} more)", sep, v.size() - kShown);
      return s;
    };
    std::string msg = fmt::format("loading parameters from {} failed:", file.path);
    if (!missing.empty()) msg += fmt::format("\n  missing keys ({}): {}", missing.size(), list(missing, ", "));
    if (!unexpected.empty())
      msg += fmt::format("\n  unexpected keys ({}): {}", unexpected.size(), list(unexpected, ", "));
    if (!mismatched.empty())
      msg += fmt::format("\n  shape mismatches ({}): {}", mismatched.size(), list(mismatched, "; "));
    throw Error(msg);
  }
  for (const Entry& e : entries_) {
    const Tensor& t = file.get(prefix + e.name);
    if (e.is_alias) {
      Tensor mine = e.var.data().to(Device::cpu()).to(DType::F64).contiguous();
      Tensor theirs = t.to(DType::F64).contiguous();
      const double* a = mine.data<double>();
      const double* b = theirs.data<double>();
      for (int64_t i = 0; i < mine.numel(); ++i)
        check(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])),
              "loading parameters from {}: alias '{}' differs from the parameter it names (element {})", file.path,
              prefix + e.name, i);
      continue;
    }
    if (const int64_t bad = first_non_finite(t); bad >= 0)
      fail(fmt::format("loading parameters from {}: '{}' {} holds a non-finite value (NaN or inf) at element {}; "
                       "refusing to use it",
                       file.path, prefix + e.name, t.describe(), bad));
    Variable v = e.var;
    v.data().copy_(t);
  }
}

void ParameterSet::append(const ParameterSet& other) {
  for (const Entry& e : other.entries_) {
    check(!contains(e.name), "ParameterSet: parameter '{}' registered twice", e.name);
    index_[e.name] = entries_.size();
    entries_.push_back(e);
  }
}

void ParameterSet::store_as(DType dtype) {
  for (Entry& e : entries_)
    if (!e.is_alias && e.var.dtype() != dtype) {
      Variable v = e.var;
      v.data() = v.data().to(dtype);
      v.set_grad(Tensor());
    }
}

void ParameterSet::store_on(Device device) {
  for (Entry& e : entries_)
    if (!e.is_alias && e.var.data().device() != device) {
      Variable v = e.var;
      v.data() = v.data().to(device);
      v.set_grad(Tensor());
    }
}

void ParameterSet::zero_grad() {
  for (Entry& e : entries_)
    if (!e.is_alias) e.var.zero_grad();
}

Tensor default_uniform_init(const Shape& shape, int64_t fan_in, Generator& gen, DType dtype) {
  check(fan_in > 0, "default_uniform_init: fan_in must be positive, got {}", fan_in);
  const double bound = 1.0 / std::sqrt(double(fan_in));
  return Tensor::uniform(shape, -bound, bound, dtype, gen);
}

Variable Module::forward_newest(const Variable& x, int64_t newest) {
  Variable y = forward(x);
  const int64_t T_out = y.size(-1);
  if (!(newest >= 1 && newest <= T_out))
    fail(fmt::format("{}: asked for the newest {} output steps of {}, which gives {}", describe(), newest,
                     x.data().describe(), T_out));
  return newest == T_out ? y : crop(y, newest);
}

}  // namespace seqnet
