#include "train/cli/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>

#include "core/allocator.h"
#include "core/atomic_file.h"
#include "core/device_api.h"
#include "core/error.h"
#include "core/numbers.h"
#include "core/paths.h"
#include "core/runtime.h"
#include "train/cli/generate.h"
#include "train/cli/verify.h"
#include "train/data/plot.h"
#include "train/loop/interrupt.h"
#include "train/loop/reproduce.h"
#include "train/loop/search.h"
#include "train/loop/trainer.h"
#include "train/tasks/task_memory.h"
#include "train/tasks/task_model.h"
#ifdef SEQNET_HAVE_CUDA
#include "cuda/cuda_info.h"
#endif

#ifndef SEQNET_VERSION
#define SEQNET_VERSION "dev"
#endif

namespace seqnet {
namespace {

// ---- seqnet info -------------------------------------------------------------------------------

int cmd_info() {
  BlasInfo b = blas_info();
  fmt::print("seqnet {}\n", SEQNET_VERSION);
  fmt::print("  BLAS library : {}\n", b.library.empty() ? "unknown" : b.library);
  fmt::print("  BLAS config  : {}\n", b.config.empty() ? "(not OpenBLAS)" : b.config);
  fmt::print("  BLAS threads : {} ({})\n", b.threads, b.parallel);
  // OpenBLAS picks its kernels from the CPU unless OPENBLAS_CORETYPE names a set; an AVX2 set on
  // an AVX-512 CPU runs sgemm at about half the speed (docs/performance.md, "The table").
  if (const char* ct = std::getenv("OPENBLAS_CORETYPE"); ct && *ct && __builtin_cpu_supports("avx512f"))
    fmt::print(
        "  BLAS note    : OPENBLAS_CORETYPE={} is set, so OpenBLAS does not pick its kernels for this CPU "
        "(it has AVX-512); unset it for the native ones\n",
        ct);
  fmt::print("  CPU threads  : {}\n", thread_choice().describe());
#ifdef SEQNET_HAVE_CUDA
  const int gpus = cuda::device_count();
  fmt::print("  CUDA backend : built; {} GPU(s) visible{}\n", gpus, gpus > 0 ? ": " + cuda::device_name(0) : "");
#else
  fmt::print("  CUDA backend : not built (configure with -DSEQNET_CUDA=ON on a machine with nvcc + cuBLAS)\n");
#endif
  fmt::print("  refs         : {}{}\n", refs_dir(), path_exists(refs_dir()) ? "" : " (not found)");
  fmt::print("  data         : {}{}\n", data_dir(), path_exists(data_dir()) ? "" : " (not found)");
  fmt::print("  tasks        :\n");
  for (const TaskSpec& t : task_table())
    fmt::print("    {:<11} {} — {}\n", t.name, fmt::join(t.models, "/"), t.summary);
  if (b.parallel != "openmp")
    fmt::print("  warning: the loaded BLAS is not the OpenMP build of OpenBLAS; BLAS and seqnet kernels "
               "will use separate thread pools (apt-get install libopenblas0-openmp)\n");
  return 0;
}

int cmd_task_info(const std::string& task, const std::string& model, const TaskModelOptions& opt) {
  // The estimate comes first: a configuration too large for the machine is reported, not built.
  const TrainConfig d = TrainConfig::defaults(task, model);
  const bool music = task_spec(task, model).kind == TaskKind::Music;
  const MemoryEstimate mem = estimate_training_memory(d, opt, music ? 1000 : 0);
  const double avail = available_memory_bytes(Device::cpu());
  const std::string mem_line = fmt::format("  training memory at the defaults: {}{}; {} available\n", mem.describe(),
                                           music ? " (a piece of 1000 frames; the data decides)" : "",
                                           avail > 0 ? format_bytes(avail) : "unknown");
  if (avail > 0 && mem.weight_bytes / 4 > avail) {
    fmt::print("task {} / model {}\n  parameters: {}\n{}", task, model, mem.parameters, mem_line);
    fail(fmt::format("info: the model alone ({} parameters, {}) does not fit in the {} available; not building it",
                     mem.parameters, format_bytes(mem.weight_bytes / 4), format_bytes(avail)));
  }
  Generator gen(0);
  TaskModel tm = build_task_model(task, model, opt, gen);
  const ParameterSet& p = tm.model->params();
  fmt::print("task {} / model {}\n  {}\n", task, model, tm.model->describe());
  for (const auto& s : tm.settings) fmt::print("  {}\n", s);
  int64_t aliases = 0;
  for (const auto& e : p.entries()) aliases += e.is_alias ? 1 : 0;
  fmt::print("  parameters: {} ({} tensors, {} state_dict keys incl. {} aliases)\n", p.count(), p.unique().size(),
             p.entries().size(), aliases);
  fmt::print("  training defaults: {} lr {:g}, clip {}, {} epochs, batch {}; {}\n", d.optim, d.lr,
             d.clip > 0 ? fmt::format("{:g}", d.clip) : "none", d.epochs, d.batch_size,
             halving_rule(task).describe());
  fmt::print("{}", mem_line);
  return 0;
}

// ---- number checks for flags ---------------------------------------------------------------------

// CLI11's own checks print their bounds in full (NonNegativeNumber: 309 digits of DBL_MAX), answer
// --threads 100000 with "must be a positive integer", and 1e8 for an integer flag with "Could not
// convert". These name what was found and the allowed range as people write it; CLI11 puts the
// flag in front ("--threads: must be a whole number from 1 to 1024; found '100000'").

// A whole number in [lo, hi]; 1e8 is accepted when it is exact, and rewritten in decimal for
// CLI11's conversion.
CLI::Validator whole(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        int64_t v = 0;
        const std::string problem = whole_number_problem(text, lo, hi, v);
        if (problem.empty()) {
          text = std::to_string(v);
          return "";
        }
        return fmt::format("must be a whole number {}; found '{}'{}", int_range_str(lo, hi), text_excerpt(text),
                           problem == "out of range" ? "" : " (" + problem + ")");
      },
      fmt::format("{}..{}", readable_int(lo), readable_int(hi)));
}

