// train/loop/search.h — the official `hyper` mode: a search over the learning rate and the clipping
// threshold (MODELS.md §10), each trial a full training judged by its best validation loss, then
// the best setting retrained and evaluated.
//
//   lr   = exp(u), u ~ U(−12, −2)            (≈ 6.1e-6 … 0.135; hyperopt's loguniform)
//   clip = none (p = ½)  or  U(0.01, 1)      (hyperopt's choice between −1 and a uniform)
//
// The sampler is the Tree-structured Parzen Estimator (Bergstra et al. 2011) as hyperopt's tpe.py
// implements it, with hyperopt's defaults: the first `startup_trials` (20) points are drawn from
// the prior above; after that each point is the best of `candidates` (24) draws from l(x), the
// density of the good trials (the ⌈γ·√n⌉ best, γ = 0.25), ranked by l(x) / g(x), g the density of
// the others (search.cpp walks through the steps). With the official 20 trials and 20 start-up
// trials TPE never leaves the prior: it is then exactly the random search; give more trials
// (or fewer --startup-trials) to let TPE work. `Sampler::Random` draws every trial from the prior.
//
// Deterministic: suggestion i depends only on (seed, i, the points and results of trials 0..i−1),
// drawn from seqnet's counter-based Philox generator. The trials file <out>/search.json is the
// whole state: it is rewritten after each trial, and a search resumed from it (resume = true)
// suggests exactly what an uninterrupted one would. A trial that diverges (NaN / inf loss) is
// recorded as failed (TPE treats its loss as +inf, as hyperopt does); a trial stopped by Ctrl-C is
// not recorded, and runs again (continuing its own checkpoint when it has one) on resume.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "train/loop/config.h"

namespace seqnet {

enum class Sampler { Tpe, Random };
const char* sampler_name(Sampler s);  // "tpe", "random"

struct TpeOptions {  // hyperopt's defaults
  int64_t startup_trials = 20;  // trials drawn from the prior before TPE starts (n_startup_jobs)
  double gamma = 0.25;          // the good group is the ⌈γ·√n⌉ best of n trials (at most 25)
  int64_t candidates = 24;      // draws from l(x) per suggestion (n_EI_candidates)
  double prior_weight = 1.0;    // weight of the prior in each Parzen mixture and categorical count
};

struct SearchOptions {
  int64_t trials = 20;
  int64_t trial_epochs = 0;  // > 0: epochs per trial (the final retraining uses cfg.epochs)
  uint64_t seed = 0;         // of the draws; 0: cfg.seed
  Sampler sampler = Sampler::Tpe;
  TpeOptions tpe;
  bool resume = false;     // continue the search recorded in <out>/search.json
  bool overwrite = false;  // start afresh although <out>/search.json exists
  int verbosity = 1;
  // Called after each optimiser step of a trial's training (tests use it to interrupt a trial).
  std::function<void(int64_t trial, int64_t epoch, int64_t step)> after_step;
};
// Throws Error naming the flag of the first setting out of range.
void validate(const SearchOptions& opt);

struct SearchPoint {
  double lr, clip;  // clip ≤ 0: none
};
// The i-th draw of the prior for `seed` (deterministic, independent of other draws).
SearchPoint search_draw(uint64_t seed, int64_t i);

struct SearchTrial {
  SearchPoint point;
  std::optional<double> loss;  // the objective (best validation loss); none: the trial failed
};

// The point of trial i = history.size(), from the trials before it.
SearchPoint search_suggest(const SearchOptions& opt, uint64_t seed, std::span<const SearchTrial> history);

// The objective of one trial: its loss, or none when it failed. It may throw (Interrupted stops
// the search; that trial is not recorded).
using SearchObjective = std::function<std::optional<double>(const SearchPoint& p, int64_t trial)>;
// The search loop: appends trials history.size() .. opt.trials − 1 to `history`, each suggested
// from those before it, calling `recorded(history)` after each one.
void search_minimize(const SearchOptions& opt, uint64_t seed, std::vector<SearchTrial>& history,
                     const SearchObjective& objective,
                     const std::function<void(const std::vector<SearchTrial>&)>& recorded = {});

// Runs the search under cfg.out_dir (trial_000/, ..., final/) with training as the objective and
// returns the search.json content.
nlohmann::json run_search(const TrainConfig& cfg, const SearchOptions& opt);

}  // namespace seqnet
