#include "train/loop/search.h"

#include <cmath>
#include <filesystem>

#include "core/atomic_file.h"
#include "train/loop/trainer.h"

namespace seqnet {

SearchPoint search_draw(uint64_t seed, int64_t i) {
  Generator g(seed);
  g.set_state({seed, uint64_t(i) * 4});  // draw i owns counter blocks 4i .. 4i+3
  double u[3];
  g.uniform(u, 3, 0.0, 1.0);
  SearchPoint p;
  p.lr = std::exp(-12.0 + 10.0 * u[0]);
  p.clip = u[1] < 0.5 ? -1.0 : 0.01 + 0.99 * u[2];
  return p;
}

namespace {
void write_json(const std::string& path, const nlohmann::json& j) { write_file_atomic(path, j.dump(2) + "\n", "search"); }
std::string clip_str(double c) { return c > 0 ? fmt::format("{:.3f}", c) : "none"; }
}  // namespace

nlohmann::json run_search(const TrainConfig& base, const SearchOptions& opt) {
  check(opt.trials >= 1, "search: --trials must be >= 1, got {}", opt.trials);
  std::filesystem::create_directories(base.out_dir);
  const uint64_t seed = opt.seed ? opt.seed : base.seed;
  const std::string json_path = base.out_dir + "/search.json";
  nlohmann::json doc = {{"task", base.task}, {"model", base.model}, {"trials", nlohmann::json::array()},
                        {"space", "lr = exp(U(-12, -2)); clip = none | U(0.01, 1)"}, {"method", "random"},
                        {"seed", seed}};
  double best = std::numeric_limits<double>::infinity();
  int64_t best_i = -1;
  for (int64_t i = 0; i < opt.trials; ++i) {
    const SearchPoint p = search_draw(seed, i);
    TrainConfig c = base;
    c.lr = p.lr, c.clip = p.clip;
    if (opt.trial_epochs > 0) c.epochs = opt.trial_epochs;
    c.out_dir = fmt::format("{}/trial_{:03d}", base.out_dir, i);
    TrainOptions to;
    to.final_eval = false;
    to.verbosity = 0;
    nlohmann::json rec = {{"trial", i}, {"lr", p.lr}, {"clip", p.clip > 0 ? nlohmann::json(p.clip) : nlohmann::json()},
                          {"epochs", c.epochs}};
    try {
      TrainOutcome o = run_training(c, to);
      rec["status"] = "ok";
      rec["best_valid"] = o.best_valid;
      rec["best_epoch"] = o.best_epoch;
      rec["seconds"] = o.seconds;
      if (o.best_valid < best) best = o.best_valid, best_i = i;
      if (opt.verbosity >= 1)
        fmt::print("trial {:3d}/{}: lr {:.3e} clip {} → best valid {:.4f} (epoch {}) in {:.1f} s{}\n", i + 1,
                   opt.trials, p.lr, clip_str(p.clip), o.best_valid, o.best_epoch, o.seconds,
                   best_i == i ? "  ← best so far" : "");
    } catch (const TrainingDiverged& e) {
      rec["status"] = "failed";
      rec["error"] = e.what();
      if (opt.verbosity >= 1)
        fmt::print("trial {:3d}/{}: lr {:.3e} clip {} → failed (diverged at epoch {}, step {})\n", i + 1, opt.trials,
                   p.lr, clip_str(p.clip), e.epoch, e.step);
    }
    std::fflush(stdout);
    doc["trials"].push_back(rec);
    write_json(json_path, doc);
  }
  check(best_i >= 0, "search: all {} trials failed (diverged); see {}", opt.trials, json_path);
  const SearchPoint bp = search_draw(seed, best_i);
  doc["best"] = {{"trial", best_i}, {"lr", bp.lr}, {"clip", bp.clip > 0 ? nlohmann::json(bp.clip) : nlohmann::json()},
                 {"best_valid", best}};
  write_json(json_path, doc);
  TrainConfig c = base;
  c.lr = bp.lr, c.clip = bp.clip;
  c.out_dir = base.out_dir + "/final";
  if (opt.verbosity >= 1)
    fmt::print("retraining the best setting (trial {}: lr {:.3e}, clip {}) for {} epochs into {}\n", best_i + 1, bp.lr,
               clip_str(bp.clip), c.epochs, c.out_dir);
  TrainOptions to;
  to.verbosity = opt.verbosity;
  TrainOutcome o = run_training(c, to);
  doc["final"] = {{"out_dir", c.out_dir}, {"best_epoch", o.best_epoch}, {"seconds", o.seconds},
                  {"train", to_json(o.train)}, {"valid", to_json(o.valid)}, {"test", to_json(o.test)}};
  write_json(json_path, doc);
  return doc;
}

}  // namespace seqnet