// A whole number from 0 to 2^64 - 1 (seeds).
CLI::Validator whole_u64() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        uint64_t v = 0;
        const std::string problem = whole_number_problem(text, uint64_t(0), UINT64_MAX, v);
        if (problem.empty()) {
          text = std::to_string(v);
          return "";
        }
        return fmt::format("must be a whole number from 0 to 2^64 - 1; found '{}'{}", text_excerpt(text),
                           problem == "out of range" ? "" : " (" + problem + ")");
      },
      "0..2^64-1");
}

// A finite number in [lo, hi]; `allowed` says so in words ("a number in [0, 1)").
CLI::Validator real(double lo, double hi, const std::string& allowed) {
  return CLI::Validator(
      [lo, hi, allowed](std::string& text) -> std::string {
        double v = 0;
        const std::string problem = real_number_problem(text, lo, hi, v);
        if (problem.empty()) return "";
        return fmt::format("must be {}; found '{}'{}", allowed, text_excerpt(text),
                           problem == "out of range" ? "" : " (" + problem + ")");
      },
      allowed);
}

// The flag check of a run setting (train/loop/config.cpp) and of a model setting (the task table).
CLI::Validator run_setting(const std::string& key) {
  const ConfigIntField& f = config_int_field(key);
  return whole(f.lo, f.hi);
}
CLI::Validator model_setting(const std::string& key) {
  const ModelIntOption& o = model_int_option(key);
  return whole(o.lo, o.hi);
}

const double kDoubleMax = std::numeric_limits<double>::max();
const double kBelowOne = std::nextafter(1.0, 0.0);

// ---- flags shared by train and search ----------------------------------------------------------

struct TrainFlags {
  std::string task, model;
  TaskModelOptions mo;
  std::optional<double> lr, clip, momentum;
  std::optional<int64_t> epochs, batch_size, seq_len, validseqlen, blank_len, n_train, n_valid, n_test, hop,
      log_interval, max_steps, max_eval_batches;
  std::optional<uint64_t> seed;
  std::optional<std::string> optim, data_dir, out;
};

template <typename T>
CLI::Option* opt_flag(CLI::App* app, const std::string& name, std::optional<T>& slot, const std::string& help) {
  return app->add_option_function<T>(name, [&slot](const T& v) { slot = v; }, help);
}

