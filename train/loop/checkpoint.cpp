#include "train/loop/checkpoint.h"

#include <cmath>

#include "core/json.h"
#include "core/error.h"
#include "core/json_fields.h"

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
  // The metadata strings are untrusted text like the rest of the file (core/json.h); every field
  // is type- and range-checked with the file and field named (core/json_fields.h).
  auto doc = [&](const char* key) { return fmt::format("{}: checkpoint metadata '{}'", path, key); };
  auto parse = [&](const char* key) {
    return parse_json<nlohmann::json>(field(key), fmt::format("{}: damaged checkpoint metadata '{}'", path, key));
  };
  ck.config = train_config_from_json(parse("config"), doc("config"));
  ck.task_info = parse("task");
  const JsonFields t(ck.task_info, doc("task"));
  // a text task's vocabulary: read as strings by generation, its size sizes the model
  if (t.has("vocab")) (void)t.strings("vocab", size_t(model_int_option("vocab").hi));
  const auto state_json = parse("state");
  const JsonFields s(state_json, doc("state"));
  constexpr int64_t kMaxCount = int64_t(1) << 62;
  ck.state.epoch = s.integer("epoch", 0, kMaxCount);
  ck.state.global_step = s.integer("global_step", 0, kMaxCount);
  ck.state.lr = s.number("lr", 0.0);
  ck.state.rng = {s.uinteger("rng_seed"), s.uinteger("rng_offset")};
  ck.state.best_epoch = s.integer("best_epoch", 0, kMaxCount);
  // one entry per epoch: bounded by the epochs a run can have taken
  ck.state.valid_history = s.numbers("valid_history", size_t(1) << 24);
  ck.state.history = s.value("history");
  if (!ck.state.history.is_array()) s.bad("history", "an array of per-epoch records", ck.state.history);
  if (s.has("best_valid")) ck.state.best_valid = s.number("best_valid");
  if (s.has("optim")) ck.optim_kind = s.one_of("optim", {"adam", "sgd"});
  // What a resumed run continues from must be a state a run can be in.
  const TrainState& st = ck.state;
  if (st.best_epoch > st.epoch) s.fail_field("best_epoch", fmt::format("is {}, after the last epoch {}", st.best_epoch, st.epoch));
  if (!(st.lr > 0)) s.bad("lr", "a positive finite number", state_json.at("lr"));
  // (valid_history and best_valid are finite: JsonFields::number(s) refuse anything else)
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
  const std::string doc = ck.file.path + ": checkpoint metadata 'state'";
  const auto state_json = parse_json<nlohmann::json>(ck.file.metadata.at("state"), doc);
  const JsonFields s(state_json, doc);
  if (s.has("optim_steps")) optim.set_step_count(s.integer("optim_steps", 0, int64_t(1) << 62));
}

}  // namespace seqnet
