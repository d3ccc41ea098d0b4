#include "train/loop/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/allocator.h"
#include "core/atomic_file.h"
#include "core/device_api.h"
#include "core/json.h"
#include "core/paths.h"
#include "core/runtime.h"
#include "train/data/plot.h"
#include "train/loop/interrupt.h"
#include "train/loop/optim.h"
#include "train/loop/spikes.h"
#include "train/tasks/task_memory.h"

namespace seqnet {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const int64_t t = int64_t(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t / 60) % 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& cfg, Module& model, double lr) {
  if (cfg.optim == "sgd") return std::make_unique<SGD>(model.params().unique(), lr, cfg.momentum);
  return std::make_unique<Adam>(model.params().unique(), lr);
}

// Appends one JSON object per line to metrics.jsonl (opened per write: a crash loses nothing).
void append_jsonl(const std::string& path, const nlohmann::json& j) {
  std::ofstream f(path, std::ios::app);
  check(bool(f), "cannot write {}", path);
  f << j.dump() << "\n";
}

// The progress display: a redrawn bar on a terminal (stderr), plain lines otherwise (stdout).
class Progress {
 public:
  Progress(int verbosity, int64_t log_interval)
      : verbosity_(verbosity), log_interval_(log_interval), tty_(isatty(STDERR_FILENO) == 1) {}

  void step(int64_t epoch, int64_t epochs, int64_t step, int64_t total, double loss, double ex_per_s, double eta) {
    if (verbosity_ < 1) return;
    if (tty_) {
      const auto now = Clock::now();
      if (step < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = now;
      const int width = 24, filled = int(double(width) * double(step) / double(std::max<int64_t>(total, 1)));
      fmt::print(stderr, "\r\033[Kepoch {}/{} [{}{}] {}/{} loss {:.4f} {:.1f} ex/s ETA {}", epoch, epochs,
                 std::string(size_t(filled), '#'), std::string(size_t(width - filled), '.'), step, total, loss,
                 ex_per_s, format_duration(eta));
      std::fflush(stderr);
    } else if (step % log_interval_ == 0 || step == total) {
      fmt::print("epoch {}/{} step {}/{} loss {:.4f} {:.1f} ex/s ETA {}\n", epoch, epochs, step, total, loss, ex_per_s,
                 format_duration(eta));
      std::fflush(stdout);
    }
  }
  void end_epoch() {
    if (verbosity_ >= 1 && tty_) fmt::print(stderr, "\r\033[K");
  }

 private:
  int verbosity_;
  int64_t log_interval_;
  bool tty_;
  Clock::time_point last_draw_{};
};

}  // namespace

nlohmann::json to_json(const EvalResult& r) {
  nlohmann::json j = {{"loss", r.loss}, {"count", r.count}};
  for (const auto& [k, v] : r.metrics) j[k] = v;
  return j;
}

std::string format_eval(const EvalResult& r) {
  std::string s = fmt::format("loss {:.4f}", r.loss);
  for (const auto& [k, v] : r.metrics)
    if (k != "ce" && k != "mse" && k != "nll") s += fmt::format(", {} {:.4f}", k, v);
  return s;
}

FullEval evaluate_all(Task& task, Module& model, int64_t max_eval_batches) {
  NoGradGuard ng;
  model.set_training(false);
  FullEval f;
  f.train = task.evaluate(model, Split::Train, max_eval_batches);
  f.valid = task.evaluate(model, Split::Valid, max_eval_batches);
  f.test = task.evaluate(model, Split::Test, max_eval_batches);
  return f;
}

LoadedRun build_run(const TrainConfig& cfg, Generator& gen, bool for_training, Device device) {
  LoadedRun run;
  run.task = make_task(cfg);
  run.options = cfg.model_opts;
  run.task->model_options(run.options);
  if (for_training)
    check_training_memory(estimate_training_memory(cfg, run.options, run.task->longest_example()), cfg, device);
  run.model = build_task_model(cfg.task, cfg.model, run.options, gen);
  run.task->bind(*run.model.model);
  return run;
}

