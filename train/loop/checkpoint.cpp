#include "train/loop/checkpoint.h"

#include <cmath>

#include "core/json.h"
#include "core/error.h"

namespace seqnet {

void save_checkpoint(const std::string& path, const TrainConfig& cfg, const nlohmann::json& task_info,
                     const Module& model, const Optimizer* optim, const TrainState& st) {
  std::vector<std::pair<std::string, Tensor>> tensors = model.params().state_dict();
  nlohmann::json state = {{"epoch", st.epoch},
                          {"global_step", st.global_step},
                          {"lr", st.lr},
                          {"rng_seed", st.rng.seed},
                          {"rng_offset", st.rng.offset},
                          {"best_epoch", st.best_epoch},
                          {"valid_history", st.valid_history},
                          {"history", st.history}};
  if (std::isfinite(st.best_valid)) state["best_valid"] = st.best_valid;
  if (optim) {
    state["optim"] = optim->kind();
    state["optim_steps"] = optim->step_count();
    const auto names = model.params().unique_names();
    for (const std::string& slot : const_cast<Optimizer*>(optim)->state_slots())
      for (size_t i = 0; i < names.size(); ++i)
        tensors.emplace_back("optimizer." + slot + "." + names[i], const_cast<Optimizer*>(optim)->state(slot, i));
  }
  save_safetensors(path, tensors,
                   {{"format", kCheckpointFormat},
                    {"config", to_json(cfg).dump()},
                    {"task", task_info.dump()},
                    {"state", state.dump()}});
}

Checkpoint load_checkpoint(const std::string& path) {
  Checkpoint ck;
  ck.file = load_safetensors(path);
  const auto& md = ck.file.metadata;
  auto field = [&](const char* key) -> const std::string& {
    auto it = md.find(key);
    check(it != md.end(), "{}: not a seqnet checkpoint (no '{}' in the metadata; a plain state_dict file?)", path, key);
    return it->second;
  };
  check(field("format") == kCheckpointFormat, "{}: unsupported checkpoint format '{}' (this seqnet reads {})", path,
        text_excerpt(field("format")), kCheckpointFormat);
  const std::string what = path + ": damaged checkpoint metadata 'state'";
  try {
    // The metadata strings are untrusted text like the rest of the file (core/json.h): every field
    // is type-checked (json_field), and what a run would go on with is range-checked below.
    ck.config = train_config_from_json(
        parse_json<nlohmann::json>(field("config"), path + ": damaged checkpoint metadata 'config'"));
    ck.task_info = parse_json<nlohmann::json>(field("task"), path + ": damaged checkpoint metadata 'task'");
    const auto s = parse_json<nlohmann::json>(field("state"), what);
    check(s.is_object(), "{}: expected a JSON object", what);
    ck.state.epoch = json_field<int64_t>(s, "epoch", what);
    ck.state.global_step = json_field<int64_t>(s, "global_step", what);
    ck.state.lr = json_field<double>(s, "lr", what);
    ck.state.rng = {json_field<uint64_t>(s, "rng_seed", what), json_field<uint64_t>(s, "rng_offset", what)};
    ck.state.best_epoch = json_field<int64_t>(s, "best_epoch", what);
    ck.state.valid_history = s.at("valid_history").get<std::vector<double>>();
    ck.state.history = s.at("history");
    if (s.contains("best_valid")) {  // written only when finite; absent = no validation yet (infinity)
      ck.state.best_valid = json_field<double>(s, "best_valid", what);
      check(std::isfinite(ck.state.best_valid), "{}: best_valid {} is not finite", what, ck.state.best_valid);
    }
    if (s.contains("optim")) ck.optim_kind = json_field<std::string>(s, "optim", what);
  } catch (const nlohmann::json::exception& e) {
    fail(fmt::format("{}: damaged checkpoint metadata: {}", path, text_excerpt(e.what(), 200)));
  }
  // A resumed run continues from these values, `seqnet generate` builds the model of this config.
  const TrainState& st = ck.state;
  check(st.epoch >= 0 && st.global_step >= 0 && st.best_epoch >= 0 && st.best_epoch <= st.epoch,
        "{}: epoch {}, global_step {}, best_epoch {} (must be >= 0, best_epoch <= epoch)", what, st.epoch,
        st.global_step, st.best_epoch);
  check(std::isfinite(st.lr) && st.lr > 0, "{}: learning rate {} (must be a positive number)", what, st.lr);
  for (size_t i = 0; i < st.valid_history.size(); ++i)
    check(std::isfinite(st.valid_history[i]), "{}: valid_history[{}] is {}", what, i, st.valid_history[i]);
  try {
    ck.config.validate();
  } catch (const Error& e) {
    fail(fmt::format("{}: damaged checkpoint metadata 'config': {}", path, e.what()));
  }
  return ck;
}

void restore_model(const Checkpoint& ck, Module& model) {
  SafetensorsFile weights;
  weights.path = ck.file.path;
  for (const auto& [name, t] : ck.file.tensors)
    if (name.rfind("optimizer.", 0) != 0) weights.tensors.emplace_back(name, t);
  model.params().load(weights);
}

void restore_optimizer(const Checkpoint& ck, Optimizer& optim, const Module& model) {
  check(ck.optim_kind == optim.kind(), "{}: the checkpoint's optimiser is '{}', the run uses '{}'", ck.file.path,
        ck.optim_kind.empty() ? "none" : ck.optim_kind, optim.kind());
  const auto names = model.params().unique_names();
  for (const std::string& slot : optim.state_slots())
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string key = "optimizer." + slot + "." + names[i];
      check(ck.file.contains(key), "{}: the optimiser state '{}' is missing", ck.file.path, key);
      Tensor& dst = optim.state(slot, i);
      const Tensor& src = ck.file.get(key);
      check(src.shape() == dst.shape(), "{}: '{}' has shape {}, the parameter {}", ck.file.path, key,
            shape_str(src.shape()), shape_str(dst.shape()));
      dst.copy_(src);
    }
  const auto s =
      parse_json<nlohmann::json>(ck.file.metadata.at("state"), ck.file.path + ": damaged checkpoint metadata 'state'");
  if (s.contains("optim_steps")) optim.set_step_count(s["optim_steps"].get<int64_t>());
}

}  // namespace seqnet