void add_model_flags(CLI::App* a, TaskModelOptions& mo) {
  auto i64 = [&](const std::string& name, const std::string& key, const std::string& help) {
    std::optional<int64_t>& slot = mo.*model_int_option(key).member;
    a->add_option_function<int64_t>(name, [&slot](const int64_t& v) { slot = v; }, help)->transform(model_setting(key));
  };
  i64("--nhid,--features,--channels", "nhid", "hidden channels (audio: Seq-U-Net features C / WaveNet channels)");
  i64("--levels,--layers", "levels", "levels (audio WaveNet: layers per block)");
  i64("--ksize", "ksize", "kernel size");
  i64("--emsize", "emsize", "embedding size (char, word)");
  i64("--depth,--blocks", "depth", "residual Seq-U-Net depth (audio WaveNet: blocks)");
  i64("--output_size", "output_size", "audio: predicted samples per window");
  a->add_option_function<double>("--dropout", [&mo](const double& v) { mo.dropout = v; }, "dropout")
      ->check(real(0.0, kBelowOne, "a number in [0, 1)"));
  a->add_option_function<double>("--emb_dropout", [&mo](const double& v) { mo.emb_dropout = v; },
                                 "embedding dropout (char, word)")
      ->check(real(0.0, kBelowOne, "a number in [0, 1)"));
  a->add_option_function<bool>("--tied", [&mo](const bool& v) { mo.tied = v; }, "tie encoder and decoder (word, char)");
}

void add_train_flags(CLI::App* a, TrainFlags& f, bool task_required) {
  auto* t = a->add_option("--task", f.task, fmt::format("{}", fmt::join(task_names(), ", ")));
  auto* m = a->add_option("--model", f.model, "tcn, sequnet, sequnet_res, wavenet (as the task offers)");
  if (task_required) t->required(), m->required();
  add_model_flags(a, f.mo);
  opt_flag(a, "--lr", f.lr, "learning rate")->check(real(std::numeric_limits<double>::min(), kDoubleMax,
                                                          "a positive finite number"));
  opt_flag(a, "--clip", f.clip, "gradient clipping: max global norm (<= 0: none)")
      ->check(real(-kDoubleMax, kDoubleMax, "a finite number (<= 0: no clipping)"));
  opt_flag(a, "--momentum", f.momentum, "SGD momentum")->check(real(0.0, kBelowOne, "a number in [0, 1)"));
  opt_flag(a, "--optim", f.optim, "adam or sgd");
  // the integer settings: ranges from the run's table (train/loop/config.cpp)
  auto i64 = [&](const std::string& name, const std::string& key, std::optional<int64_t>& slot,
                 const std::string& help) { opt_flag(a, name, slot, help)->transform(run_setting(key)); };
  i64("--epochs", "epochs", f.epochs, "training epochs");
  i64("--batch_size", "batch_size", f.batch_size, "batch size (music: > 1 pads and masks; text: rows)");
  i64("--seq_len", "seq_len", f.seq_len, "window length (char, word) / sequence length (adding)");
  i64("--validseqlen", "validseqlen", f.validseqlen, "predicted positions per window (char, word)");
  i64("--blank_len", "blank_len", f.blank_len, "copy memory: T, the blanks between digits and recall");
  i64("--n_train", "n_train", f.n_train, "synthetic tasks: training sequences");
  i64("--n_valid", "n_valid", f.n_valid, "synthetic tasks: validation sequences");
  i64("--n_test", "n_test", f.n_test, "synthetic tasks: test sequences");
  i64("--hop", "hop", f.hop, "audio: hop that sets the training items per file");
  opt_flag(a, "--seed", f.seed, "random seed (init, dropout, data order, synthetic data)")->transform(whole_u64());
  i64("--log-interval,--log_interval", "log_interval", f.log_interval,
      "steps between progress lines / metrics records");
  i64("--max-steps", "max_steps", f.max_steps, "at most this many steps per epoch (quick runs)");
  i64("--max-eval-batches", "max_eval_batches", f.max_eval_batches, "evaluate on at most this many batches per split");
  opt_flag(a, "--data-dir", f.data_dir, "data sets folder (default $SEQNET_DATA or ../shared/data)");
  opt_flag(a, "--out", f.out, "output folder for checkpoints, metrics and plots (default runs/<task>_<model>)");
}

TrainConfig resolve(const TrainFlags& f) {
  TrainConfig c = TrainConfig::defaults(f.task, f.model);
  c.model_opts = f.mo;
  if (f.lr) c.lr = *f.lr;
  if (f.clip) c.clip = *f.clip;
  if (f.momentum) c.momentum = *f.momentum;
  if (f.optim) c.optim = *f.optim;
  if (f.epochs) c.epochs = *f.epochs;
  if (f.batch_size) c.batch_size = *f.batch_size;
  if (f.seq_len) c.seq_len = *f.seq_len;
  if (f.validseqlen) c.validseqlen = *f.validseqlen;
  if (f.blank_len) c.blank_len = *f.blank_len;
  if (f.n_train) c.n_train = *f.n_train;
  if (f.n_valid) c.n_valid = *f.n_valid;
  if (f.n_test) c.n_test = *f.n_test;
  if (f.hop) c.hop = *f.hop;
  if (f.seed) c.seed = *f.seed;
  if (f.log_interval) c.log_interval = *f.log_interval;
  if (f.max_steps) c.max_steps = *f.max_steps;
  if (f.max_eval_batches) c.max_eval_batches = *f.max_eval_batches;
  if (f.data_dir) c.data_dir = *f.data_dir;
  if (f.out) c.out_dir = *f.out;
  c.validate();
  return c;
}

