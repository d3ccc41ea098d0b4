// train/loop/reproduce.h — one command per number of the paper (`seqnet reproduce`).
//
// The protocol of MODELS.md §10 for one row of the paper's table (§12), with fixed settings: the
// task's official model settings (the README command's), lr 1e-3 (raw audio: 5e-4, its script's
// value), the full epoch count (100; copy memory 20; raw audio 10), the task's learning-rate rule,
// seed 1111, and the checkpoint with the best validation loss evaluated on test. Optionally the
// official hyper mode first (`search_trials` > 0: a TPE search over lr and clip, each trial a full
// training, then the best point retrained; train/loop/search.h).
//
// Each finished run becomes a row of a machine-readable results file (docs/results.json by
// default): metric, parameter count, epochs, best epoch, wall time, machine, threads, seed, the
// exact command, and how it was obtained ("full protocol" or how it was shortened). The results
// page (docs/results.md) is rendered from that file alone, the paper's numbers next to ours,
// with the loss curve of every run (its loss.svg, copied beside the page).
//
//   seqnet reproduce --task nottingham --model tcn              # the full protocol, a row recorded
//   seqnet reproduce --task char --model tcn --epochs 2         # shortened: recorded as such
//   seqnet reproduce --list                                     # every row, its command, its state
//   seqnet reproduce --render                                   # re-render docs/results.md
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "train/loop/config.h"

namespace seqnet {

// One row of the paper's table (MODELS.md §12), also the rows the paper does not report but we run.
struct PaperRow {
  std::string task, model;
  std::string metric;             // key of EvalResult::metrics: nll, bpc, ppl, accuracy, bits_per_sample
  bool lower_is_better = true;
  std::optional<double> paper;    // the paper's number, if reported
  std::string paper_params;       // as the paper lists it ("1.7M"), or "–"
  std::string cpu_time, gpu_time;  // expected time of the full protocol (estimates, see the page)
};
const std::vector<PaperRow>& paper_rows();
const PaperRow& paper_row(const std::string& task, const std::string& model);  // Error lists the rows

struct ReproduceOptions {
  std::string task, model;
  int64_t epochs = 0;          // 0: the protocol's; fewer: a shortened run (recorded as such)
  int64_t max_steps = 0;       // > 0: at most this many steps per epoch (shortened; recorded)
  int64_t max_eval_batches = 0;  // > 0: evaluate on at most this many batches per split (recorded)
  uint64_t seed = 1111;
  int64_t search_trials = 0;   // > 0: the official hyper mode (TPE) first
  std::string runs_dir = "runs/reproduce";      // the run goes to <runs_dir>/<task>-<model>-s<seed>
  std::string results = "docs/results.json";   // the results file (rows replaced by task, model, seed)
  std::string page = "docs/results.md";        // rendered after every recorded row
  std::string data_dir;        // default: the usual data location
  bool resume = false;         // continue the run folder of this row
  bool overwrite = false;      // start the row's run folder afresh
  std::string command;         // the command line as typed (recorded)
  int verbosity = 1;
};

// The training configuration of the protocol for `opt` (before any run).
TrainConfig reproduce_config(const ReproduceOptions& opt);
std::string reproduce_run_dir(const ReproduceOptions& opt);

// Trains (or searches and retrains), records the row, renders the page. Returns the row.
nlohmann::json run_reproduce(const ReproduceOptions& opt);

// The row of a finished run folder (results.json, last.safetensors): what run_reproduce records.
nlohmann::json results_row(const std::string& run_dir, const ReproduceOptions& opt, double wall_seconds);

// The results file: {"rows": [...]} (an absent file reads as no rows; anything else malformed is an
// Error naming the file and the field). Writing replaces the row with the same task, model and seed.
nlohmann::json read_results(const std::string& path);
void record_result(const std::string& path, const nlohmann::json& row);

// docs/results.md from the results file (Markdown; curves linked relative to the page).
std::string render_results_page(const nlohmann::json& results);
void write_results_page(const std::string& results_path, const std::string& page_path);

// Text for `seqnet reproduce --list`: every row, its command and whether the results file has it.
std::string list_rows(const nlohmann::json& results);

}  // namespace seqnet
