// train/loop/reproduce.cpp — `seqnet reproduce`: the protocol per row, the results file, the page.
#include "train/loop/reproduce.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json.h"
#include "core/paths.h"
#include "core/runtime.h"
#include "train/loop/checkpoint.h"
#include "train/loop/interrupt.h"
#include "train/loop/search.h"
#include "train/loop/trainer.h"

namespace fs = std::filesystem;

namespace seqnet {

namespace {

constexpr size_t kMaxResultsBytes = 4u << 20;  // the results file: a few hundred bytes per row

const std::vector<PaperRow>& rows_table() {
  // Paper values and parameter counts: MODELS.md §11–12. Time estimates: the full protocol on the
  // 2-core development machine (2 threads) from measured epoch times where a run exists (the
  // page shows the measured figure then), else from bench/train step times × steps per epoch;
  // GPU: from an epoch measured on an H200 (docs/cuda.md) where there is one, else "–".
  static const std::vector<PaperRow> rows = {
      {"jsb", "tcn", "nll", true, 8.154, "534K", "≈ 20 min", "–"},
      {"jsb", "sequnet", "nll", true, 8.173, "522K", "≈ 15 min", "–"},
      {"nottingham", "tcn", "nll", true, 2.783, "1.7M", "≈ 2 h", "–"},
      {"nottingham", "sequnet", "nll", true, 2.97, "1.7M", "≈ 1.5 h", "–"},
      {"muse", "tcn", "nll", true, std::nullopt, "–", "≈ 4 h", "–"},
      {"muse", "sequnet", "nll", true, 6.96, "–", "≈ 3 h", "–"},
      {"piano", "tcn", "nll", true, std::nullopt, "–", "≈ 1 h", "–"},
      {"piano", "sequnet", "nll", true, 7.93, "–", "≈ 45 min", "–"},
      {"char", "tcn", "bpc", true, 1.31, "5.9M", "≈ 47 h",
       "≈ 30 min on an H200 (one epoch measured: 18.3 s with its evaluation; docs/cuda.md)"},
      {"char", "sequnet", "bpc", true, 1.30, "5.9M", "≈ 24 h", "–"},
      {"word", "tcn", "ppl", true, 108.47, "14.7M", "≈ 48 h",
       "≈ 27 min on an H200 (one epoch measured: 16.2 s with its evaluation; docs/cuda.md)"},
      {"word", "sequnet", "ppl", true, 107.95, "14.9M", "≈ 22 h", "–"},
      {"copy", "tcn", "accuracy", false, std::nullopt, "–", "≈ 15 min", "–"},
      {"copy", "sequnet", "accuracy", false, std::nullopt, "–", "≈ 40 min", "–"},
      {"copy", "sequnet_res", "accuracy", false, std::nullopt, "–", "≈ 1 h", "–"},
      {"audio", "wavenet", "bits_per_sample", true, std::nullopt, "–", "days", "–"},
      {"audio", "sequnet_res", "bits_per_sample", true, std::nullopt, "–", "days", "–"},
  };
  return rows;
}

std::string row_key(const nlohmann::json& r) {
  return fmt::format("{}/{}/{}", r.at("task").get<std::string>(), r.at("model").get<std::string>(),
                     r.at("seed").get<uint64_t>());
}

std::string machine_name() {
  std::string model = "unknown CPU";
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) model = line.substr(colon + 2);
      break;
    }
  return fmt::format("{}, {} cores", model, std::thread::hardware_concurrency());
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

int64_t protocol_epochs(const std::string& task) {
  if (task == "copy") return 20;
  if (task == "audio") return 10;
  return 100;
}

std::string fmt_value(double v, const std::string& metric) {
  if (metric == "accuracy") return fmt::format("{:.2f} %", 100 * v);
  if (metric == "ppl") return fmt::format("{:.2f}", v);
  return fmt::format("{:.3f}", v);
}

std::string fmt_duration(double s) {
  if (s < 90) return fmt::format("{:.0f} s", s);
  if (s < 5400) return fmt::format("{:.0f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

std::string metric_label(const std::string& metric) {
  static const std::map<std::string, std::string> m = {{"nll", "test NLL (nats/frame)"},
                                                       {"bpc", "test BPC"},
                                                       {"ppl", "test perplexity"},
                                                       {"accuracy", "test accuracy"},
                                                       {"bits_per_sample", "test bits/sample"}};
  auto it = m.find(metric);
  return it == m.end() ? metric : it->second;
}

std::string command_for(const PaperRow& r) {
  return fmt::format("seqnet reproduce --task {} --model {}", r.task, r.model);
}

}  // namespace

const std::vector<PaperRow>& paper_rows() { return rows_table(); }

const PaperRow& paper_row(const std::string& task, const std::string& model) {
  for (const PaperRow& r : rows_table())
    if (r.task == task && r.model == model) return r;
  std::vector<std::string> names;
  for (const PaperRow& r : rows_table()) names.push_back(r.task + "/" + r.model);
  fail(fmt::format("reproduce: no row for --task {} --model {}; the rows are: {}", task, model, fmt::join(names, ", ")));
}

std::string reproduce_run_dir(const ReproduceOptions& opt) {
  return fmt::format("{}/{}-{}-s{}", opt.runs_dir, opt.task, opt.model, opt.seed);
}

TrainConfig reproduce_config(const ReproduceOptions& opt) {
  (void)paper_row(opt.task, opt.model);
  TrainConfig c = TrainConfig::defaults(opt.task, opt.model);  // the README's model settings
  // lr 1e-3 unless the task's script says otherwise (raw audio: 5e-4; MODELS.md §10.5).
  if (opt.task != "audio") c.lr = 1e-3;
  const int64_t full = protocol_epochs(opt.task);
  check(opt.epochs >= 0 && opt.epochs <= full, "reproduce: --epochs must be from 1 to the protocol's {} (0: all), got {}",
        full, opt.epochs);
  c.epochs = opt.epochs > 0 ? opt.epochs : full;
  check(opt.max_steps >= 0, "reproduce: --max-steps must be >= 0, got {}", opt.max_steps);
  c.max_steps = opt.max_steps;
  check(opt.max_eval_batches >= 0, "reproduce: --max-eval-batches must be >= 0, got {}", opt.max_eval_batches);
  c.max_eval_batches = opt.max_eval_batches;
  c.seed = opt.seed;
  if (!opt.data_dir.empty()) c.data_dir = opt.data_dir;
  c.out_dir = reproduce_run_dir(opt);
  c.validate();
  return c;
}

nlohmann::json read_results(const std::string& path) {
  if (!path_exists(path)) return {{"rows", nlohmann::json::array()}};
  check_regular_file(path, "reproduce: results file");
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  check(!ec && size <= kMaxResultsBytes, "{}: results file of {} bytes (at most {} expected)", path,
        ec ? 0 : size, kMaxResultsBytes);
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::json j = parse_json<nlohmann::json>(ss.str(), path);
  check(j.is_object() && j.contains("rows") && j["rows"].is_array(), "{}: a results file is an object with a 'rows' array",
        path);
  for (const auto& r : j["rows"]) {
    check(r.is_object(), "{}: every entry of 'rows' must be an object, got {}", path, json_excerpt(r));
    const std::string what = fmt::format("{}: row", path);
    (void)json_field<std::string>(r, "task", what), (void)json_field<std::string>(r, "model", what);
    (void)json_field<uint64_t>(r, "seed", what);
    const double v = json_field<double>(r, "value", what);
    check(std::isfinite(v), "{} {}: 'value' is not finite", what, row_key(r));
  }
  return j;
}

// Two rows finishing at once (runs side by side) must not lose one of them: the read-modify-write of
// the results file holds an exclusive lock on <path>.lock.
class ResultsLock {
 public:
  explicit ResultsLock(const std::string& path) : fd_(::open((path + ".lock").c_str(), O_CREAT | O_RDWR, 0644)) {
    check(fd_ >= 0, "reproduce: cannot create the lock file {}.lock", path);
    ::flock(fd_, LOCK_EX);
  }
  ~ResultsLock() { ::flock(fd_, LOCK_UN), ::close(fd_); }
  ResultsLock(const ResultsLock&) = delete;
  ResultsLock& operator=(const ResultsLock&) = delete;

 private:
  int fd_;
};

void record_result(const std::string& path, const nlohmann::json& row) {
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  ResultsLock lock(path);
  nlohmann::json j = read_results(path);
  auto& rows = j["rows"];
  const std::string key = row_key(row);
  bool replaced = false;
  for (auto& r : rows)
    if (row_key(r) == key) r = row, replaced = true;
  if (!replaced) rows.push_back(row);
  // A stable order: the paper's table order, then seed.
  auto rank = [](const nlohmann::json& r) {
    const auto& t = rows_table();
    for (size_t i = 0; i < t.size(); ++i)
      if (t[i].task == r["task"] && t[i].model == r["model"]) return i;
    return t.size();
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const nlohmann::json& a, const nlohmann::json& b) {
    return std::pair(rank(a), a["seed"].get<uint64_t>()) < std::pair(rank(b), b["seed"].get<uint64_t>());
  });
  write_file_atomic(path, j.dump(2) + "\n", "reproduce");
}

nlohmann::json results_row(const std::string& run_dir, const ReproduceOptions& opt, double wall_seconds) {
  const PaperRow& pr = paper_row(opt.task, opt.model);
  const std::string res_path = run_dir + "/results.json";
  check_regular_file(res_path, "reproduce: the run's results");
  std::ifstream f(res_path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const nlohmann::json res = parse_json<nlohmann::json>(ss.str(), res_path);
  const Checkpoint last = load_checkpoint(run_dir + "/last.safetensors");
  const TrainConfig& c = last.config;

  auto metric = [&](const char* split) {
    const nlohmann::json& s = res.at(split);
    check(s.contains(pr.metric) && s[pr.metric].is_number(), "{}: '{}' has no '{}'", res_path, split, pr.metric);
    return s[pr.metric].get<double>();
  };
  // Epoch times and the copy task's first epoch above 99 % from the checkpoint's own history.
  std::vector<double> epoch_seconds;
  double training_seconds = 0;
  std::optional<int64_t> first_over_99;
  for (const auto& rec : last.state.history) {
    if (rec.contains("seconds") && rec["seconds"].is_number()) {
      epoch_seconds.push_back(rec["seconds"].get<double>());
      training_seconds += rec["seconds"].get<double>();
    }
    if (pr.metric == "accuracy" && !first_over_99 && rec.contains("valid") && rec["valid"].contains("accuracy") &&
        rec["valid"]["accuracy"].is_number() && rec["valid"]["accuracy"].get<double>() > 0.99)
      first_over_99 = rec["epoch"].get<int64_t>();
  }
  std::sort(epoch_seconds.begin(), epoch_seconds.end());
  const double median_epoch = epoch_seconds.empty() ? 0 : epoch_seconds[epoch_seconds.size() / 2];

  const int64_t full = protocol_epochs(opt.task);
  std::string protocol = "full protocol";
  if (c.epochs < full || c.max_steps > 0 || c.max_eval_batches > 0) {
    protocol = fmt::format("shortened: {} of {} epochs", c.epochs, full);
    if (c.max_steps > 0) protocol += fmt::format(", at most {} steps each", c.max_steps);
    if (c.max_eval_batches > 0) protocol += fmt::format(", evaluated on at most {} batches per split", c.max_eval_batches);
  }
  if (opt.search_trials > 0) protocol += fmt::format("; hyper mode: TPE search of {} trials first", opt.search_trials);
  const std::string id = fmt::format("{}-{}-s{}", opt.task, opt.model, opt.seed);

  nlohmann::json row = {
      {"task", opt.task},
      {"model", opt.model},
      {"seed", opt.seed},
      {"metric", pr.metric},
      {"value", metric("test")},
      {"valid_value", metric("valid")},
      {"train_value", metric("train")},
      {"paper", pr.paper ? nlohmann::json(*pr.paper) : nlohmann::json(nullptr)},
      {"parameters", res.at("parameters")},
      {"epochs", last.state.epoch},
      {"epochs_protocol", full},
      {"max_steps", c.max_steps},
      {"max_eval_batches", c.max_eval_batches},
      {"best_epoch", res.at("best_epoch")},
      {"lr", c.lr},
      {"clip", c.clip},
      {"protocol", protocol},
      {"search_trials", opt.search_trials},
      {"training_seconds", training_seconds},
      {"seconds_per_epoch", median_epoch},
      {"wall_seconds", wall_seconds},
      {"machine", machine_name()},
      {"threads", num_threads()},
      {"device", "cpu"},
      {"command", opt.command.empty() ? command_for(pr) : opt.command},
      {"date", now_utc()},
      {"curve", fmt::format("results/{}.svg", id)},
      {"run_dir", run_dir},
  };
  if (pr.metric == "accuracy") row["first_epoch_over_99"] = first_over_99 ? nlohmann::json(*first_over_99) : nullptr;
  return row;
}

nlohmann::json run_reproduce(const ReproduceOptions& opt) {
  TrainConfig c = reproduce_config(opt);
  const std::string dir = reproduce_run_dir(opt);
  const auto t0 = std::chrono::steady_clock::now();
  std::string final_dir = dir;
  if (opt.search_trials > 0) {
    SearchOptions so;
    so.trials = opt.search_trials;
    so.resume = opt.resume;
    so.overwrite = opt.overwrite;
    so.verbosity = opt.verbosity;
    run_search(c, so);
    final_dir = dir + "/final";
  } else {
    const bool has_run = path_exists(dir + "/last.safetensors");
    if (opt.resume) {
      check(has_run, "reproduce --resume: {} holds no run to continue (no last.safetensors)", dir);
      const TrainConfig was = load_checkpoint(dir + "/last.safetensors").config;
      // Only the length may change (e.g. a shortened run continued to the full protocol).
      check(was.task == c.task && was.model == c.model && was.lr == c.lr && was.seed == c.seed &&
                was.clip == c.clip && was.batch_size == c.batch_size,
            "reproduce --resume: {} was started with other settings (task {}, model {}, lr {}, clip {}, seed {})", dir,
            was.task, was.model, was.lr, was.clip, was.seed);
    } else {
      check(!has_run || opt.overwrite,
            "reproduce: {} already holds a run of this row; continue it with --resume, or pass --overwrite to start "
            "afresh",
            dir);
    }
    TrainOptions to;
    to.resume = opt.resume;
    to.verbosity = opt.verbosity;
    try {
      run_training(c, to);
    } catch (const Interrupted& e) {  // continue through reproduce, so that the row gets recorded
      throw Interrupted(fmt::format("{}\nTo finish this row and record it: seqnet reproduce --task {} --model {}{} --resume",
                                    e.what(), opt.task, opt.model,
                                    opt.seed == 1111 ? "" : fmt::format(" --seed {}", opt.seed)),
                        e.signal);
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json row = results_row(final_dir, opt, wall);
  // The loss curve goes beside the page.
  const fs::path page_dir = fs::path(opt.page).parent_path();
  const fs::path svg = page_dir / row["curve"].get<std::string>();
  if (path_exists(final_dir + "/loss.svg")) {
    fs::create_directories(svg.parent_path());
    std::ifstream in(final_dir + "/loss.svg", std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    write_file_atomic(svg.string(), ss.str(), "reproduce");
  } else {
    row["curve"] = nullptr;
  }
  record_result(opt.results, row);
  write_results_page(opt.results, opt.page);
  if (opt.verbosity >= 1)
    fmt::print("reproduce: {} / {}: test {} {} (paper {}); recorded in {}, page {}\n", opt.task, opt.model,
               row["metric"].get<std::string>(), fmt_value(row["value"].get<double>(), row["metric"]),
               row["paper"].is_null() ? "–" : fmt_value(row["paper"].get<double>(), row["metric"]), opt.results,
               opt.page);
  return row;
}

std::string render_results_page(const nlohmann::json& results) {
  std::string s;
  s += "# Results: the paper's numbers and ours\n\n";
  s += "<!-- Generated by `seqnet reproduce --render` from docs/results.json; do not edit by hand. -->\n\n";
  s += "Every number below comes from one command, `seqnet reproduce --task TASK --model MODEL`, which runs the\n"
       "protocol of MODELS.md §10 with fixed settings — the README's model settings, Adam with lr 1e-3\n"
       "(raw audio 5e-4), 100 epochs (copy memory 20, raw audio 10), the task's learning-rate halving rule,\n"
       "seed 1111 — and evaluates the checkpoint with the best validation loss on the test set. It appends a\n"
       "row to `docs/results.json` and renders this page from that file (`seqnet reproduce --render` renders it\n"
       "again). `--search N` runs the official hyper mode (a TPE search over lr and clip, N full trainings)\n"
       "first; `--epochs E` / `--max-steps S` shorten a run, and the page says so. The paper's values are\n"
       "those MODELS.md §12 collected (secondary sources; the paper used the hyper mode).\n\n";

  std::map<std::string, std::vector<const nlohmann::json*>> by_row;
  for (const auto& r : results["rows"]) by_row[r["task"].get<std::string>() + "/" + r["model"].get<std::string>()].push_back(&r);

  s += "| task | model | metric | paper | ours | Δ | parameters (paper / ours) | how obtained | best epoch | time |\n";
  s += "|---|---|---|---:|---:|---:|---|---|---:|---|\n";
  std::vector<const PaperRow*> not_run;
  for (const PaperRow& pr : rows_table()) {
    const auto it = by_row.find(pr.task + "/" + pr.model);
    const std::string paper = pr.paper ? fmt_value(*pr.paper, pr.metric) : "–";
    if (it == by_row.end()) {
      not_run.push_back(&pr);
      s += fmt::format("| {} | {} | {} | {} | not run | | {} / – | — | | expected {} (CPU) |\n", pr.task, pr.model,
                       metric_label(pr.metric), paper, pr.paper_params, pr.cpu_time);
      continue;
    }
    bool full = false;  // a row with only shortened runs stays in the "not run in full" table
    for (const nlohmann::json* r : it->second) full = full || (*r)["protocol"].get<std::string>() == "full protocol";
    if (!full) not_run.push_back(&pr);
    for (const nlohmann::json* r : it->second) {
      const double v = (*r)["value"].get<double>();
      std::string delta;
      if (pr.paper && pr.metric != "accuracy") delta = fmt::format("{:+.1f} %", 100 * (v - *pr.paper) / *pr.paper);
      std::string how = (*r)["protocol"].get<std::string>();
      if ((*r)["seed"].get<uint64_t>() != 1111) how += fmt::format(", seed {}", (*r)["seed"].get<uint64_t>());
      if (r->contains("first_epoch_over_99"))
        how += (*r)["first_epoch_over_99"].is_null()
                   ? "; never above 99 %"
                   : fmt::format("; above 99 % from epoch {}", (*r)["first_epoch_over_99"].get<int64_t>());
      s += fmt::format("| {} | {} | {} | {} | {} | {} | {} / {} | {} | {}/{} | {} ({} thread{}) |\n", pr.task, pr.model,
                       metric_label(pr.metric), paper, fmt_value(v, pr.metric), delta, pr.paper_params,
                       (*r)["parameters"].get<int64_t>(), how, (*r)["best_epoch"].get<int64_t>(),
                       (*r)["epochs"].get<int64_t>(), fmt_duration((*r)["training_seconds"].get<double>()),
                       (*r)["threads"].get<int64_t>(), (*r)["threads"].get<int64_t>() == 1 ? "" : "s");
    }
  }
  s += "\nΔ = (ours − paper) / paper; for NLL, BPC and perplexity lower is better. Time = the training epochs'\n"
       "wall time summed (evaluation included, final test evaluation excluded), on the machine and threads of\n"
       "the run; two runs side by side on two cores take one thread each.\n";

  s += "\nNotes on the protocol:\n\n"
       "- Music: lr 1e-3 and no gradient clipping for every music row (the script's default lr is 1e-2; the\n"
       "  paper's numbers came from the hyper mode, which searches lr and clip). Training prints and logs every\n"
       "  step whose loss or gradient norm jumps far above the recent steps' (`\"type\": \"spike\"` records in the\n"
       "  run's metrics.jsonl), with its step, sequence and gradient norm. Nottingham Seq-U-Net runs blow up at\n"
       "  these settings (the recorded run: epoch 9, loss 2.6e4 per frame, gradient norm 3.3e8), and so does the\n"
       "  official PyTorch code under the same settings (epoch 11: loss 802 per frame, gradient norm 6.3e6;\n"
       "  docs/measurements/nottingham-sequnet-official-2026-11-30/): the settings cause them, not seqnet; the\n"
       "  rows keep the protocol unchanged. A clip of 0.5 does not prevent the spikes (a step's loss comes before\n"
       "  its update: 9 286 per frame at epoch 3) but contains them: validation fell after every spike, 3.050 after 15 "
       "epochs\n"
       "  against 3.294 unclipped (docs/measurements/nottingham-sequnet-clip-2026-12-01/).\n"
       "- Nottingham TCN (+6.7 %): the official PyTorch code under the same settings (lr 1e-3, no clipping, seed\n"
       "  1111) misses the paper's 2.783 too: best validation 2.900 at epoch 32, test 2.935 (+5.5 %); a second\n"
       "  seqnet seed gives 2.996 / 3.010, so the three runs differ by about the spread of two seeds\n"
       "  (docs/measurements/nottingham-tcn-official-2026-12-02/). The gap comes from the settings: the paper's\n"
       "  number came from the hyper mode's lr and clip search (`--search 20`, about 14 h on one thread).\n"
       "- MuseData Seq-U-Net (+2.9 %): its validation loss was still falling when the 100 epochs ended (7.130 at\n"
       "  epoch 75, 7.089 at epoch 99, the best), after two learning-rate halvings; the fixed 100-epoch protocol\n"
       "  stops it before it converges, while the paper's number came from the hyper mode's search.\n"
       "- Piano-midi.de Seq-U-Net (−2.9 %, lower than the paper's): the official README gives no Piano command, so\n"
       "  these rows use the Nottingham / MuseData settings (MODELS.md §10.2); with 87 training pieces the best\n"
       "  epoch came early (32 in the 2026-11-30 run, 52 in the 2026-12-03 re-run) and the paper's setting may\n"
       "  differ. Not investigated further.\n"
       "- PTB characters: the alphabet has **49 symbols** — the official loader turns every newline into the\n"
       "  five characters `<eos>` — so the char models have 5 923 249 (TCN) and 5 905 139 (Seq-U-Net)\n"
       "  parameters (MODELS.md §11); `seqnet info --task char --model tcn` (or `sequnet`) and training agree.\n"
       "- PTB shortened runs (1 epoch of each Seq-U-Net, 250 steps of each TCN, one thread each): they give\n"
       "  the start of the curve, not the paper's number. They shared the 2-core machine with other runs, a CI\n"
       "  check and builds (the word TCN was also paused for about 10 minutes while benchmarks ran), so their\n"
       "  wall times overstate a quiet machine's; the estimates below use bench/train's step times instead.\n"
       "- Copy memory: accuracy on the 10 recalled digits, and the first epoch whose validation accuracy\n"
       "  exceeds 99 %. Both Seq-U-Nets stay at chance (1/8: the digits are 1–8; loss ln 8) for all 20 epochs,\n"
       "  and so does the official PyTorch code under the same settings\n"
       "  (docs/measurements/copy-sequnet-official-2026-12-01/): the models, not seqnet.\n"
       "- Dates: a row is exact for the code of its date. Since 2026-12-01 the code has changed what a run\n"
       "  draws, not the protocol (among other changes, the TCN heads compute only the steps the loss reads,\n"
       "  6469fef, so their dropout masks cover smaller tensors). The same command gives another draw:\n"
       "  re-run on 2026-12-03, JSB TCN 8.200 → 8.167, JSB Seq-U-Net 8.185 → 8.178, copy Seq-U-Net\n"
       "  12.57 % → 12.64 % (still chance), Piano-midi.de Seq-U-Net 7.764 → 7.698. The rows dated before\n"
       "  2026-12-02 have not been re-run. The 2026-12-03 runs shared the 2-core machine with builds, test\n"
       "  runs and CI checks, so their wall times overstate a quiet machine's (JSB: 2 min before, 11–12 min\n"
       "  then; Piano-midi.de Seq-U-Net: 16 min before, 1.6 h then).\n";

  if (!not_run.empty()) {
    s += "\n## Rows not run in full yet\n\nNot run, or only shortened (the table above has the shortened run).\n\n"
         "| row | command | expected time, 2-core CPU | GPU |\n|---|---|---|---|\n";
    for (const PaperRow* pr : not_run)
      s += fmt::format(
          "| {} / {} | `{}` | {} | {} |\n", pr->task, pr->model, command_for(*pr), pr->cpu_time,
          pr->gpu_time == "–"
              ? "not measured: `--device cuda` trains on a GPU (docs/cuda.md), but this row has not been timed there"
              : pr->gpu_time);
    s += "\nCPU estimates: bench/train step times × steps per epoch × epochs, 2 threads, plus evaluation (PTB: "
         "1 013 char and 1 289 word steps per epoch; char TCN 1.67 s, char Seq-U-Net 0.85 s, word TCN 1.33 s, "
         "word Seq-U-Net 0.62 s per step, docs/performance.md).\n";
  }

  s += "\n## Runs\n";
  for (const auto& r : results["rows"]) {
    const PaperRow& pr = paper_row(r["task"], r["model"]);
    s += fmt::format("\n### {} / {} (seed {})\n\n", pr.task, pr.model, r["seed"].get<uint64_t>());
    s += fmt::format("- {}: **{}** (valid {}, train {}); paper {}\n", metric_label(pr.metric),
                     fmt_value(r["value"].get<double>(), pr.metric), fmt_value(r["valid_value"].get<double>(), pr.metric),
                     fmt_value(r["train_value"].get<double>(), pr.metric),
                     pr.paper ? fmt_value(*pr.paper, pr.metric) : "not reported");
    s += fmt::format("- {}; {} epochs, best {}; lr {:g}, clip {}; {} parameters\n", r["protocol"].get<std::string>(),
                     r["epochs"].get<int64_t>(), r["best_epoch"].get<int64_t>(), r["lr"].get<double>(),
                     r["clip"].get<double>() > 0 ? fmt::format("{:g}", r["clip"].get<double>()) : "none",
                     r["parameters"].get<int64_t>());
    s += fmt::format("- {} of training ({} per epoch, median), {} thread(s) on {}, {}\n",
                     fmt_duration(r["training_seconds"].get<double>()),
                     fmt_duration(r["seconds_per_epoch"].get<double>()), r["threads"].get<int64_t>(),
                     r["machine"].get<std::string>(), r["date"].get<std::string>());
    s += fmt::format("- command: `{}`\n", r["command"].get<std::string>());
    if (r.contains("curve") && r["curve"].is_string())
      s += fmt::format("\n![loss curve of {} / {}]({})\n", pr.task, pr.model, r["curve"].get<std::string>());
  }
  return s;
}

void write_results_page(const std::string& results_path, const std::string& page_path) {
  const std::string page = render_results_page(read_results(results_path));
  const fs::path parent = fs::path(page_path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  write_file_atomic(page_path, page, "reproduce");
}

std::string list_rows(const nlohmann::json& results) {
  std::string s;
  for (const PaperRow& pr : rows_table()) {
    int n = 0;
    std::string got;
    for (const auto& r : results["rows"])
      if (r["task"] == pr.task && r["model"] == pr.model)
        ++n, got += fmt::format(" {}{}", fmt_value(r["value"].get<double>(), pr.metric),
                                r["protocol"].get<std::string>() == "full protocol" ? "" : " (shortened)");
    s += fmt::format("{:<56} {:<16} {}\n", command_for(pr), pr.metric,
                     n ? "done:" + got : fmt::format("not run (expected {} on a 2-core CPU)", pr.cpu_time));
  }
  return s;
}

}  // namespace seqnet