// On --resume only run-control flags may change; anything that would make the continuation a
// different experiment is refused by name.
TrainConfig resolve_resume(const std::string& dir, const TrainFlags& f) {
  const std::string path = dir + "/last.safetensors";
  check(path_exists(path), "--resume {}: no last.safetensors there", dir);
  TrainConfig c = load_checkpoint(path).config;
  auto refuse = [](bool given, const char* flag) {
    check(!given, "--resume: {} cannot change when continuing a run (only --epochs, --log-interval, --max-steps, "
          "--max-eval-batches and --data-dir can)", flag);
  };
  refuse(!f.task.empty() && f.task != c.task, "--task");
  refuse(!f.model.empty() && f.model != c.model, "--model");
  refuse(f.lr.has_value(), "--lr"), refuse(f.clip.has_value(), "--clip"), refuse(f.optim.has_value(), "--optim");
  refuse(f.batch_size.has_value(), "--batch_size"), refuse(f.seed.has_value(), "--seed");
  refuse(f.seq_len.has_value() || f.validseqlen.has_value(), "the window (--seq_len / --validseqlen)");
  refuse(f.mo.nhid || f.mo.levels || f.mo.ksize || f.mo.emsize || f.mo.depth || f.mo.output_size || f.mo.dropout ||
             f.mo.emb_dropout || f.mo.tied,
         "the model (--nhid, --levels, ...)");
  refuse(f.out.has_value() && *f.out != dir, "--out");
  if (f.epochs) c.epochs = *f.epochs;
  if (f.log_interval) c.log_interval = *f.log_interval;
  if (f.max_steps) c.max_steps = *f.max_steps;
  if (f.max_eval_batches) c.max_eval_batches = *f.max_eval_batches;
  if (f.data_dir) c.data_dir = *f.data_dir;
  c.out_dir = dir;
  c.validate();
  return c;
}

// ---- seqnet eval -------------------------------------------------------------------------------

int cmd_eval(const std::string& ckpt, const std::string& data_dir_override, int64_t max_batches,
             const std::string& json_out, Device device) {
  device_api(device);  // fails at once, saying why, when the device cannot be used
  LoadedRun run = load_run(ckpt, data_dir_override);
  run.model.model->params().store_on(device);
  const TrainConfig& c = run.checkpoint.config;
  fmt::print("{}: task {} / model {}, epoch {} ({} parameters)\n  data: {}\n", ckpt, c.task, c.model,
             run.checkpoint.state.epoch, run.model.model->params().count(), run.task->describe());
  FullEval f = evaluate_all(*run.task, *run.model.model, max_batches);
  fmt::print("  train {}\n  valid {}\n  test  {}\n", format_eval(f.train), format_eval(f.valid), format_eval(f.test));
  nlohmann::json j = {{"checkpoint", ckpt}, {"task", c.task},           {"model", c.model},
                      {"epoch", run.checkpoint.state.epoch}, {"train", to_json(f.train)},
                      {"valid", to_json(f.valid)},           {"test", to_json(f.test)}};
  if (!json_out.empty()) {
    write_file_atomic(json_out, j.dump(2) + "\n", "eval");
    fmt::print("wrote {}\n", json_out);
  }
  // A metric that is not a number is a failed evaluation, whatever produced it.
  for (const EvalResult* e : {&f.train, &f.valid, &f.test}) {
    bool finite = std::isfinite(e->loss);
    for (const auto& [k, v] : e->metrics) finite = finite && std::isfinite(v);
    if (!finite) {
      fmt::print(stderr, "eval: {} gives a non-finite metric (NaN or inf); the evaluation failed\n", ckpt);
      return 1;
    }
  }
  return 0;
}

// ---- seqnet demo -------------------------------------------------------------------------------