// The data a run is evaluated or continued on must be the data it was trained on, as far as the
// checkpoint recorded it (a text task's vocabulary: the same symbols in another order would map
// every id to the wrong symbol, silently). Checked key by key; a vocabulary names its first
// difference.
void check_same_data(const Checkpoint& ck, const Task& task, const TrainConfig& cfg) {
  const nlohmann::json now = task.info();
  for (const auto& [key, stored] : ck.task_info.items()) {
    if (now.contains(key) && now[key] == stored) continue;
    std::string detail = "it is missing from the data now";
    if (now.contains(key) && key == "vocab" && stored.is_array() && now[key].is_array()) {
      const auto& a = stored;
      const auto& b = now[key];
      size_t i = 0;
      while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
      detail = i < a.size() && i < b.size()
                   ? fmt::format("symbol {} is {} in the checkpoint but {} in the data", i,
                                 json_excerpt(a[i], 20), json_excerpt(b[i], 20))
                   : fmt::format("the checkpoint has {} symbols, the data {}", a.size(), b.size());
    } else if (now.contains(key)) {
      detail = fmt::format("{} in the checkpoint, {} in the data", json_excerpt(stored, 60), json_excerpt(now[key], 60));
    }
    fail(fmt::format("{}: the data in {} differ from the data this run was trained on ('{}': {}); refusing to use "
                     "them",
                     ck.file.path, resolved_data_dir(cfg), key, detail));
  }
}

TaskModel load_model(const Checkpoint& ck) {
  Generator gen(ck.config.seed);
  TaskModelOptions o = ck.config.model_opts;
  if (!o.vocab && ck.task_info.contains("vocab")) o.vocab = int64_t(ck.task_info["vocab"].size());
  TaskModel tm = build_task_model(ck.config.task, ck.config.model, o, gen);
  restore_model(ck, *tm.model);
  tm.model->set_training(false);
  return tm;
}

LoadedRun load_run(const std::string& path, const std::string& data_dir_override) {
  Checkpoint ck = load_checkpoint(path);
  TrainConfig cfg = ck.config;
  if (!data_dir_override.empty()) cfg.data_dir = data_dir_override;
  Generator gen(cfg.seed);
  LoadedRun run = build_run(cfg, gen);
  check_same_data(ck, *run.task, cfg);
  restore_model(ck, *run.model.model);
  run.checkpoint = std::move(ck);
  run.checkpoint.config = cfg;
  return run;
}

namespace {

// The state one training run shares between its steps. Not copyable: the model holds &gen.
struct Run {
  const TrainConfig& cfg;
  const TrainOptions& opt;
  const std::string last_path, best_path, metrics_path;
  Generator gen;  // model init, then dropout masks and data order
  LoadedRun loaded;
  TrainConfig saved;  // what checkpoints record: with the model options the data fixed
  HalvingRule rule;
  TrainState st;
  std::unique_ptr<Optimizer> optim;
  SpikeDetector spikes;  // steps whose loss or gradient norm jump (reported, never acted on)

