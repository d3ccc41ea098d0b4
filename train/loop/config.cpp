#include "train/loop/config.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "core/error.h"
#include "core/json.h"

namespace seqnet {

TrainConfig TrainConfig::defaults(const std::string& task, const std::string& model) {
  const TaskSpec& spec = task_spec(task, model);
  const TrainingDefaults& d = spec.training;
  TrainConfig c;
  c.task = task;
  c.model = model;
  c.out_dir = "runs/" + task + "_" + model;
  c.lr = d.lr, c.clip = d.clip, c.epochs = d.epochs, c.batch_size = d.batch_size, c.log_interval = d.log_interval;
  c.seq_len = d.seq_len, c.validseqlen = d.validseqlen, c.blank_len = d.blank_len;
  c.n_train = d.n_train, c.n_valid = d.n_valid, c.n_test = d.n_test, c.hop = d.hop;
  return c;
}

void TrainConfig::validate() const {
  const TaskKind kind = task_spec(task, model).kind;  // checks the task and model names
  check(optim == "adam" || optim == "sgd", "--optim must be adam or sgd, got '{}'", text_excerpt(optim));
  check(std::isfinite(lr) && lr > 0, "--lr must be a positive number, got {}", lr);
  check(std::isfinite(clip), "--clip must be a number (≤ 0 disables clipping), got {}", clip);
  check(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1), got {}", momentum);
  check(epochs >= 1, "--epochs must be >= 1, got {}", epochs);
  check(batch_size >= 1, "--batch_size must be >= 1, got {}", batch_size);
  check(log_interval >= 1, "--log-interval must be >= 1, got {}", log_interval);
  check(max_steps >= 0 && max_eval_batches >= 0, "--max-steps / --max-eval-batches must be >= 0");
  if (kind == TaskKind::Characters || kind == TaskKind::Words) {
    check(seq_len >= 2, "--seq_len must be >= 2, got {}", seq_len);
    check(validseqlen >= 1 && validseqlen <= seq_len, "--validseqlen must be in [1, seq_len = {}], got {}", seq_len,
          validseqlen);
  }
  if (kind == TaskKind::CopyMemory) check(blank_len >= 1, "--blank_len must be >= 1, got {}", blank_len);
  if (kind == TaskKind::Adding) check(seq_len >= 2, "--seq_len must be >= 2 for the adding problem, got {}", seq_len);
  if (kind == TaskKind::CopyMemory || kind == TaskKind::Adding)
    check(n_train >= 1 && n_valid >= 1 && n_test >= 1, "--n_train / --n_valid / --n_test must be >= 1");
  if (kind == TaskKind::Audio) check(hop >= 1, "--hop must be >= 1, got {}", hop);
  const auto& o = model_opts;
  // The command line checks these as it parses them; a configuration read from a checkpoint has not
  // been through it (levels = -1 made the model builder allocate a vector of 2^64 channels).
  const std::pair<const char*, const std::optional<int64_t>&> sizes[] = {
      {"nhid", o.nhid},     {"levels", o.levels}, {"ksize", o.ksize}, {"emsize", o.emsize},
      {"vocab", o.vocab},   {"validseqlen", o.validseqlen}, {"depth", o.depth}, {"output_size", o.output_size}};
  for (const auto& [name, v] : sizes) check(!v || *v >= 1, "--{} must be >= 1, got {}", name, v.value_or(0));
  if (o.dropout) check(*o.dropout >= 0 && *o.dropout < 1, "--dropout must be in [0, 1), got {}", *o.dropout);
  if (o.emb_dropout)
    check(*o.emb_dropout >= 0 && *o.emb_dropout < 1, "--emb_dropout must be in [0, 1), got {}", *o.emb_dropout);
}

namespace {
template <typename T>
void put(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
// Type-checked (core/json.h): a configuration read from a checkpoint is untrusted input.
constexpr const char* kWhat = "training configuration";
template <typename T>
void get(const nlohmann::json& j, const char* key, std::optional<T>& v) {
  if (j.contains(key) && !j[key].is_null()) v = json_field<T>(j, key, kWhat);
}
template <typename T>
void get(const nlohmann::json& j, const char* key, T& v) {
  if (j.contains(key) && !j[key].is_null()) v = json_field<T>(j, key, kWhat);
}
}  // namespace

nlohmann::json to_json(const TrainConfig& c) {
  nlohmann::json m = nlohmann::json::object();
  const auto& o = c.model_opts;
  put(m, "nhid", o.nhid), put(m, "levels", o.levels), put(m, "ksize", o.ksize), put(m, "emsize", o.emsize);
  put(m, "vocab", o.vocab), put(m, "validseqlen", o.validseqlen), put(m, "depth", o.depth);
  put(m, "output_size", o.output_size), put(m, "dropout", o.dropout), put(m, "emb_dropout", o.emb_dropout);
  put(m, "tied", o.tied);
  return {{"task", c.task},           {"model", c.model},       {"model_options", m},
          {"optim", c.optim},         {"lr", c.lr},             {"clip", c.clip},
          {"momentum", c.momentum},   {"epochs", c.epochs},     {"batch_size", c.batch_size},
          {"seed", c.seed},           {"seq_len", c.seq_len},   {"validseqlen", c.validseqlen},
          {"blank_len", c.blank_len}, {"n_train", c.n_train},   {"n_valid", c.n_valid},
          {"n_test", c.n_test},       {"hop", c.hop},           {"log_interval", c.log_interval},
          {"max_steps", c.max_steps}, {"max_eval_batches", c.max_eval_batches},
          {"data_dir", c.data_dir},   {"out_dir", c.out_dir}};
}

TrainConfig train_config_from_json(const nlohmann::json& j) {
  check(j.is_object() && j.contains("task") && j.contains("model"),
        "training configuration: expected a JSON object with 'task' and 'model'");
  TrainConfig c =
      TrainConfig::defaults(json_field<std::string>(j, "task", kWhat), json_field<std::string>(j, "model", kWhat));
  if (j.contains("model_options")) {
    const auto& m = j["model_options"];
    check(m.is_object(), "{}: 'model_options' must be an object, got {}", kWhat, json_excerpt(m));
    auto& o = c.model_opts;
    get(m, "nhid", o.nhid), get(m, "levels", o.levels), get(m, "ksize", o.ksize), get(m, "emsize", o.emsize);
    get(m, "vocab", o.vocab), get(m, "validseqlen", o.validseqlen), get(m, "depth", o.depth);
    get(m, "output_size", o.output_size), get(m, "dropout", o.dropout), get(m, "emb_dropout", o.emb_dropout);
    get(m, "tied", o.tied);
  }
  get(j, "optim", c.optim), get(j, "lr", c.lr), get(j, "clip", c.clip), get(j, "momentum", c.momentum);
  get(j, "epochs", c.epochs), get(j, "batch_size", c.batch_size), get(j, "seed", c.seed);
  get(j, "seq_len", c.seq_len), get(j, "validseqlen", c.validseqlen), get(j, "blank_len", c.blank_len);
  get(j, "n_train", c.n_train), get(j, "n_valid", c.n_valid), get(j, "n_test", c.n_test), get(j, "hop", c.hop);
  get(j, "log_interval", c.log_interval), get(j, "max_steps", c.max_steps);
  get(j, "max_eval_batches", c.max_eval_batches), get(j, "data_dir", c.data_dir), get(j, "out_dir", c.out_dir);
  return c;
}

}  // namespace seqnet