// The main job: the copy-memory task of the paper (MODELS.md §10.1) with a TCN, shortened to
// T = 60 blanks and 6 levels (receptive field 757 ≥ 80 steps) so it trains in minutes on 2
// cores. Chance is ln 8 ≈ 2.08 nats (digits 1..8); a working model recalls nearly all digits.
TrainConfig demo_config(bool quick) {
  TrainConfig c = TrainConfig::defaults("copy", "tcn");
  c.blank_len = 60;
  c.model_opts.levels = 6;
  c.model_opts.nhid = 16;
  c.lr = 5e-3;
  c.n_train = quick ? 1024 : 4096;
  c.n_valid = c.n_test = 512;
  c.epochs = quick ? 2 : 8;
  c.log_interval = 32;
  c.out_dir = "runs/demo";
  return c;
}

int cmd_demo(bool quick, const std::optional<std::string>& out) {
  TrainConfig c = demo_config(quick);
  if (out) c.out_dir = *out;
  fmt::print("seqnet demo: the copy-memory task (MODELS.md §10.1) with a TCN, shortened to T = {} blanks so it "
             "trains in a few minutes on 2 cores.\nThe model sees 10 digits (1..8), {} blanks and 11 nines, and must "
             "recall the digits; chance is ln 8 = 2.079 nats, 12.5 % accuracy.\n\n",
             c.blank_len, c.blank_len - 1);
  TrainOutcome o = run_training(c, {});
  const double acc = o.test.metrics.count("accuracy") ? o.test.metrics.at("accuracy") : 0.0;
  fmt::print("\ndemo: test loss {:.4f} nats (chance 2.079), test accuracy {:.1f} % (chance 12.5 %)\n", o.test.loss,
             100 * acc);
  fmt::print("      checkpoint {0}/best.safetensors, metrics {0}/metrics.jsonl, plot {0}/loss.svg\n", c.out_dir);
  fmt::print("      try: build/seqnet eval --checkpoint {}/best.safetensors\n", c.out_dir);
  return o.test.loss < 2.079 ? 0 : 1;
}

// ---- the command line: one add_*_command per subcommand, then run_command -----------------------

// Where the parsed flags land; each add_*_command fills in its subcommand's pointer and slots.
struct CliArgs {
  CLI::App *info = nullptr, *train = nullptr, *eval = nullptr, *search = nullptr, *plot = nullptr,
           *verify = nullptr, *gen = nullptr, *demo = nullptr, *reproduce = nullptr;
  std::string info_task, info_model;
  TaskModelOptions tmo;
  TrainFlags tf;
  std::string resume;
  bool overwrite = false;
  std::string ev_ckpt, ev_data, ev_json;
  int64_t ev_max = 0;
  std::string device = "cpu";  // train / eval --device
  TrainFlags sf;
  SearchOptions so;
  std::string plot_in, plot_out, plot_title;
  std::string v_params, v_data, v_dtype = "f32", v_device = "cpu";
  GenerateOptions go;
  std::string g_device = "cpu";
  bool g_no_record = false;
  ReproduceOptions ro;
  bool ro_list = false, ro_page = false;
  bool demo_quick = false;
  std::optional<std::string> demo_out;
};

void add_info_command(CLI::App& app, CliArgs& a) {
  auto* info = a.info = app.add_subcommand("info", "build, BLAS in use, threads and data locations; with --task and "
                                                   "--model: that model's size and training defaults");
  info->add_option("--task", a.info_task, "task");
  info->add_option("--model", a.info_model, "model");
  add_model_flags(info, a.tmo);
  info->add_option_function<int64_t>("--vocab", [&a](const int64_t& v) { a.tmo.vocab = v; }, "vocabulary size")
      ->transform(model_setting("vocab"));
}

void add_train_command(CLI::App& app, CliArgs& a) {
  a.train = app.add_subcommand("train", "train a model of the paper on one of its tasks");
  add_train_flags(a.train, a.tf, false);
  a.train->add_option("--resume", a.resume, "continue the run in this folder from its last.safetensors");
  a.train->add_flag("--overwrite", a.overwrite, "start afresh in an --out folder that already holds a run");
  a.train->add_option("--device", a.device,
                      "where the model, its batches and the optimiser live: cpu (default) or cuda[:N]; checkpoints "
                      "are the same either way (resume or evaluate on the other)");
}

void add_eval_command(CLI::App& app, CliArgs& a) {
  auto* eval = a.eval = app.add_subcommand("eval", "evaluate a checkpoint on train / valid / test");
  eval->add_option("--checkpoint", a.ev_ckpt, "a best.safetensors / last.safetensors of seqnet train")->required();
  eval->add_option("--data-dir", a.ev_data, "data sets folder (default: the one the run used)");
  eval->add_option("--max-eval-batches", a.ev_max, "at most this many batches per split")
      ->transform(run_setting("max_eval_batches"));
  eval->add_option("--json", a.ev_json, "also write the metrics to this JSON file");
  eval->add_option("--device", a.device, "evaluate on cpu (default) or cuda[:N]");
}

