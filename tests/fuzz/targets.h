// tests/fuzz/targets.h — the readers the fuzz driver attacks, called the way seqnet calls them, and
// the checks that whatever they accept is sane.
//
// A target's run(path) calls its reader(s) on the mutant at `path` (a file, or a folder for the
// text target). The reader may refuse with seqnet::Error — a clean refusal, judged by the driver —
// or accept; when it accepts, run() checks what came back and throws Insane when it is garbage
// (a non-finite value, a size that disagrees with a shape, an id outside the vocabulary, ...).
// Any other exception escaping a reader is a bug the driver reports.
#pragma once
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/safetensors.h"
#include "models/module.h"
#include "train/data/audio_data.h"
#include "train/data/music_data.h"
#include "train/data/text_data.h"
#include "train/loop/checkpoint.h"
#include "train/loop/trainer.h"
#include "train/tasks/task_table.h"
#include "tests/fuzz/mutate.h"

namespace seqnet::fuzz {

// A reader accepted its input but returned something unusable. Not a seqnet::Error on purpose:
// the driver must never mistake it for a clean refusal.
struct Insane : std::logic_error {
  using std::logic_error::logic_error;
};

template <typename... Args>
void sane(bool cond, fmt::format_string<Args...> f, Args&&... args) {
  if (!cond) throw Insane(fmt::format(f, std::forward<Args>(args)...));
}

struct Target {
  std::string name;
  Format format;  // how the mutator treats the bytes
  bool needs_wav_mat;
  void (*run)(const std::string& path);
};

// ---- checks on accepted results ------------------------------------------------------------------

inline void check_tensor(const std::string& what, const Tensor& t, bool require_finite) {
  sane(t.defined(), "{}: undefined tensor", what);
  sane(t.is_contiguous() && t.device().is_cpu(), "{}: {} is not a contiguous CPU tensor", what, t.describe());
  int64_t n = 1;
  for (int64_t d : t.shape()) {
    sane(d >= 0, "{}: negative dimension in {}", what, t.describe());
    n *= d;
  }
  sane(n == t.numel(), "{}: {} elements for shape {}", what, t.numel(), shape_str(t.shape()));
  if (require_finite && t.dtype() != DType::I64) {
    const int64_t bad = first_non_finite(t);
    sane(bad < 0, "{}: {} holds a non-finite value at element {}", what, t.describe(), bad);
  }
}

// The file as read: names unique and non-empty, tensors consistent with their shapes. (A raw
// safetensors file may legitimately hold NaN or inf: the format stores whatever a writer had.)
inline void check_safetensors(const SafetensorsFile& f, bool require_finite) {
  std::vector<std::string> names;
  for (const auto& [name, t] : f.tensors) {
    sane(!name.empty() && name != "__metadata__", "tensor name '{}'", name);
    check_tensor("tensor '" + name + "'", t, require_finite);
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  sane(std::adjacent_find(names.begin(), names.end()) == names.end(), "duplicate tensor names were accepted");
}

// ---- the targets ---------------------------------------------------------------------------------

inline void run_safetensors(const std::string& path) {
  const SafetensorsFile f = load_safetensors(path);
  check_safetensors(f, false);
}

// Parameters of the model a checkpoint's config describes, over-estimated from its options; used
// to skip building absurd models. A mutated config can ask for levels = 1e9 or nhid = 1e6, whose
// construction would allocate terabytes: that is a resource limit of model building, not of the
// reader, and the program builds the model only after load_checkpoint (which must still refuse or
// accept the file cleanly). Models above kMaxFuzzParams (1e6, 4 MB of f32) are not built.
inline constexpr double kMaxFuzzParams = 1e6;

inline double estimated_params(const Checkpoint& ck) {
  const TaskSpec& spec = task_spec(ck.config.task, ck.config.model);
  const TaskModelOptions o = overlay(spec.model_defaults.at(ck.config.model), ck.config.model_opts);
  auto at_least_1 = [](const std::optional<int64_t>& v) { return std::max<double>(double(v.value_or(1)), 1.0); };
  const double n = at_least_1(o.nhid), e = at_least_1(o.emsize), L = at_least_1(o.levels), D = at_least_1(o.depth);
  const double K = at_least_1(o.ksize);
  double V = at_least_1(o.vocab);
  if (!o.vocab && ck.task_info.is_object() && ck.task_info.contains("vocab") && ck.task_info["vocab"].is_array())
    V = std::max<double>(double(ck.task_info["vocab"].size()), 1.0);
  double width = std::max(n, e);
  if (spec.kind == TaskKind::Audio) width = std::max(width, 512.0), V = 256;  // WaveNet's skip channels, µ-law classes
  return L * D * (2 * K * width * width + width * width) + V * e + 2 * V * width + 88 * width + 1e4;
}

inline void run_checkpoint(const std::string& path) {
  const Checkpoint ck = load_checkpoint(path);
  check_safetensors(ck.file, false);  // optimiser buffers are checked when restored
  const TrainState& s = ck.state;
  sane(s.epoch >= 0 && s.global_step >= 0 && s.best_epoch >= 0, "state: epoch {}, global_step {}, best_epoch {}",
       s.epoch, s.global_step, s.best_epoch);
  sane(std::isfinite(s.lr) && s.lr > 0, "state: learning rate {}", s.lr);
  sane(!std::isnan(s.best_valid) && s.best_valid != -INFINITY, "state: best_valid {}", s.best_valid);
  for (double v : s.valid_history) sane(std::isfinite(v), "state: valid_history holds {}", v);
  // What --resume would check; an accepted checkpoint must hold a valid configuration.
  try {
    ck.config.validate();
  } catch (const Error& e) {
    throw Insane(fmt::format("config accepted but invalid: {}", e.what()));
  }
  if (estimated_params(ck) > kMaxFuzzParams) return;
  // What `seqnet generate` does next: rebuild the model and restore the weights (non-finite
  // weights and shape mismatches must be refused there).
  const TaskModel tm = load_model(ck);
  sane(tm.model != nullptr, "load_model returned no model");
  for (const auto& [name, t] : tm.model->params().state_dict()) check_tensor("parameter '" + name + "'", t, true);
}

inline void check_roll(const std::string& what, const Tensor& t) {
  check_tensor(what, t, true);
  sane(t.dtype() == DType::F32 && t.dim() == 2 && t.size(0) >= 1 && t.size(1) == kPianoKeys, "{}: {}", what,
       t.describe());
  const float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) sane(p[i] == 0.0f || p[i] == 1.0f, "{}: value {} at {}", what, p[i], i);
}

inline void run_mat(const std::string& path) {
  const MusicSet set = load_music_mat(path);
  const std::vector<Tensor>* splits[] = {&set.train, &set.valid, &set.test};
  for (const auto* split : splits) {
    sane(!split->empty(), "an empty split was accepted");
    for (size_t i = 0; i < split->size(); ++i) check_roll(fmt::format("sequence {}", i), (*split)[i]);
  }
}

inline void run_wav(const std::string& path) {
  const std::vector<float> x = read_wav_mono16k(path);
  for (size_t i = 0; i < x.size(); ++i)
    sane(std::isfinite(x[i]) && std::fabs(x[i]) <= 1.0f, "sample {} is {}", i, x[i]);
  // The training pipeline: the folder (holding only this file) read and µ-law encoded.
  AudioSet set;
  try {
    set = load_audio_dir(std::filesystem::path(path).parent_path().string());
  } catch (const Error&) {
    return;  // e.g. digital silence: a clean refusal
  }
  sane(set.files.size() == 1 && set.files[0].size() == x.size(), "load_audio_dir read {} files", set.files.size());
  for (int64_t c : set.files[0]) sane(c >= 0 && c < 256, "µ-law code {}", c);
}

inline void check_corpus(const TextCorpus& c) {
  const int64_t V = c.vocab.size();
  sane(V >= 1 && c.vocab.index.size() == size_t(V), "vocabulary of {} symbols, index of {}", V, c.vocab.index.size());
  for (const Tensor* t : {&c.train, &c.valid, &c.test}) {
    check_tensor("id stream", *t, true);
    sane(t->dtype() == DType::I64 && t->dim() == 1 && t->numel() >= 1, "id stream {}", t->describe());
    const int64_t* p = t->data<int64_t>();
    for (int64_t i = 0; i < t->numel(); ++i) sane(p[i] >= 0 && p[i] < V, "id {} at {} (vocabulary {})", p[i], i, V);
  }
}

// The text target's mutant is a folder holding train.txt, valid.txt and test.txt.
inline void run_text(const std::string& dir) {
  try {
    check_corpus(load_ptb_words(dir));
  } catch (const Error&) {
    // refused as words; the characters reader gets its own chance below
  }
  check_corpus(load_ptb_chars(dir));
}

inline const std::vector<Target>& all_targets() {
  static const std::vector<Target> t = {
      {"safetensors", Format::Safetensors, false, run_safetensors},
      {"checkpoint", Format::Safetensors, false, run_checkpoint},
      {"mat", Format::Binary, true, run_mat},
      {"wav", Format::Binary, true, run_wav},
      {"text", Format::Text, false, run_text},
  };
  return t;
}

}  // namespace seqnet::fuzz