  // Builds the task, the model (initialised from gen) and a fresh optimiser at cfg.lr.
  Run(const TrainConfig& c, const TrainOptions& o)
      : cfg(c),
        opt(o),
        last_path(c.out_dir + "/last.safetensors"),
        best_path(c.out_dir + "/best.safetensors"),
        metrics_path(c.out_dir + "/metrics.jsonl"),
        gen(c.seed),
        loaded(build_run(c, gen, /*for_training=*/true, o.device)),
        saved(c) {
    saved.model_opts = loaded.options;
    model().params().store_on(o.device);  // initialised on the host from gen: the same weights everywhere
    model().set_generator(&gen);
    rule = halving_rule(cfg.task);
    st.lr = cfg.lr;
    optim = make_optimizer(cfg, model(), cfg.lr);
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  Task& task() const { return *loaded.task; }
  Module& model() const { return *loaded.model.model; }

  // Prints one line to stdout (verbosity ≥ 1).
  void say(const std::string& s) const {
    if (opt.verbosity >= 1) {
      fmt::print("{}\n", s);
      std::fflush(stdout);
    }
  }
};

// What one epoch's pass over the training data measured.
struct EpochTrain {
  Clock::time_point t0;  // when the epoch started
  int64_t steps = 0;
  double loss = 0;     // mean reported training loss
  double seconds = 0;  // time of the training pass alone
  int64_t spikes = 0;  // steps SpikeDetector flagged
};

// On --resume, makes metrics.jsonl agree with the checkpoint: a kill can leave step records of an
// epoch the checkpoint does not hold (they would be written again, twice), a half-written last
// line, or miss the epoch record of the last saved epoch (a kill between the checkpoint's rename
// and the append). The file is rebuilt as: for each saved epoch, its step records from the file,
// then its epoch record from the checkpoint's history (the authority). Returns what changed.
std::string reconcile_metrics(const Run& r) {
  const int64_t saved = r.st.epoch;
  std::vector<std::vector<std::string>> steps(size_t(saved) + 1);
  std::vector<bool> has_record(size_t(saved) + 1, false);
  int64_t dropped_after = 0, unreadable = 0;
  if (path_exists(r.metrics_path)) {
    std::ifstream f(r.metrics_path);
    std::string line;
    while (std::getline(f, line)) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object() || !j.contains("type") || !j.contains("epoch") || !j["epoch"].is_number_integer()) {
        unreadable += line.empty() ? 0 : 1;
        continue;
      }
      const int64_t e = j["epoch"].get<int64_t>();
      if (j["type"] == "epoch") {
        if (e >= 1 && e <= saved) has_record[size_t(e)] = true;
        dropped_after += e > saved ? 1 : 0;
      } else if (j["type"] == "step") {
        if (e >= 1 && e <= saved)
          steps[size_t(e)].push_back(line);
        else
          ++dropped_after;
      }
    }
  }
  std::string text;
  int64_t restored = 0;
  for (int64_t e = 1; e <= saved; ++e) {
    for (const std::string& l : steps[size_t(e)]) text += l + "\n";
    for (const auto& rec : r.st.history)
      if (rec.is_object() && rec.contains("epoch") && rec["epoch"] == e) {
        text += rec.dump() + "\n";
        restored += has_record[size_t(e)] ? 0 : 1;
        break;
      }
  }
  if (dropped_after == 0 && unreadable == 0 && restored == 0) return "";
  write_file_atomic(r.metrics_path, text, "train");
  std::vector<std::string> what;
  if (dropped_after) what.push_back(fmt::format("dropped {} record(s) after epoch {} (an interrupted epoch)", dropped_after, saved));
  if (unreadable) what.push_back(fmt::format("dropped {} unreadable line(s)", unreadable));
  if (restored) what.push_back(fmt::format("restored {} epoch record(s) from the checkpoint", restored));
  return fmt::format("{}: {}", r.metrics_path, fmt::join(what, "; "));
}

// With --resume: restores model, optimiser, state and RNG from last.safetensors; else drops an old metrics.jsonl.
void resume_or_start(Run& r) {
  if (r.opt.resume) {
    check(path_exists(r.last_path), "--resume: no checkpoint at {} to continue from", r.last_path);
    Checkpoint ck = load_checkpoint(r.last_path);
    check(ck.config.task == r.cfg.task && ck.config.model == r.cfg.model,
          "--resume: {} is a {} / {} run, not {} / {}", r.last_path, ck.config.task, ck.config.model, r.cfg.task,
          r.cfg.model);
    check_same_data(ck, *r.loaded.task, r.cfg);
    restore_model(ck, r.model());
    restore_optimizer(ck, *r.optim, r.model());
    r.st = ck.state;
    r.optim->set_lr(r.st.lr);
    r.gen.set_state(r.st.rng);
    r.say(fmt::format("resuming {} after epoch {} (lr {:g}, best valid {:.4f} at epoch {})", r.last_path, r.st.epoch,
                      r.st.lr, r.st.best_valid, r.st.best_epoch));
    const std::string fixed = reconcile_metrics(r);
    if (!fixed.empty()) r.say(fixed);
  } else {
    std::error_code ec;
    fs::remove(r.metrics_path, ec);
  }
}

// Prints what is trained: data, model, optimiser settings and the output files.
void print_header(const Run& r) {
  const TrainConfig& cfg = r.cfg;
  r.say(fmt::format("seqnet train: task {} / model {}", cfg.task, cfg.model));
  r.say(fmt::format("  data : {}", r.task().describe()));
  r.say(fmt::format("  model: {} — {} parameters", r.model().describe(), r.model().params().count()));
  for (const auto& s : r.loaded.model.settings) r.say("         " + s);
  r.say(fmt::format("  optim: {} lr {:g}, clip {}, {} epochs, batch {}, seed {}; {}", cfg.optim, cfg.lr,
                    cfg.clip > 0 ? fmt::format("{:g}", cfg.clip) : "none", cfg.epochs, cfg.batch_size, cfg.seed,
                    r.rule.describe()));
  if (r.opt.device.is_cpu())
    r.say(fmt::format("  cpu  : threads {}", thread_choice().describe()));
  else
    r.say(fmt::format("  gpu  : {} ({}); host threads {}", r.opt.device.str(), device_description(r.opt.device),
                      thread_choice().describe()));
  r.say(fmt::format("  out  : {}/ (best.safetensors, last.safetensors, metrics.jsonl, loss.svg, results.json)",
                    cfg.out_dir));
}