void add_search_command(CLI::App& app, CliArgs& a) {
  auto* search = a.search = app.add_subcommand(
      "search", "TPE (or random) search over lr ~ exp(U(-12,-2)) and clip ∈ {none, U(0.01,1)}, then retrain the best "
                "and evaluate");
  add_train_flags(search, a.sf, true);
  search->add_option("--trials", a.so.trials, "number of trials (official: 20; JSB 50)")
      ->transform(whole(1, int64_t(1) << 20));
  search->add_option("--trial-epochs", a.so.trial_epochs, "epochs per trial (default: --epochs)")
      ->transform(run_setting("epochs"));
  auto set_sampler = [&a](const std::string& v) { a.so.sampler = v == "random" ? Sampler::Random : Sampler::Tpe; };
  search->add_option_function<std::string>("--sampler", set_sampler,
                                           "tpe (default; hyperopt's Tree-structured Parzen Estimator) or random "
                                           "(every trial from the prior)")
      ->check(CLI::IsMember({"tpe", "random"}));
  TpeOptions& t = a.so.tpe;
  search->add_option("--startup-trials", t.startup_trials,
                     "TPE: trials drawn from the prior before TPE starts (default 20: with --trials 20, TPE never "
                     "leaves the prior)")
      ->transform(whole(0, int64_t(1) << 20));
  search->add_option("--gamma", t.gamma, "TPE: the good trials are the ceil(gamma * sqrt(n)) best, at most 25 "
                                         "(default 0.25)")
      ->check(real(std::numeric_limits<double>::min(), 1.0, "a number in (0, 1]"));
  search->add_option("--candidates", t.candidates, "TPE: draws from the good-trial density per suggestion (default 24)")
      ->transform(whole(1, int64_t(1) << 20));
  search->add_option("--prior-weight", t.prior_weight, "TPE: weight of the prior in the Parzen estimators (default 1)")
      ->check(real(std::numeric_limits<double>::min(), kDoubleMax, "a positive finite number"));
  search->add_flag("--resume", a.so.resume,
                   "continue the search recorded in <out>/search.json (give the flags it was started with; --trials "
                   "may grow)");
  search->add_flag("--overwrite", a.so.overwrite, "start afresh in an --out folder that already holds a search");
}

void add_reproduce_command(CLI::App& app, CliArgs& a) {
  auto* r = a.reproduce = app.add_subcommand(
      "reproduce", "one number of the paper: the protocol of MODELS.md §10 with fixed settings, recorded in "
                   "docs/results.json and rendered into docs/results.md");
  ReproduceOptions& o = a.ro;
  r->add_option("--task", o.task, "the row's task (see --list)");
  r->add_option("--model", o.model, "the row's model");
  r->add_option("--epochs", o.epochs, "shorten the run to this many epochs (default: the protocol's; recorded)")
      ->transform(whole(1, 100000));
  r->add_option("--max-steps", o.max_steps, "shorten every epoch to at most this many steps (recorded)")
      ->transform(whole(1, int64_t(1) << 40));
  r->add_option("--max-eval-batches", o.max_eval_batches, "evaluate on at most this many batches per split (recorded)")
      ->transform(whole(1, int64_t(1) << 40));
  r->add_option("--seed", o.seed, "seed (default 1111, the official one; other seeds are recorded as extra rows)")
      ->transform(whole_u64());
  r->add_option("--search", o.search_trials, "run the official hyper mode first: a TPE search of N full trainings")
      ->transform(whole(1, 1000));
  r->add_option("--runs", o.runs_dir, "folder of the run folders (default runs/reproduce)");
  r->add_option("--results", o.results, "results file (default docs/results.json)");
  r->add_option("--page", o.page, "results page rendered from it (default docs/results.md)");
  r->add_option("--data-dir", o.data_dir, "data sets folder (default: $SEQNET_DATA or ../shared/data)");
  r->add_flag("--resume", o.resume, "continue this row's run folder (a stopped or shortened run)");
  r->add_flag("--overwrite", o.overwrite, "start this row's run folder afresh");
  r->add_flag("--list", a.ro_list, "list every row, its command and whether the results file has it");
  r->add_flag("--render", a.ro_page, "only render the page from the results file");
}

void add_plot_command(CLI::App& app, CliArgs& a) {
  auto* plot = a.plot = app.add_subcommand("plot", "train / valid loss against epoch as an SVG");
  plot->add_option("METRICS", a.plot_in, "metrics.jsonl of a run")->required();
  plot->add_option("-o,--output", a.plot_out, "SVG file to write")->required();
  plot->add_option("--title", a.plot_title, "chart title");
}

