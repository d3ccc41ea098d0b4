#include "train/tasks/task.h"

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

Device device_of(const Module& model) { return model.params().entries().front().var.data().device(); }

std::string resolved_data_dir(const TrainConfig& cfg) { return cfg.data_dir.empty() ? data_dir() : cfg.data_dir; }

std::unique_ptr<Task> make_task(const TrainConfig& cfg) {
  cfg.validate();
  switch (task_spec(cfg.task).kind) {
    case TaskKind::CopyMemory:
    case TaskKind::Adding: return make_synthetic_task(cfg);
    case TaskKind::Music: return make_music_task(cfg);
    case TaskKind::Characters:
    case TaskKind::Words: return make_text_task(cfg);
    case TaskKind::Audio: return make_audio_task(cfg);
  }
  fail(fmt::format("make_task: task '{}' has no implementation", cfg.task));
}

std::vector<int64_t> shuffled_indices(int64_t n, Generator& gen) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(idx[size_t(i)], idx[size_t(gen.next_u64() % uint64_t(i + 1))]);
  return idx;
}

}  // namespace seqnet
