// train/tasks/audio.cpp — raw piano audio (MODELS.md §10.5, data README §4): audio/train/*.wav
// and audio/test/*.wav, 16 kHz mono, µ-law 256 codes.
//
// Training (official AudioDataset with random_hops): each file gives (L − O + 1) // hop + 1
// items per epoch, each at a uniformly random output position; a window is the input_size codes
// before and overlapping the output_size targets, padded with silence (128) past either end.
// Test (and validation, which the official script takes from the test files too): the files
// tiled in order by consecutive output windows. Loss: mean cross-entropy over the predicted
// samples; also accuracy and bits per sample = loss · log2(e).
#include <algorithm>
#include <cmath>

#include "train/loop/interrupt.h"
#include "core/error.h"
#include "models/heads.h"
#include "ops/ops.h"
#include "train/data/audio_data.h"
#include "train/tasks/task.h"

namespace seqnet {
namespace {

class AudioTask final : public Task {
 public:
  explicit AudioTask(const TrainConfig& cfg) : cfg_(cfg) {
    const std::string dir = resolved_data_dir(cfg) + "/audio";
    train_ = load_audio_dir(dir + "/train");
    test_ = load_audio_dir(dir + "/test");
  }

  void bind(Module& model) override {
    model_ = dynamic_cast<AudioModel*>(&model);
    check(model_ != nullptr, "audio task: the model is a {}, not an AudioModel", model.describe());
    Module& bb = model_->backbone();
    if (auto* w = dynamic_cast<WaveNet*>(&bb)) {
      input_ = w->input_size(), output_ = w->config().output_length;
    } else if (auto* s = dynamic_cast<SequnetRes*>(&bb)) {
      input_ = s->input_size(), output_ = s->output_size();
    } else {
      fail(fmt::format("audio task: unsupported backbone {}", bb.describe()));
    }
    // test windows: each file tiled by output windows starting at 0, O, 2O, ...
    test_items_.clear();
    for (size_t f = 0; f < test_.files.size(); ++f) {
      const int64_t L = int64_t(test_.files[f].size());
      for (int64_t t0 = 0; t0 < L; t0 += output_) test_items_.push_back({int64_t(f), t0});
    }
    train_tiles_.clear();
    for (size_t f = 0; f < train_.files.size(); ++f) {
      const int64_t L = int64_t(train_.files[f].size());
      for (int64_t t0 = 0; t0 < L; t0 += output_) train_tiles_.push_back({int64_t(f), t0});
    }
  }

  int64_t steps_per_epoch() const override {
    return (int64_t(epoch_items_count()) + cfg_.batch_size - 1) / cfg_.batch_size;
  }

  void start_epoch(Generator& gen) override {
    items_.clear();
    for (size_t f = 0; f < train_.files.size(); ++f) {
      const int64_t L = int64_t(train_.files[f].size());
      const int64_t per_file = std::max<int64_t>(0, L - output_ + 1) / cfg_.hop + 1;
      const int64_t span = std::max<int64_t>(1, L - output_ + 1);  // output start in [0, L − O]
      for (int64_t k = 0; k < per_file; ++k) items_.push_back({int64_t(f), int64_t(gen.next_u64() % uint64_t(span))});
    }
    // the official DataLoader shuffles the items
    std::vector<int64_t> order = shuffled_indices(int64_t(items_.size()), gen);
    std::vector<Item> shuffled;
    for (int64_t i : order) shuffled.push_back(items_[size_t(i)]);
    items_ = std::move(shuffled);
  }

  StepLoss train_loss(Module&, int64_t step) override {
    check(!items_.empty(), "audio task: start_epoch was not called");
    const size_t b0 = size_t(step * cfg_.batch_size);
    const size_t b1 = std::min(items_.size(), b0 + size_t(cfg_.batch_size));
    std::vector<Item> batch(items_.begin() + std::ptrdiff_t(b0), items_.begin() + std::ptrdiff_t(b1));
    Variable loss = batch_loss(train_, batch, nullptr);
    return {loss, loss.item(), int64_t(batch.size()), fmt::format("train items {} to {} of the epoch", b0, b1 - 1)};
  }