void add_verify_command(CLI::App& app, CliArgs& a) {
  auto* verify = a.verify = app.add_subcommand("verify", "check a model against PyTorch reference files");
  verify->add_option("PARAMS", a.v_params, "<tag>.params.safetensors (official state_dict + config)")->required();
  verify->add_option("DATA", a.v_data, "<tag>.data.safetensors (input, outputs, gradients)")->required();
  verify->add_option("--dtype", a.v_dtype, "compute in f32 (default) or f64")->check(CLI::IsMember({"f32", "f64"}));
  verify->add_option("--device", a.v_device, "run the model on cpu (default) or cuda[:N]");
}

void add_generate_command(CLI::App& app, CliArgs& a) {
  GenerateOptions& go = a.go;
  auto* gen = a.gen = app.add_subcommand("generate", "sample from a trained checkpoint: audio → WAV, char / word → "
                                                     "text, music → MIDI + piano-roll SVG");
  gen->add_option("--checkpoint", go.checkpoint, "a best.safetensors / last.safetensors of seqnet train")->required();
  // --samples: up to 2^31 steps (a day of 16 kHz audio is 2^30.4); each is kept in memory
  gen->add_option("--samples", go.samples, "steps to generate (audio samples, symbols, frames)")
      ->transform(whole(1, int64_t(1) << 31));
  gen->add_option("--temperature", go.temperature, "softmax temperature; 0 = greedy")
      ->check(real(0.0, kDoubleMax, "a finite number >= 0"));
  gen->add_option("--seed", go.seed, "sampling seed")->transform(whole_u64());
  gen->add_option("--prime", go.prime, "context: a 16 kHz mono WAV, a text file, or a .mat (its first test sequence)");
  gen->add_option("--batch", go.batch, "independent streams (outputs numbered _0, _1, ...)")
      ->transform(whole(1, kMaxGenerateBatch));
  gen->add_flag("--slow", go.slow, "a full forward over the newest window for every sample instead of the step mode (slow; for checking)");
  gen->add_option("--weights", go.weights,
                  "fast path: weights as f32 (exact, default), f16 (half the memory traffic, ~2x faster at "
                  "batch 1, outputs within ~1e-3 relative) or i8 (int8 rows with a scale per row: a quarter of "
                  "the traffic; see docs/generation.md for what it costs)")
      ->check(CLI::IsMember({"f32", "f16", "i8"}));
  gen->add_option("--step-threads", go.step_threads,
                  "fast path: threads that split each step (default 1; more only pays on an idle machine)")
      ->transform(whole(1, kMaxThreads));
  gen->add_option("--out", go.out, "output file: .wav (audio), .txt (text), .mid (music)")->required();
  gen->add_option("--device", a.g_device,
                  "run on cpu (default) or cuda[:N] (every task: the step modes and the draws run on the device)");
  gen->add_flag("--no-record", a.g_no_record,
                "on a GPU, queue every step's kernels one by one instead of replaying one recorded step (CUDA "
                "graph) per clock phase (for comparison)");
  gen->add_flag("--persistent", a.go.persistent,
                "WaveNet on a GPU, batch <= 8: run the whole loop (every step and draw) as one persistent kernel "
                "instead of one recorded step per sample (docs/generation.md)");
}

void add_demo_command(CLI::App& app, CliArgs& a) {
  a.demo = app.add_subcommand("demo", "the main job: train a TCN on the copy-memory task (no data files needed)");
  a.demo->add_flag("--quick", a.demo_quick, "a shorter run (smoke test)");
  opt_flag(a.demo, "--out", a.demo_out, "output folder (default runs/demo)");
}

int run_info(const CliArgs& a) {
  if (!a.info_task.empty() || !a.info_model.empty()) {
    check(!a.info_task.empty() && !a.info_model.empty(), "info: give both --task and --model");
    return cmd_task_info(a.info_task, a.info_model, a.tmo);
  }
  return cmd_info();
}

// A run folder holds hours of work: starting a new run in it would replace its checkpoints within
// a second. Refuse unless the user says so (--overwrite) or continues it (--resume).
void refuse_to_overwrite_a_run(const std::string& out_dir, bool overwrite) {
  if (overwrite) return;
  for (const char* f : {"last.safetensors", "best.safetensors", "metrics.jsonl"})
    if (path_exists(out_dir + "/" + f))
      fail(fmt::format("train: {} already holds a run ({} exists); continue it with --resume {}, choose another "
                       "--out, or pass --overwrite to start afresh there",
                       out_dir, f, out_dir));
}

