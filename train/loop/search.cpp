#include "train/loop/search.h"

#include <algorithm>
#include <array>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numbers>
#include <numeric>

#include "core/atomic_file.h"
#include "core/json_fields.h"
#include "core/paths.h"
#include "core/rng.h"
#include "train/loop/checkpoint.h"
#include "train/loop/interrupt.h"
#include "train/loop/trainer.h"

namespace seqnet {

namespace {
// The space; hyperopt: lr = hp.loguniform(−12, −2), clip = hp.choice([−1, hp.uniform(0.01, 1)]).
constexpr double kLogLrLow = -12, kLogLrHigh = -2;
constexpr double kClipLow = 0.01, kClipHigh = 1;
constexpr int64_t kMaxTrials = int64_t(1) << 20;
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

const char* sampler_name(Sampler s) { return s == Sampler::Tpe ? "tpe" : "random"; }

void validate(const SearchOptions& o) {
  check(o.trials >= 1 && o.trials <= kMaxTrials, "search: --trials must be a whole number from 1 to 2^20; found {}",
        o.trials);
  check(o.trial_epochs >= 0, "search: --trial-epochs must be a whole number >= 0 (0: --epochs); found {}",
        o.trial_epochs);
  const TpeOptions& t = o.tpe;
  check(t.startup_trials >= 0 && t.startup_trials <= kMaxTrials,
        "search: --startup-trials must be a whole number from 0 to 2^20; found {}", t.startup_trials);
  check(t.gamma > 0 && t.gamma <= 1, "search: --gamma must be a number in (0, 1]; found {}", t.gamma);
  check(t.candidates >= 1 && t.candidates <= kMaxTrials,
        "search: --candidates must be a whole number from 1 to 2^20; found {}", t.candidates);
  check(std::isfinite(t.prior_weight) && t.prior_weight > 0,
        "search: --prior-weight must be a positive finite number; found {}", t.prior_weight);
  check(!(o.resume && o.overwrite), "search: --resume and --overwrite contradict each other; give one");
}

SearchPoint search_draw(uint64_t seed, int64_t i) {
  Generator g(seed);
  g.set_state({seed, uint64_t(i) * 4});  // draw i owns counter blocks 4i .. 4i+3
  double u[3];
  g.uniform(u, 3, 0.0, 1.0);
  SearchPoint p;
  p.lr = std::exp(kLogLrLow + (kLogLrHigh - kLogLrLow) * u[0]);
  p.clip = u[1] < 0.5 ? -1.0 : kClipLow + (kClipHigh - kClipLow) * u[2];
  return p;
}

// ---- TPE, step by step (hyperopt/tpe.py; the function names in brackets are hyperopt's) -------------
//
// TPE models p(x | y) instead of p(y | x): it splits the trials into a few good ones and the rest,
// fits a density to each — l(x) to the good, g(x) to the others, one parameter at a time — and
// proposes the x that maximises l(x) / g(x), which maximises expected improvement (Bergstra et al.
// 2011, eq. 6). hyperopt picks that x among `candidates` draws from l, separately for each
// parameter; so does this code.
//
// Where it differs from hyperopt: the random numbers (Philox, one counter range per suggestion,
// not numpy's generator), and ties in the loss split keep trial order (numpy's argsort is not
// stable). log lr's density is divided by its mass inside the bounds, as hyperopt's GMM1_lpdf
// does for uniform parameters (its LGMM1_lpdf for loguniform ones omits the factor); the factor is
// a constant of each mixture, so the chosen candidate is the same either way.
namespace {

// hyperopt's DEFAULT_LF: the good group has at most 25 trials, and observations past the newest
// 25 of a group are down-weighted (linear forgetting).
constexpr size_t kForgetting = 25;

// Step 1 [ap_split_trials]: of n trials, the n_good = min(⌈γ·√n⌉, 25) of least loss are good
// (a failed trial's loss is +inf). Ties keep trial order.
std::vector<char> split_good(std::span<const SearchTrial> h, double gamma) {
  const size_t n = h.size();
  const size_t n_good = std::min(size_t(std::ceil(gamma * std::sqrt(double(n)))), kForgetting);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t(0));
  auto loss = [&](size_t j) { return h[j].loss ? *h[j].loss : kInf; };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return loss(a) < loss(b); });
  std::vector<char> good(n, 0);
  for (size_t k = 0; k < std::min(n_good, n); ++k) good[order[k]] = 1;
  return good;
}