// Stops the run: the training loss was `value` at step `step` (1-based) of `steps` in `epoch`.
[[noreturn]] void throw_step_diverged(const Run& r, double value, int64_t epoch, int64_t step, int64_t steps) {
  TrainingDiverged e(fmt::format(
      "training diverged: the loss is {} at epoch {}, step {} of {} (lr {:g}); stopped. The last good "
      "checkpoints are kept: {} (after epoch {}){}",
      value, epoch, step, steps, r.st.lr, path_exists(r.last_path) ? r.last_path : "(none yet)", r.st.epoch,
      path_exists(r.best_path) ? ", " + r.best_path : ""));
  e.epoch = epoch, e.step = step;
  throw e;
}

// One pass over the training data (zero grads → loss → backward → clip → step), with progress and metrics.
EpochTrain train_epoch(Run& r, int64_t epoch, Progress& progress, const std::vector<Variable>& params) {
  const TrainConfig& cfg = r.cfg;
  Task& task = r.task();
  Module& model = r.model();
  EpochTrain out;
  out.t0 = Clock::now();
  device_api(r.opt.device).allocator().reset_peak();
  model.set_training(true);
  task.start_epoch(r.gen);
  int64_t steps = task.steps_per_epoch();
  if (cfg.max_steps > 0) steps = std::min(steps, cfg.max_steps);
  double loss_sum = 0, interval_sum = 0;
  int64_t examples = 0, interval_n = 0;
  for (int64_t s = 0; s < steps; ++s) {
    r.optim->zero_grad();
    StepLoss sl = task.train_loss(model, s);
    const double value = sl.loss.item();
    if (!std::isfinite(value) || !std::isfinite(sl.reported)) {
      progress.end_epoch();
      throw_step_diverged(r, value, epoch, s + 1, steps);
    }
    sl.loss.backward();
    const double gnorm = cfg.clip > 0 ? clip_grad_norm(params, cfg.clip) : grad_norm(params);
    if (const SpikeDetector::Verdict v = r.spikes.observe(sl.reported, gnorm); v.spike) {
      ++out.spikes;
      constexpr int64_t kPrintedSpikes = 3;  // per epoch; every one goes to metrics.jsonl
      if (out.spikes <= kPrintedSpikes) {
        progress.end_epoch();
        r.say(fmt::format("spike: epoch {} step {}/{}{}: loss {:.4g} (median of the last steps {:.4g}), gradient "
                          "norm {:.4g} (median {:.4g}){}{}",
                          epoch, s + 1, steps, sl.what.empty() ? "" : " (" + sl.what + ")", sl.reported,
                          v.median_loss, gnorm, v.median_grad_norm, cfg.clip > 0 && gnorm > cfg.clip ? ", clipped" : "",
                          out.spikes == kPrintedSpikes ? "; further spikes of this epoch only in metrics.jsonl" : ""));
      }
      append_jsonl(r.metrics_path, {{"type", "spike"}, {"epoch", epoch}, {"step", s + 1},
                                    {"global_step", r.st.global_step + 1}, {"examples", sl.what},
                                    {"loss", sl.reported}, {"median_loss", v.median_loss}, {"grad_norm", gnorm},
                                    {"median_grad_norm", v.median_grad_norm}, {"lr", r.st.lr}});
    }
    r.optim->step();
    ++r.st.global_step;
    loss_sum += sl.reported;
    interval_sum += sl.reported;
    ++interval_n;
    examples += sl.examples;
    const double el = seconds_since(out.t0);
    progress.step(epoch, cfg.epochs, s + 1, steps, loss_sum / double(s + 1), double(examples) / std::max(el, 1e-9),
                  el / double(s + 1) * double(steps - s - 1));
    if ((s + 1) % cfg.log_interval == 0 || s + 1 == steps) {
      append_jsonl(r.metrics_path, {{"type", "step"}, {"epoch", epoch}, {"step", s + 1}, {"steps", steps},
                                    {"global_step", r.st.global_step}, {"loss", interval_sum / double(interval_n)},
                                    {"lr", r.st.lr}, {"examples_per_s", double(examples) / std::max(el, 1e-9)}});
      interval_sum = 0, interval_n = 0;
    }    if (r.opt.after_step) r.opt.after_step(epoch, s + 1);
    if (stop_requested()) {
      progress.end_epoch();
      throw_if_stop_requested(fmt::format("epoch {}, step {} of {}", epoch, s + 1, steps).c_str());
    }
  }
  progress.end_epoch();
  out.steps = steps;
  out.loss = loss_sum / double(std::max<int64_t>(steps, 1));
  out.seconds = seconds_since(out.t0);
  return out;
}

