// train/loop/search.h — the official `hyper` mode: a random search over the learning rate and the
// clipping threshold (MODELS.md §10), each trial a full training judged by its best validation
// loss, then the best setting retrained and evaluated.
//
//   lr   = exp(u), u ~ U(−12, −2)            (≈ 6.1e-6 … 0.135)
//   clip = none (p = ½)  or  U(0.01, 1)      (hyperopt's choice between −1 and a uniform)
//
// The official code uses hyperopt's TPE; seqnet draws the same space at random (TPE's first
// trials are random draws too). A trial that diverges (NaN / inf loss) is recorded as failed and
// the search goes on. Trials are written to <out>/search.json after each one.
#pragma once
#include <nlohmann/json.hpp>

#include "train/loop/config.h"

namespace seqnet {

struct SearchOptions {
  int64_t trials = 20;
  int64_t trial_epochs = 0;  // > 0: epochs per trial (the final retraining uses cfg.epochs)
  uint64_t seed = 0;         // of the draws; 0: cfg.seed
  int verbosity = 1;
};

struct SearchPoint {
  double lr, clip;  // clip ≤ 0: none
};
// The i-th draw of the search space for `seed` (deterministic, independent of other draws).
SearchPoint search_draw(uint64_t seed, int64_t i);

// Runs the search under cfg.out_dir (trial_000/, ..., final/) and returns the search.json content.
nlohmann::json run_search(const TrainConfig& cfg, const SearchOptions& opt);

}  // namespace seqnet