// Step 2 [linear_forgetting_weights]: the weights of a group's N observations in trial order:
// all 1 up to N = 25; beyond, the oldest N − 25 ramp up linearly from 1/N (numpy's
// linspace(1/N, 1, N − 25)) and the newest 25 keep 1.
std::vector<double> forgetting_weights(size_t n) {
  std::vector<double> w(n, 1.0);
  if (n <= kForgetting) return w;
  const size_t ramp = n - kForgetting;
  const double lo = 1.0 / double(n);
  for (size_t k = 0; k < ramp; ++k) w[k] = ramp == 1 ? lo : lo + (1.0 - lo) * double(k) / double(ramp - 1);
  return w;
}

double normal_cdf(double x, double mu, double sigma) { return 0.5 * (1 + std::erf((x - mu) / (std::sqrt(2.0) * sigma))); }

// A Gaussian mixture truncated to [low, high): l(x) or g(x) of one real parameter.
struct Mixture {
  std::vector<double> w, mu, sigma;
  double low = 0, high = 0;
  double log_accept = 0;  // log Σ_k w_k (Φ_k(high) − Φ_k(low)): the mass inside the bounds
};

// Step 3 [adaptive_parzen_normal]: the Parzen estimator of observations `obs` (trial order) of a
// parameter whose prior is uniform on [low, high): one Gaussian per observation plus the prior
// N(μp = (low + high) / 2, σp = high − low) with weight prior_weight (the others: the forgetting
// weights), normalised. With the prior's μp sorted in among the observations, each observation's
// σ is the larger gap to its two neighbours (one neighbour at the ends; a lone observation gets
// σp / 2), clipped to [σp / min(100, n + 2), σp] ("magic formula"); the prior keeps σp.
Mixture adaptive_parzen(std::span<const double> obs, double prior_weight, double low, double high) {
  const double prior_mu = 0.5 * (low + high), prior_sigma = high - low;
  const size_t n = obs.size();
  const std::vector<double> fw = forgetting_weights(n);
  Mixture m;
  m.low = low, m.high = high;
  size_t prior_pos = 0;
  if (n == 0) {
    m.mu = {prior_mu}, m.sigma = {prior_sigma}, m.w = {prior_weight};
  } else if (n == 1) {
    m.mu = {prior_mu, obs[0]}, m.sigma = {prior_sigma, 0.5 * prior_sigma}, m.w = {prior_weight, 1.0};
  } else {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return obs[a] < obs[b]; });
    // the prior goes before the first observation >= μp (numpy.searchsorted)
    while (prior_pos < n && obs[order[prior_pos]] < prior_mu) ++prior_pos;
    for (size_t k = 0; k <= n; ++k) {
      if (k == prior_pos) m.mu.push_back(prior_mu), m.w.push_back(prior_weight);
      if (k < n) m.mu.push_back(obs[order[k]]), m.w.push_back(fw[order[k]]);
    }
    const size_t c = m.mu.size();
    m.sigma.resize(c);
    for (size_t k = 1; k + 1 < c; ++k) m.sigma[k] = std::max(m.mu[k] - m.mu[k - 1], m.mu[k + 1] - m.mu[k]);
    m.sigma[0] = m.mu[1] - m.mu[0];
    m.sigma[c - 1] = m.mu[c - 1] - m.mu[c - 2];
  }
  const double min_sigma = prior_sigma / std::min(100.0, 1.0 + double(m.mu.size()));
  for (double& s : m.sigma) s = std::clamp(s, min_sigma, prior_sigma);
  m.sigma[prior_pos] = prior_sigma;
  const double total = std::accumulate(m.w.begin(), m.w.end(), 0.0);
  double accept = 0;
  for (size_t k = 0; k < m.w.size(); ++k) {
    m.w[k] /= total;
    accept += m.w[k] * (normal_cdf(high, m.mu[k], m.sigma[k]) - normal_cdf(low, m.mu[k], m.sigma[k]));
  }
  m.log_accept = std::log(accept);
  return m;
}

