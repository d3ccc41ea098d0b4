#include "train/loop/config.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/json_fields.h"
#include "core/numbers.h"

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

namespace {
constexpr int64_t kMaxCount = int64_t(1) << 62;
constexpr int64_t kMaxLength = int64_t(1) << 24;
}  // namespace

const std::vector<ConfigIntField>& config_int_fields() {
  // Generous bounds; they stop a typo or a damaged file before it sizes anything.
  static const std::vector<ConfigIntField> fields = {
      {"epochs", "--epochs", &TrainConfig::epochs, 1, kMaxCount},
      {"batch_size", "--batch_size", &TrainConfig::batch_size, 1, int64_t(1) << 20},
      {"seq_len", "--seq_len", &TrainConfig::seq_len, 0, kMaxLength},
      {"validseqlen", "--validseqlen", &TrainConfig::validseqlen, 0, kMaxLength},
      {"blank_len", "--blank_len", &TrainConfig::blank_len, 0, kMaxLength},
      {"n_train", "--n_train", &TrainConfig::n_train, 0, int64_t(1) << 30},
      {"n_valid", "--n_valid", &TrainConfig::n_valid, 0, int64_t(1) << 30},
      {"n_test", "--n_test", &TrainConfig::n_test, 0, int64_t(1) << 30},
      {"hop", "--hop", &TrainConfig::hop, 1, int64_t(1) << 30},
      {"log_interval", "--log-interval", &TrainConfig::log_interval, 1, kMaxCount},
      {"max_steps", "--max-steps", &TrainConfig::max_steps, 0, kMaxCount},
      {"max_eval_batches", "--max-eval-batches", &TrainConfig::max_eval_batches, 0, kMaxCount},
  };
  return fields;
}

const ConfigIntField& config_int_field(const std::string& key) {
  for (const ConfigIntField& f : config_int_fields())
    if (key == f.key) return f;
  fail(fmt::format("config_int_field: no setting '{}'", key));
}

void TrainConfig::validate() const {
  const TaskKind kind = task_spec(task, model).kind;  // checks the task and model names
  check(optim == "adam" || optim == "sgd", "--optim must be adam or sgd, got '{}'", text_excerpt(optim));
  check(std::isfinite(lr) && lr > 0, "--lr must be a positive number, got {}", lr);
  check(std::isfinite(clip), "--clip must be a number (≤ 0 disables clipping), got {}", clip);
  check(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1), got {}", momentum);
  for (const ConfigIntField& f : config_int_fields()) {
    const int64_t v = this->*f.member;
    check(v >= f.lo && v <= f.hi, "{} must be a whole number {}, got {}", f.flag, int_range_str(f.lo, f.hi), v);
  }
  if (kind == TaskKind::Characters || kind == TaskKind::Words) {
    check(seq_len >= 2, "--seq_len must be >= 2, got {}", seq_len);
    check(validseqlen >= 1 && validseqlen <= seq_len, "--validseqlen must be in [1, seq_len = {}], got {}", seq_len,
          validseqlen);
  }
  if (kind == TaskKind::CopyMemory) check(blank_len >= 1, "--blank_len must be >= 1, got {}", blank_len);
  if (kind == TaskKind::Adding) check(seq_len >= 2, "--seq_len must be >= 2 for the adding problem, got {}", seq_len);
  if (kind == TaskKind::CopyMemory || kind == TaskKind::Adding)
    check(n_train >= 1 && n_valid >= 1 && n_test >= 1, "--n_train / --n_valid / --n_test must be >= 1");
  const auto& o = model_opts;
  for (const ModelIntOption& mo : model_int_options())
    if (const std::optional<int64_t>& v = o.*mo.member)
      check(*v >= mo.lo && *v <= mo.hi, "--{} must be a whole number {}, got {}", mo.key, int_range_str(mo.lo, mo.hi),
            *v);
  if (o.dropout) check(*o.dropout >= 0 && *o.dropout < 1, "--dropout must be in [0, 1), got {}", *o.dropout);
  if (o.emb_dropout)
    check(*o.emb_dropout >= 0 && *o.emb_dropout < 1, "--emb_dropout must be in [0, 1), got {}", *o.emb_dropout);
}

namespace {
template <typename T>
void put(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
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

TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& doc) {
  // Every field is type- and range-checked here, naming `doc` and the field: this JSON comes from
  // a file, and its numbers size models and data sets (core/json_fields.h).
  const JsonFields r(j, doc);
  const double below_one = std::nextafter(1.0, 0.0), max_double = std::numeric_limits<double>::max();
  const std::string task = r.one_of("task", task_names());
  const std::string model = r.one_of("model", task_model_names(task));
  TrainConfig c = TrainConfig::defaults(task, model);
  if (r.has("model_options")) {
    const JsonFields m = r.object("model_options");
    auto& o = c.model_opts;
    for (const ModelIntOption& mo : model_int_options())
      if (m.has(mo.key)) o.*mo.member = m.integer(mo.key, mo.lo, mo.hi);
    // dropout < 1: p = 1 would scale the kept activations by 1 / (1 - p)
    if (m.has("dropout")) o.dropout = m.number("dropout", 0.0, below_one, "a number in [0, 1)");
    if (m.has("emb_dropout")) o.emb_dropout = m.number("emb_dropout", 0.0, below_one, "a number in [0, 1)");
    if (m.has("tied")) o.tied = m.boolean("tied");
  }
  if (r.has("optim")) c.optim = r.one_of("optim", {"adam", "sgd"});
  if (r.has("lr")) c.lr = r.number("lr", std::numeric_limits<double>::min(), max_double, "a positive finite number");
  if (r.has("clip")) c.clip = r.number("clip");
  if (r.has("momentum")) c.momentum = r.number("momentum", 0.0, below_one, "a number in [0, 1)");
  if (r.has("seed")) c.seed = r.uinteger("seed");
  for (const ConfigIntField& f : config_int_fields())
    if (r.has(f.key)) c.*f.member = r.integer(f.key, f.lo, f.hi);
  if (r.has("data_dir")) c.data_dir = r.string("data_dir");
  if (r.has("out_dir")) c.out_dir = r.string("out_dir");
  // What involves several fields (validseqlen <= seq_len, ...): validate() names the flag; say
  // which file it came from.
  try {
    c.validate();
  } catch (const Error& e) {
    fail(fmt::format("{}: inconsistent configuration: {}", doc, e.what()));
  }
  return c;
}

}  // namespace seqnet