// Evaluates the validation split (no-grad, eval mode); a non-finite loss stops the run.
EvalResult validate_epoch(const Run& r, int64_t epoch) {
  EvalResult valid;
  {
    NoGradGuard ng;
    r.model().set_training(false);
    valid = r.task().evaluate(r.model(), Split::Valid, r.cfg.max_eval_batches);
  }
  if (!std::isfinite(valid.loss)) {
    TrainingDiverged e(fmt::format("training diverged: the validation loss is {} after epoch {}; stopped. The last "
                                   "good checkpoints are kept: {} (after epoch {})",
                                   valid.loss, epoch, path_exists(r.last_path) ? r.last_path : "(none yet)",
                                   r.st.epoch));
    e.epoch = epoch;
    throw e;
  }
  return valid;
}

// Writes best.safetensors (if `best`) and last.safetensors, appends `rec` to metrics.jsonl, redraws loss.svg.
void save_epoch(const Run& r, const nlohmann::json& rec, bool best) {
  if (best) save_checkpoint(r.best_path, r.saved, r.task().info(), r.model(), r.optim.get(), r.st);
  save_checkpoint(r.last_path, r.saved, r.task().info(), r.model(), r.optim.get(), r.st);
  append_jsonl(r.metrics_path, rec);
  try {
    write_loss_plot(r.metrics_path, r.cfg.out_dir + "/loss.svg", fmt::format("{} / {}", r.cfg.task, r.cfg.model));
  } catch (const Error&) {  // the plot is a convenience; never stop training for it
  }
}

// Ends `epoch`: applies the lr-halving rule, records the epoch in the state, saves, prints the epoch line.
void finish_epoch(Run& r, int64_t epoch, const EpochTrain& train, const EvalResult& valid) {
  TrainState& st = r.st;
  const double lr_used = st.lr;
  if (r.rule.should_halve(epoch, valid.loss, st.valid_history)) {
    st.lr /= 2;
    r.optim->set_lr(st.lr);
  }
  st.valid_history.push_back(valid.loss);
  const bool best = valid.loss < st.best_valid;
  st.epoch = epoch;
  nlohmann::json rec = {{"type", "epoch"},
                        {"epoch", epoch},
                        {"train_loss", train.loss},
                        {"valid_loss", valid.loss},
                        {"valid", to_json(valid)},
                        {"lr", lr_used},
                        {"next_lr", st.lr},
                        {"seconds", seconds_since(train.t0)},
                        {"train_seconds", train.seconds},
                        {"steps", train.steps},
                        {"spikes", train.spikes},
                        {"best", best},
                        {"peak_mb", double(device_api(r.opt.device).allocator().stats().peak_bytes) / 1e6}};
  st.history.push_back(rec);
  st.rng = r.gen.state();
  if (best) {
    st.best_valid = valid.loss;
    st.best_epoch = epoch;
  }
  save_epoch(r, rec, best);
  r.say(fmt::format("epoch {:3d}/{} | train {:.4f} | valid {} | lr {:g}{} | {:.1f} s | peak {:.0f} MB{}{}", epoch,
                    r.cfg.epochs, train.loss, format_eval(valid), lr_used,
                    st.lr != lr_used ? fmt::format(" → {:g}", st.lr) : "", seconds_since(train.t0),
                    double(device_api(r.opt.device).allocator().stats().peak_bytes) / 1e6,
                    train.spikes ? fmt::format(" | {} spike{}", train.spikes, train.spikes == 1 ? "" : "s") : "",
                    best ? " | best, saved" : ""));
}