// Step 4 [GMM1]: a draw from the truncated mixture: pick component k with probability w_k, draw
// N(μ_k, σ_k), and start again when the draw falls outside [low, high).
double draw(const Mixture& m, Generator& gen) {
  for (;;) {
    double u = 0, z = 0;
    gen.uniform(&u, 1, 0.0, 1.0);
    size_t k = 0;
    double cum = m.w[0];
    while (k + 1 < m.w.size() && u >= cum) cum += m.w[++k];
    gen.normal(&z, 1, m.mu[k], m.sigma[k]);
    if (z >= m.low && z < m.high) return z;
  }
}

// Step 5 [GMM1_lpdf]: log of the truncated mixture density,
//   log Σ_k w_k N(x; μ_k, σ_k) − log Σ_k w_k (Φ_k(high) − Φ_k(low)),   summed stably (log-sum-exp).
double log_pdf(const Mixture& m, double x) {
  double top = -kInf;
  std::vector<double> terms(m.w.size());
  for (size_t k = 0; k < m.w.size(); ++k) {
    const double z = (x - m.mu[k]) / m.sigma[k];
    terms[k] = -0.5 * z * z + std::log(m.w[k] / (std::sqrt(2 * std::numbers::pi) * m.sigma[k]));
    top = std::max(top, terms[k]);
  }
  double sum = 0;
  for (double t : terms) sum += std::exp(t - top);
  return top + std::log(sum) - m.log_accept;
}

// Step 6 [ap_categorical_sampler, tpe_cat_pseudocounts]: the posterior of a choice between two
// equally likely options: the (forgetting-weighted) count of each option in the group plus the
// prior's pseudo-count n_options · prior_weight · p_prior = prior_weight, normalised.
std::array<double, 2> categorical(std::span<const int> obs, double prior_weight) {
  const std::vector<double> fw = forgetting_weights(obs.size());
  std::array<double, 2> p = {prior_weight, prior_weight};
  for (size_t k = 0; k < obs.size(); ++k) p[size_t(obs[k])] += fw[k];
  const double total = p[0] + p[1];
  return {p[0] / total, p[1] / total};
}

// Step 7 [build_posterior, broadcast_best]: `candidates` draws x from l, each scored by
// log l(x) − log g(x); the first of the highest scores wins.
double best_of(const Mixture& l, const Mixture& g, int64_t candidates, Generator& gen) {
  double best = 0, best_score = -kInf;
  for (int64_t k = 0; k < candidates; ++k) {
    const double x = draw(l, gen);
    const double score = log_pdf(l, x) - log_pdf(g, x);
    if (k == 0 || score > best_score) best = x, best_score = score;
  }
  return best;
}
int best_of(const std::array<double, 2>& l, const std::array<double, 2>& g, int64_t candidates, Generator& gen) {
  int best = 0;
  double best_score = -kInf;
  for (int64_t k = 0; k < candidates; ++k) {
    double u = 0;
    gen.uniform(&u, 1, 0.0, 1.0);
    const int x = u < l[0] ? 0 : 1;
    const double score = std::log(l[size_t(x)]) - std::log(g[size_t(x)]);
    if (k == 0 || score > best_score) best = x, best_score = score;
  }
  return best;
}

// TPE suggestion i draws from its own counter range of the seed's Philox stream, far above the
// prior draws' blocks 4i .. 4i+3: blocks 2^63 + i·2^32 onwards.
constexpr uint64_t kTpeFirstBlock = uint64_t(1) << 63, kTpeBlocksPerTrial = uint64_t(1) << 32;

}  // namespace

SearchPoint search_suggest(const SearchOptions& opt, uint64_t seed, std::span<const SearchTrial> history) {
  const int64_t i = int64_t(history.size());
  // hyperopt: rand.suggest while fewer than n_startup_jobs trials exist
  if (opt.sampler == Sampler::Random || i < opt.tpe.startup_trials) return search_draw(seed, i);
  const TpeOptions& t = opt.tpe;
  Generator gen(seed);
  gen.set_state({seed, kTpeFirstBlock + uint64_t(i) * kTpeBlocksPerTrial});

  // The observations of each parameter in the good (0) and bad (1) group, in trial order: u = log lr
  // (loguniform is uniform in log space), the clip choice (0 none, 1 given) and, only from the
  // trials that gave one, the clip value (a conditional parameter).
  const std::vector<char> good = split_good(history, t.gamma);
  std::array<std::vector<double>, 2> log_lr, clip;
  std::array<std::vector<int>, 2> clip_given;
  for (size_t j = 0; j < history.size(); ++j) {
    const size_t s = good[j] ? 0 : 1;
    const SearchPoint& p = history[j].point;
    log_lr[s].push_back(std::log(p.lr));
    clip_given[s].push_back(p.clip > 0 ? 1 : 0);
    if (p.clip > 0) clip[s].push_back(p.clip);
  }
  const int given = best_of(categorical(clip_given[0], t.prior_weight), categorical(clip_given[1], t.prior_weight),
                            t.candidates, gen);
  const double u = best_of(adaptive_parzen(log_lr[0], t.prior_weight, kLogLrLow, kLogLrHigh),
                           adaptive_parzen(log_lr[1], t.prior_weight, kLogLrLow, kLogLrHigh), t.candidates, gen);
  double c = -1.0;
  if (given)
    c = best_of(adaptive_parzen(clip[0], t.prior_weight, kClipLow, kClipHigh),
                adaptive_parzen(clip[1], t.prior_weight, kClipLow, kClipHigh), t.candidates, gen);
  return {std::exp(u), c};
}