int run_train(const CliArgs& a) {
  TrainConfig c;
  if (!a.resume.empty()) {
    c = resolve_resume(a.resume, a.tf);
  } else {
    check(!a.tf.task.empty() && !a.tf.model.empty(), "train: give --task and --model (or --resume DIR)");
    c = resolve(a.tf);
    refuse_to_overwrite_a_run(c.out_dir, a.overwrite);
  }
  TrainOptions to;
  to.resume = !a.resume.empty();
  to.device = parse_device(a.device, "--device");
  device_api(to.device);  // fails at once, saying why, when the device cannot be used
  TrainOutcome o = run_training(c, to);
  (void)o;
  return 0;
}

// Runs the subcommand that was given (require_subcommand(1) makes it exactly one); its exit code.
int run_command(const CliArgs& a) {
  if (*a.info) return run_info(a);
  if (*a.train) return run_train(a);
  if (*a.eval) return cmd_eval(a.ev_ckpt, a.ev_data, a.ev_max, a.ev_json, parse_device(a.device, "--device"));
  if (*a.search) {
    TrainConfig c = resolve(a.sf);
    if (!a.sf.out) c.out_dir = "runs/search_" + c.task + "_" + c.model;
    run_search(c, a.so);
    return 0;
  }
  if (*a.reproduce) {
    if (a.ro_list) {
      fmt::print("{}", list_rows(read_results(a.ro.results)));
      return 0;
    }
    if (a.ro_page) {
      write_results_page(a.ro.results, a.ro.page);
      fmt::print("wrote {} from {}\n", a.ro.page, a.ro.results);
      return 0;
    }
    check(!a.ro.task.empty() && !a.ro.model.empty(), "reproduce: give --task and --model (or --list / --render)");
    check(!(a.ro.resume && a.ro.overwrite), "reproduce: --resume and --overwrite exclude each other");
    run_reproduce(a.ro);
    return 0;
  }
  if (*a.plot) {
    write_loss_plot(a.plot_in, a.plot_out, a.plot_title.empty() ? a.plot_in : a.plot_title);
    fmt::print("wrote {}\n", a.plot_out);
    return 0;
  }
  if (*a.verify) {
    VerifyOptions opt;
    opt.dtype = a.v_dtype == "f64" ? DType::F64 : DType::F32;
    opt.device = parse_device(a.v_device, "--device");
    VerifyResult r = verify_reference(a.v_params, a.v_data, opt);
    print_verify(stdout, r, opt);
    if (r.not_applicable) return 2;
    return r.passed ? 0 : 1;
  }
  if (*a.gen) {
    GenerateOptions go = a.go;
    go.device = parse_device(a.g_device, "--device");
    go.record = !a.g_no_record;
    run_generate(go);
    return 0;
  }
  if (*a.demo) return cmd_demo(a.demo_quick, a.demo_out);
  return 0;
}

}  // namespace

int run_cli(int argc, const char* const* argv) {
  CLI::App app{"seqnet: Seq-U-Net, TCN and WaveNet in C++ — training, evaluation and generation"};
  app.require_subcommand(1);
  app.fallthrough();  // --threads may come after the subcommand too
  std::optional<int> threads;
  app.add_option_function<int>(
         "--threads", [&](const int& n) { threads = n; },
         "CPU threads (default: SEQNET_THREADS, else the cores not busy with other processes)")
      ->transform(whole(1, kMaxThreads));
  CliArgs args;
  add_info_command(app, args);
  add_train_command(app, args);
  add_eval_command(app, args);
  add_search_command(app, args);
  add_plot_command(app, args);
  add_verify_command(app, args);
  add_generate_command(app, args);
  add_demo_command(app, args);
  add_reproduce_command(app, args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (threads) setenv("SEQNET_THREADS", std::to_string(*threads).c_str(), 1);
    if (*args.reproduce) {  // the row records the command exactly as typed
      std::string cmd = "seqnet";
      for (int i = 1; i < argc; ++i) cmd += std::string(" ") + argv[i];
      args.ro.command = cmd;
    }
    init_runtime();
    return run_command(args);
  } catch (const Interrupted& e) {  // Ctrl-C / SIGTERM during training: a clean stop, the shell's exit code
    std::fflush(stdout);
    fmt::print(stderr, "seqnet: {}\n", e.what());
    return 128 + e.signal;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "seqnet: error: {}\n", e.what());
    return 1;
  }
}

}  // namespace seqnet