// Reloads best.safetensors, evaluates all three splits, prints them and writes results.json.
void final_evaluation(const Run& r, TrainOutcome& out, Clock::time_point t_start) {
  const TrainConfig& cfg = r.cfg;
  restore_model(load_checkpoint(r.best_path), r.model());
  FullEval f = evaluate_all(r.task(), r.model(), cfg.max_eval_batches);
  out.train = f.train, out.valid = f.valid, out.test = f.test;
  out.seconds = seconds_since(t_start);
  r.say(fmt::format("best checkpoint (epoch {}) {}:", r.st.best_epoch, r.best_path));
  r.say(fmt::format("  train {}", format_eval(f.train)));
  r.say(fmt::format("  valid {}", format_eval(f.valid)));
  r.say(fmt::format("  test  {}", format_eval(f.test)));
  nlohmann::json res = {{"task", cfg.task},           {"model", cfg.model},
                        {"parameters", r.model().params().count()}, {"best_epoch", r.st.best_epoch},
                        {"epochs", r.st.epoch},       {"seconds", out.seconds},
                        {"train", to_json(f.train)},  {"valid", to_json(f.valid)},
                        {"test", to_json(f.test)},    {"config", to_json(cfg)}};
  const std::string res_path = cfg.out_dir + "/results.json";
  write_file_atomic(res_path, res.dump(2) + "\n", "train");
  r.say(fmt::format("wrote {} ({:.1f} s in all)", res_path, out.seconds));
}

}  // namespace

// The output folder is created and written to before any work: a folder that cannot hold the
// run's files is found now, not at the first checkpoint after an epoch of training.
static void check_out_dir_writable(const std::string& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) fail(fmt::format("--out {}: cannot create the folder: {}", out, ec.message()));
  const fs::path probe = fs::path(out) / fmt::format(".seqnet_write_probe.tmp.{}.0", ::getpid());
  {
    std::ofstream f(probe);
    f << "probe\n";
    if (!f.good()) fail(fmt::format("--out {}: the folder is not writable", out));
  }
  fs::remove(probe, ec);
}

// Ends a run stopped by SIGINT / SIGTERM: says what was kept and how to continue.
[[noreturn]] static void rethrow_interrupted(const Run& r, const Interrupted& e) {
  const bool have_last = path_exists(r.last_path);
  throw Interrupted(fmt::format("{}. {}", e.what(),
                                have_last ? fmt::format("The last checkpoint is intact: {} (after epoch {}); continue "
                                                        "with: seqnet train --resume {}",
                                                        r.last_path, r.st.epoch, r.cfg.out_dir)
                                          : std::string("No epoch had finished, so there is no checkpoint to resume")),
                    e.signal);
}

TrainOutcome run_training(const TrainConfig& cfg, const TrainOptions& opt) {
  cfg.validate();
  const StopOnSignal stop_on_signal;  // Ctrl-C / SIGTERM stop at the next safe point
  const auto t_start = Clock::now();
  check_out_dir_writable(cfg.out_dir);
  const StaleTemporaries stale = remove_stale_temporaries(cfg.out_dir);
  Run r(cfg, opt);
  if (stale.files > 0)
    r.say(fmt::format("removed {} temporary file(s) ({:.1f} MB) that a killed run left in {}", stale.files,
                      double(stale.bytes) / 1e6, cfg.out_dir));
  resume_or_start(r);
  print_header(r);

  Progress progress(opt.verbosity, cfg.log_interval);
  const std::vector<Variable> params = r.model().params().unique();
  TrainOutcome out;
  try {
    const int64_t first_epoch = r.st.epoch + 1;
    for (int64_t epoch = first_epoch; epoch <= cfg.epochs; ++epoch) {
      if (epoch > first_epoch)  // the machine's load may have changed since the start
        if (const std::string moved = adapt_threads_to_load(); !moved.empty()) r.say("  cpu  : " + moved);
      const EpochTrain train = train_epoch(r, epoch, progress, params);
      const EvalResult valid = validate_epoch(r, epoch);
      finish_epoch(r, epoch, train, valid);
      ++out.epochs_run;
      if (opt.after_epoch) opt.after_epoch(epoch, r.model());
      throw_if_stop_requested(fmt::format("after epoch {}", epoch).c_str());
    }
    out.best_epoch = r.st.best_epoch;
    out.best_valid = r.st.best_valid;
    if (opt.final_eval && path_exists(r.best_path)) final_evaluation(r, out, t_start);
  } catch (const Interrupted& e) {
    rethrow_interrupted(r, e);
  }
  out.seconds = seconds_since(t_start);
  return out;
}

}  // namespace seqnet