void search_minimize(const SearchOptions& opt, uint64_t seed, std::vector<SearchTrial>& history,
                     const SearchObjective& objective,
                     const std::function<void(const std::vector<SearchTrial>&)>& recorded) {
  validate(opt);
  for (int64_t i = int64_t(history.size()); i < opt.trials; ++i) {
    const SearchPoint p = search_suggest(opt, seed, history);
    std::optional<double> loss = objective(p, i);
    if (loss && !std::isfinite(*loss)) loss.reset();  // NaN / inf: a failed trial
    history.push_back({p, loss});
    if (recorded) recorded(history);
  }
}

// ---- the search with training as the objective ---------------------------------------------------

namespace {

void write_json(const std::string& path, const nlohmann::json& j) { write_file_atomic(path, j.dump(2) + "\n", "search"); }
std::string clip_str(double c) { return c > 0 ? fmt::format("{:.3f}", c) : "none"; }
nlohmann::json clip_json(double c) { return c > 0 ? nlohmann::json(c) : nlohmann::json(); }
const char* signal_name(int sig) { return sig == SIGINT ? "SIGINT (Ctrl-C)" : sig == SIGTERM ? "SIGTERM" : "a signal"; }

// What must not change when a search is resumed: everything that decides its points and losses.
nlohmann::json search_settings(const TrainConfig& base, const SearchOptions& opt, uint64_t seed) {
  nlohmann::json config = to_json(base);
  for (const char* k : {"lr", "clip", "out_dir", "data_dir", "log_interval"}) config.erase(k);  // searched or cosmetic
  nlohmann::json s = {{"sampler", sampler_name(opt.sampler)}, {"seed", seed}, {"trial_epochs", opt.trial_epochs}};
  if (opt.sampler == Sampler::Tpe)
    s["tpe"] = {{"startup_trials", opt.tpe.startup_trials}, {"gamma", opt.tpe.gamma},
                {"candidates", opt.tpe.candidates}, {"prior_weight", opt.tpe.prior_weight}};
  s["config"] = config;
  return s;
}

// The first difference between two settings objects, as "key: a vs b" ("" when equal).
std::string first_difference(const nlohmann::json& was, const nlohmann::json& now, const std::string& prefix = "") {
  for (const auto& [k, v] : now.items()) {
    if (!was.contains(k)) return fmt::format("'{}{}' is missing in the file", prefix, k);
    if (v.is_object() && was[k].is_object()) {
      const std::string d = first_difference(was[k], v, prefix + k + ".");
      if (!d.empty()) return d;
    } else if (was[k] != v) {
      return fmt::format("'{}{}' was {}, now {}", prefix, k, was[k].dump(), v.dump());
    }
  }
  for (const auto& [k, v] : was.items())
    if (!now.contains(k)) return fmt::format("'{}{}' is {} in the file and absent now", prefix, k, v.dump());
  return "";
}

// The recorded trials of a search.json, each checked (the file may have been edited).
std::vector<SearchTrial> read_trials(const nlohmann::json& doc, const std::string& path) {
  const JsonFields top(doc, path);
  const nlohmann::json& trials = top.value("trials");
  check(trials.is_array(), "{}: field 'trials' must be an array; found {}", path, trials.type_name());
  std::vector<SearchTrial> h;
  for (size_t i = 0; i < trials.size(); ++i) {
    const JsonFields r(trials[i], path, fmt::format("trials[{}].", i));
    check(r.integer("trial", 0, kMaxTrials) == int64_t(i), "{}: trials[{}] is not trial {}; the file is damaged",
          path, i, i);
    SearchTrial t;
    t.point.lr = r.number("lr", std::exp(kLogLrLow) * 0.5, std::exp(kLogLrHigh) * 2.0);
    t.point.clip = r.has("clip") ? r.number("clip", kClipLow, kClipHigh) : -1.0;
    if (r.one_of("status", {"ok", "failed"}) == "ok") t.loss = r.number("best_valid");
    h.push_back(t);
  }
  return h;
}

// Whether `dir` holds a checkpoint of exactly this trial (an interrupted attempt): then it is
// continued (bit-exactly, see Training.SigintStopsAtASafePointAndResumesExactly), not restarted.
bool can_continue(const TrainConfig& c) {
  const std::string last = c.out_dir + "/last.safetensors";
  if (!path_exists(last)) return false;
  const TrainConfig was = load_checkpoint(last).config;
  return was.lr == c.lr && was.clip == c.clip && was.epochs == c.epochs && was.seed == c.seed;
}

}  // namespace

