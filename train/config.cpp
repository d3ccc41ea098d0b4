#include "train/config.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace seqnet {

TrainConfig TrainConfig::defaults(const std::string& task, const std::string& model) {
  const auto models = task_model_names(task);
  check(!models.empty(), "unknown task '{}' (known: {})", task, fmt::join(task_names(), ", "));
  check(std::find(models.begin(), models.end(), model) != models.end(),
        "task '{}' has no model '{}' (it offers: {})", task, model, fmt::join(models, ", "));
  TrainConfig c;
  c.task = task;
  c.model = model;
  c.out_dir = "runs/" + task + "_" + model;
  if (task == "copy") {  // copy_memory/copy_mem_test.py defaults (MODELS.md §10.1)
    c.lr = 1e-3, c.clip = 1.0, c.epochs = 20, c.batch_size = 32, c.blank_len = 1000;
    c.n_train = 10000, c.n_valid = 1000, c.n_test = 1000, c.log_interval = 50;
  } else if (task == "adding") {  // locuslab/TCN adding_problem/add_test.py defaults
    c.lr = 4e-3, c.clip = -1, c.epochs = 10, c.batch_size = 32, c.seq_len = 400;
    c.n_train = 50000, c.n_valid = 1000, c.n_test = 1000, c.log_interval = 100;
  } else if (task == "jsb" || task == "nottingham" || task == "muse" || task == "piano") {
    c.lr = 1e-2, c.clip = -1, c.epochs = 100, c.batch_size = 1, c.log_interval = 100;  // poly_music/train.py
  } else if (task == "char") {
    c.lr = 1e-3, c.clip = 0.4, c.epochs = 100, c.batch_size = 16, c.seq_len = 400, c.validseqlen = 320;
    c.log_interval = 100;
  } else if (task == "word") {
    c.lr = 1e-3, c.clip = 0.4, c.epochs = 100, c.batch_size = 16, c.seq_len = 117, c.validseqlen = 45;
    c.log_interval = 100;
  } else if (task == "audio") {  // raw_audio/train.py
    c.lr = 5e-4, c.clip = -1, c.epochs = 10, c.batch_size = 16, c.hop = 40000, c.log_interval = 10;
  }
  return c;
}

void TrainConfig::validate() const {
  (void)defaults(task, model);  // task / model names
  check(optim == "adam" || optim == "sgd", "--optim must be adam or sgd, got '{}'", optim);
  check(std::isfinite(lr) && lr > 0, "--lr must be a positive number, got {}", lr);
  check(std::isfinite(clip), "--clip must be a number (≤ 0 disables clipping), got {}", clip);
  check(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1), got {}", momentum);
  check(epochs >= 1, "--epochs must be >= 1, got {}", epochs);
  check(batch_size >= 1, "--batch_size must be >= 1, got {}", batch_size);
  check(log_interval >= 1, "--log-interval must be >= 1, got {}", log_interval);
  check(max_steps >= 0 && max_eval_batches >= 0, "--max-steps / --max-eval-batches must be >= 0");
  if (task == "char" || task == "word") {
    check(seq_len >= 2, "--seq_len must be >= 2, got {}", seq_len);
    check(validseqlen >= 1 && validseqlen <= seq_len, "--validseqlen must be in [1, seq_len = {}], got {}", seq_len,
          validseqlen);
  }
  if (task == "copy") check(blank_len >= 1, "--blank_len must be >= 1, got {}", blank_len);
  if (task == "adding") check(seq_len >= 2, "--seq_len must be >= 2 for the adding problem, got {}", seq_len);
  if (task == "copy" || task == "adding")
    check(n_train >= 1 && n_valid >= 1 && n_test >= 1, "--n_train / --n_valid / --n_test must be >= 1");
  if (task == "audio") check(hop >= 1, "--hop must be >= 1, got {}", hop);
  const auto& o = model_opts;
  if (o.dropout) check(*o.dropout >= 0 && *o.dropout < 1, "--dropout must be in [0, 1), got {}", *o.dropout);
  if (o.emb_dropout)
    check(*o.emb_dropout >= 0 && *o.emb_dropout < 1, "--emb_dropout must be in [0, 1), got {}", *o.emb_dropout);
}

namespace {
template <typename T>
void put(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
template <typename T>
void get(const nlohmann::json& j, const char* key, std::optional<T>& v) {
  if (j.contains(key) && !j[key].is_null()) v = j[key].get<T>();
}
template <typename T>
void get(const nlohmann::json& j, const char* key, T& v) {
  if (j.contains(key) && !j[key].is_null()) v = j[key].get<T>();
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
  TrainConfig c = TrainConfig::defaults(j["task"].get<std::string>(), j["model"].get<std::string>());
  if (j.contains("model_options")) {
    const auto& m = j["model_options"];
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

bool HalvingRule::should_halve(int64_t epoch, double v, const std::vector<double>& history) const {
  if (!enabled || epoch <= min_epoch || history.empty()) return false;
  const size_t n = std::min(history.size(), size_t(window));
  const double m = *std::max_element(history.end() - std::ptrdiff_t(n), history.end());
  return strict ? v > m : v >= m;
}

std::string HalvingRule::describe() const {
  if (!enabled) return "constant learning rate";
  return fmt::format("halve the learning rate when epoch > {} and valid loss {} max(last {})", min_epoch,
                     strict ? ">" : ">=", window);
}

HalvingRule halving_rule(const std::string& task) {
  // MODELS.md §10: char e > 10 and v > max(last 5); word ≥ max(last 5); poly > max(last 10);
  // copy ≥ max(last 5); raw audio and the adding problem: constant.
  if (task == "char") return {true, 10, 5, true};
  if (task == "word" || task == "copy") return {true, 10, 5, false};
  if (task == "jsb" || task == "nottingham" || task == "muse" || task == "piano") return {true, 10, 10, true};
  return {};
}

}  // namespace seqnet
