#include "train/task.h"

#include "core/error.h"
#include "core/paths.h"

namespace seqnet {

const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Valid: return "valid";
    case Split::Test: return "test";
  }
  return "?";
}

std::string resolved_data_dir(const TrainConfig& cfg) { return cfg.data_dir.empty() ? data_dir() : cfg.data_dir; }

std::string music_file_name(const std::string& task) {
  if (task == "jsb") return "music/JSB_Chorales.mat";
  if (task == "nottingham") return "music/Nottingham.mat";
  if (task == "muse") return "music/MuseData.mat";
  if (task == "piano") return "music/Piano_midi.mat";
  fail(fmt::format("'{}' is not a polyphonic-music task (jsb, nottingham, muse, piano)", task));
}

std::unique_ptr<Task> make_task(const TrainConfig& cfg) {
  cfg.validate();
  const std::string& t = cfg.task;
  if (t == "copy" || t == "adding") return make_synthetic_task(cfg);
  if (t == "jsb" || t == "nottingham" || t == "muse" || t == "piano") return make_music_task(cfg);
  if (t == "char" || t == "word") return make_text_task(cfg);
  if (t == "audio") return make_audio_task(cfg);
  fail(fmt::format("unknown task '{}' (known: {})", t, fmt::join(task_names(), ", ")));
}

std::vector<int64_t> shuffled_indices(int64_t n, Generator& gen) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(idx[size_t(i)], idx[size_t(gen.next_u64() % uint64_t(i + 1))]);
  return idx;
}

}  // namespace seqnet