nlohmann::json run_search(const TrainConfig& base, const SearchOptions& opt) {
  validate(opt);
  base.validate();
  const uint64_t seed = opt.seed ? opt.seed : base.seed;
  const std::string json_path = base.out_dir + "/search.json";
  const nlohmann::json settings = search_settings(base, opt, seed);
  nlohmann::json doc;
  std::vector<SearchTrial> history;
  if (opt.resume) {
    check(path_exists(json_path), "search --resume: no {} to continue (start a search there without --resume)",
          json_path);
    std::ifstream in(json_path);
    doc = nlohmann::json::parse(in, nullptr, false);
    check(!doc.is_discarded() && doc.is_object(), "search --resume: {} is not a JSON object", json_path);
    check(doc.contains("settings"), "search --resume: {} has no 'settings' (written by an older seqnet?)",
          json_path);
    const std::string d = first_difference(doc["settings"], settings);
    check(d.empty(),
          "search --resume: {} was made with other settings ({}); give the flags it was started with, or start a "
          "new search in another --out",
          json_path, d);
    history = read_trials(doc, json_path);
    check(int64_t(history.size()) <= opt.trials, "search --resume: {} already holds {} trials, more than --trials {}",
          json_path, history.size(), opt.trials);
  } else {
    check(opt.overwrite || !path_exists(json_path),
          "search: {} already holds a search; continue it with --resume, choose another --out, or pass --overwrite "
          "to start afresh there",
          json_path);
    doc = {{"task", base.task}, {"model", base.model}, {"method", sampler_name(opt.sampler)}, {"seed", seed},
           {"space", "lr = exp(U(-12, -2)); clip = none | U(0.01, 1)"}, {"settings", settings},
           {"trials", nlohmann::json::array()}};
  }
  std::filesystem::create_directories(base.out_dir);
  const StopOnSignal stop_on_signal;  // Ctrl-C between trials stops after the trials file is written
  if (opt.verbosity >= 1 && opt.sampler == Sampler::Tpe && opt.trials <= opt.tpe.startup_trials)
    fmt::print("search: {} trials, {} start-up trials: TPE never leaves the prior (a random search)\n", opt.trials,
               opt.tpe.startup_trials);
  if (opt.verbosity >= 1 && !history.empty())
    fmt::print("search: resuming {} after {} of {} trials\n", json_path, history.size(), opt.trials);

  nlohmann::json rec;  // the record of the trial being run
  auto objective = [&](const SearchPoint& p, int64_t i) -> std::optional<double> {
    TrainConfig c = base;
    c.lr = p.lr, c.clip = p.clip;
    if (opt.trial_epochs > 0) c.epochs = opt.trial_epochs;
    c.out_dir = fmt::format("{}/trial_{:03d}", base.out_dir, i);
    TrainOptions to;
    to.final_eval = false;
    to.verbosity = 0;
    to.resume = opt.resume && can_continue(c);
    if (opt.after_step) to.after_step = [&opt, i](int64_t e, int64_t s) { opt.after_step(i, e, s); };
    const bool from_prior = opt.sampler == Sampler::Random || i < opt.tpe.startup_trials;
    rec = {{"trial", i}, {"lr", p.lr}, {"clip", clip_json(p.clip)}, {"drawn", from_prior ? "prior" : "tpe"},
           {"epochs", c.epochs}};
    try {
      const TrainOutcome o = run_training(c, to);
      rec["status"] = "ok", rec["best_valid"] = o.best_valid, rec["best_epoch"] = o.best_epoch;
      rec["seconds"] = o.seconds;
      return o.best_valid;
    } catch (const TrainingDiverged& e) {
      rec["status"] = "failed", rec["error"] = e.what();
      if (opt.verbosity >= 1)
        fmt::print("trial {:3d}/{}: lr {:.3e} clip {} → failed (diverged at epoch {}, step {})\n", i + 1, opt.trials,
                   p.lr, clip_str(p.clip), e.epoch, e.step);
      return std::nullopt;
    } catch (const Interrupted& e) {
      throw Interrupted(fmt::format("search: trial {} of {} was stopped by {}; the {} finished trials are in {}. "
                                    "Continue with the same seqnet search command and --resume (trial {} then runs "
                                    "again{})",
                                    i + 1, opt.trials, signal_name(e.signal), i, json_path, i + 1,
                                    path_exists(c.out_dir + "/last.safetensors") ? ", from its last checkpoint" : ""),
                        e.signal);
    }
  };
  auto best_trial = [](const std::vector<SearchTrial>& h) {  // the first of the least losses, or −1
    int64_t best = -1;
    for (size_t j = 0; j < h.size(); ++j)
      if (h[j].loss && (best < 0 || *h[j].loss < *h[size_t(best)].loss)) best = int64_t(j);
    return best;
  };
  auto recorded = [&](const std::vector<SearchTrial>& h) {
    const int64_t i = int64_t(h.size()) - 1;
    doc["trials"].push_back(rec);
    write_json(json_path, doc);
    if (opt.verbosity >= 1 && h.back().loss)
      fmt::print("trial {:3d}/{} ({}): lr {:.3e} clip {} → best valid {:.4f} (epoch {}) in {:.1f} s{}\n", i + 1,
                 opt.trials, rec["drawn"].get<std::string>(), h.back().point.lr, clip_str(h.back().point.clip),
                 *h.back().loss, rec["best_epoch"].get<int64_t>(), rec["seconds"].get<double>(),
                 best_trial(h) == i ? "  ← best so far" : "");
    std::fflush(stdout);
    throw_if_stop_requested(
        fmt::format("search: after trial {} of {} (recorded in {}; continue with the same seqnet search command and "
                    "--resume)",
                    i + 1, opt.trials, json_path)
            .c_str());
  };
  search_minimize(opt, seed, history, objective, recorded);

  const int64_t best_i = best_trial(history);
  check(best_i >= 0, "search: all {} trials failed (diverged); see {}", opt.trials, json_path);
  const SearchPoint bp = history[size_t(best_i)].point;
  doc["best"] = {{"trial", best_i}, {"lr", bp.lr}, {"clip", clip_json(bp.clip)},
                 {"best_valid", *history[size_t(best_i)].loss}};
  doc.erase("final");  // a resumed search that added trials retrains anew
  write_json(json_path, doc);
  TrainConfig c = base;
  c.lr = bp.lr, c.clip = bp.clip;
  c.out_dir = base.out_dir + "/final";
  TrainOptions to;
  to.verbosity = opt.verbosity;
  to.resume = opt.resume && can_continue(c);
  if (opt.verbosity >= 1)
    fmt::print("{} the best setting (trial {}: lr {:.3e}, clip {}) for {} epochs into {}\n",
               to.resume ? "continuing to retrain" : "retraining", best_i + 1, bp.lr, clip_str(bp.clip), c.epochs,
               c.out_dir);
  TrainOutcome o;
  try {
    o = run_training(c, to);
  } catch (const Interrupted& e) {
    throw Interrupted(fmt::format("search: the final retraining in {} was stopped by {}; all {} trials are in {}. "
                                  "Continue with the same seqnet search command and --resume",
                                  c.out_dir, signal_name(e.signal), opt.trials, json_path),
                      e.signal);
  }
  doc["final"] = {{"out_dir", c.out_dir}, {"best_epoch", o.best_epoch}, {"seconds", o.seconds},
                  {"train", to_json(o.train)}, {"valid", to_json(o.valid)}, {"test", to_json(o.test)}};
  write_json(json_path, doc);
  return doc;
}

}  // namespace seqnet
