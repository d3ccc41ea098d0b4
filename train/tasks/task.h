// train/tasks/task.h — what a training loop needs to know about a task: its data, its batches, its
// loss and its metrics. One small interface; one implementation per data family:
//
//   train/tasks/synthetic.cpp  copy memory, adding problem   (generated from the seed)
//   train/tasks/music.cpp      JSB, Nottingham, MuseData, Piano-midi   (.mat piano rolls)
//   train/tasks/text.cpp       PTB characters and words
//   train/tasks/audio.cpp      raw piano audio (16 kHz WAV → µ-law)
//
// Life of a task in `seqnet train` (train/loop/trainer.cpp):
//   auto task = make_task(cfg);                  // reads / generates the data, checks it
//   task->model_options(opts);                   // e.g. the vocabulary size found in the data
//   build the model; task->bind(model);          // window sizes the model's planner chose
//   per epoch: task->start_epoch(gen); for s < task->steps_per_epoch(): task->train_loss(model, s)
//   task->evaluate(model, Split::Valid) ...
#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>

#include "autograd/variable.h"
#include "core/rng.h"
#include "models/module.h"
#include "train/loop/config.h"

namespace seqnet {

enum class Split { Train, Valid, Test };
const char* split_name(Split s);

// Result of evaluating one split. `loss` is the task's objective as the official script reports
// it (the value that selects the best checkpoint and drives the learning-rate rule); `metrics`
// adds the task's reported figures (nll, bpc, ppl, accuracy, bits_per_sample, ...).
struct EvalResult {
  double loss = 0;
  std::map<std::string, double> metrics;
  int64_t count = 0;  // what the loss is averaged over (frames, characters, examples, samples)
};

// One training step's loss: the Variable to differentiate, and its value in the units of the
// reported metric (e.g. music trains on the summed BCE but logs NLL per frame).
struct StepLoss {
  Variable loss;
  double reported = 0;
  int64_t examples = 0;  // sequences / windows in this step (for examples/s)
  std::string what;      // which examples, for reports (e.g. "train sequences 17, 230"); may be empty
};

class Task {
 public:
  virtual ~Task() = default;
  // Fills the options the data determines (vocabulary size).
  virtual void model_options(TaskModelOptions& opts) const { (void)opts; }
  // Learns the sizes the model's planner chose; checks the model suits the task.
  virtual void bind(Module& model) = 0;
  virtual int64_t steps_per_epoch() const = 0;
  // Called before each epoch: shuffles / draws the epoch's examples from `gen`.
  virtual void start_epoch(Generator& gen) = 0;
  // Forward pass and loss of step `step` of the current epoch (the model is in training mode).
  virtual StepLoss train_loss(Module& model, int64_t step) = 0;
  // Evaluates a split under no-grad in eval mode; max_batches > 0 limits the work.
  virtual EvalResult evaluate(Module& model, Split split, int64_t max_batches) = 0;
  // One line about the data (sizes), printed at the start of a run.
  virtual std::string describe() const = 0;
  // The longest training example in time steps where the data decides it (music: the longest
  // piece), 0 where the configuration does; the memory estimate sizes activations with it.
  virtual int64_t longest_example() const { return 0; }
  // Data facts a checkpoint must keep (the vocabulary of a text task), as JSON.
  virtual nlohmann::json info() const { return nlohmann::json::object(); }
};

// Builds the task of cfg.task from cfg (and cfg.data_dir, default data_dir()). Throws Error
// naming the missing or malformed file.
std::unique_ptr<Task> make_task(const TrainConfig& cfg);

// Implementations (one per file).
std::unique_ptr<Task> make_synthetic_task(const TrainConfig& cfg);
std::unique_ptr<Task> make_music_task(const TrainConfig& cfg);
std::unique_ptr<Task> make_text_task(const TrainConfig& cfg);
std::unique_ptr<Task> make_audio_task(const TrainConfig& cfg);

// A uniformly random permutation of 0..n−1 drawn from `gen` (Fisher–Yates).
std::vector<int64_t> shuffled_indices(int64_t n, Generator& gen);

// Polyphonic music batches (train/tasks/music.cpp). Sequences of different lengths share a batch
// by padding; `mask` (N, T, 1) marks the real predicted frames, so the summed loss equals the
// sum of the batch-1 losses (see PolyMusicModel::aligned_length for where each row sits).
struct MusicBatch {
  Tensor input, target, mask;  // (N, T, 88), (N, T, 88), (N, T, 1), in the model's dtype
  int64_t frames = 0;          // Σ predicted frames (the NLL denominator)
};
class PolyMusicModel;
MusicBatch make_music_batch(const std::vector<const Tensor*>& seqs, const PolyMusicModel& model, DType dtype);
// Σ over real frames and keys of BCE-with-logits (the official summed objective).
Variable music_batch_loss(PolyMusicModel& model, const MusicBatch& batch);

// The device a model's parameters live on: where its batches go (`seqnet train --device`).
Device device_of(const Module& model);

// cfg.data_dir, or data_dir() when empty.
std::string resolved_data_dir(const TrainConfig& cfg);

}  // namespace seqnet