  EvalResult evaluate(Module&, Split split, int64_t max_batches) override {
    const bool train = split == Split::Train;
    const AudioSet& set = train ? train_ : test_;
    const std::vector<Item>& items = train ? train_tiles_ : test_items_;
    double total = 0, correct = 0;
    int64_t count = 0, batches = 0;
    for (size_t b0 = 0; b0 < items.size() && (max_batches <= 0 || batches < max_batches);
         b0 += size_t(cfg_.batch_size), ++batches) {
      throw_if_stop_requested("evaluation");
      const size_t b1 = std::min(items.size(), b0 + size_t(cfg_.batch_size));
      std::vector<Item> batch(items.begin() + std::ptrdiff_t(b0), items.begin() + std::ptrdiff_t(b1));
      const int64_t n = int64_t(batch.size()) * output_;
      total += batch_loss(set, batch, &correct).item() * double(n);
      count += n;
    }
    EvalResult r;
    r.count = count;
    r.loss = total / double(std::max<int64_t>(count, 1));
    r.metrics["accuracy"] = correct / double(std::max<int64_t>(count, 1));
    r.metrics["bits_per_sample"] = r.loss / std::log(2.0);
    return r;
  }

  std::string describe() const override {
    return fmt::format("piano audio: {} train files ({:.1f} s), {} test files ({:.1f} s); windows of {} → {} samples",
                       train_.files.size(), double(train_.total_samples()) / kAudioSampleRate, test_.files.size(),
                       double(test_.total_samples()) / kAudioSampleRate, input_, output_);
  }

 private:
  struct Item {
    int64_t file, out_start;  // the first predicted sample of the window
  };
  size_t epoch_items_count() const {
    size_t n = 0;
    for (const auto& f : train_.files)
      n += size_t(std::max<int64_t>(0, int64_t(f.size()) - output_ + 1) / cfg_.hop + 1);
    return n;
  }

  // Mean cross-entropy of a batch of windows; counts correct argmax predictions if asked.
  Variable batch_loss(const AudioSet& set, const std::vector<Item>& batch, double* correct) {
    const int64_t N = int64_t(batch.size());
    Tensor codes = Tensor::empty({N, input_}, DType::I64), targets = Tensor::empty({N, output_}, DType::I64);
    Tensor in_row, tgt_row;
    for (int64_t i = 0; i < N; ++i) {
      const Item& it = batch[size_t(i)];
      // audio_window's targets start at window position input_size + 1 − output_size
      audio_window(set.files[size_t(it.file)], it.out_start - (input_ + 1 - output_), input_, output_, in_row, tgt_row);
      codes.select(0, i).copy_(in_row);
      targets.select(0, i).copy_(tgt_row);
    }
    const Device dev = device_of(*model_);
    Variable logits = model_->forward(Variable(codes.to(dev)));  // (N, 256, O)
    check(logits.size(2) == output_, "audio task: the model returned {} steps, expected {}", logits.size(2), output_);
    if (correct) {
      const Tensor l = logits.data().to(Device::cpu()).contiguous().to(DType::F32);
      const float* lp = l.data<float>();
      const int64_t* tp = targets.data<int64_t>();
      const int64_t C = l.size(1);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t t = 0; t < output_; ++t) {
          int64_t best = 0;
          for (int64_t c = 1; c < C; ++c)
            if (lp[(n * C + c) * output_ + t] > lp[(n * C + best) * output_ + t]) best = c;
          *correct += double(best == tp[n * output_ + t]);
        }
    }
    return cross_entropy(logits, targets.to(dev), Reduction::Mean, /*class_dim=*/1);
  }

  TrainConfig cfg_;
  AudioSet train_, test_;
  AudioModel* model_ = nullptr;
  int64_t input_ = 0, output_ = 0;
  std::vector<Item> items_, test_items_, train_tiles_;
};

}  // namespace

std::unique_ptr<Task> make_audio_task(const TrainConfig& cfg) { return std::make_unique<AudioTask>(cfg); }

}  // namespace seqnet
