// train/tasks/music.cpp — polyphonic music (MODELS.md §10.2): JSB Chorales, Nottingham,
// MuseData, Piano-midi.de as 88-key piano rolls from the .mat files.
//
// Official set-up: one sequence per step (batch 1), a new random order every epoch, loss =
// BCE-with-logits summed over frames and keys; the reported NLL is Σ loss / Σ frames.
// Extension: --batch_size B > 1 puts B sequences of different lengths into one padded batch
// with a frame mask, and the masked sum equals the sum of the B batch-1 losses (a test checks
// this to rounding), so the NLL does not depend on the batch size.
#include <algorithm>

#include "train/loop/interrupt.h"
#include "core/error.h"
#include "models/heads.h"
#include "ops/ops.h"
#include "train/data/music_data.h"
#include "train/tasks/task.h"

namespace seqnet {

MusicBatch make_music_batch(const std::vector<const Tensor*>& seqs, const PolyMusicModel& model, DType dtype) {
  check(!seqs.empty(), "make_music_batch: no sequences");
  const int64_t N = int64_t(seqs.size());
  std::vector<int64_t> T(seqs.size()), at(seqs.size());
  int64_t L = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    check(seqs[i]->dim() == 2 && seqs[i]->size(1) == kPianoKeys && seqs[i]->size(0) >= 2,
          "music batch: sequence {} must be (L >= 2, 88), got {}", i, seqs[i]->describe());
    T[i] = seqs[i]->size(0) - 1;                // predicted frames
    at[i] = model.aligned_length(T[i]);         // row i's frames end at this position
    L = std::max(L, at[i]);
  }
  MusicBatch b;
  b.input = Tensor::zeros({N, L, kPianoKeys}, dtype);
  b.target = Tensor::zeros({N, L, kPianoKeys}, dtype);
  b.mask = Tensor::zeros({N, L, 1}, dtype);
  for (int64_t i = 0; i < N; ++i) {
    Tensor in, tgt;
    music_input_target(*seqs[size_t(i)], in, tgt);
    const int64_t front = at[size_t(i)] - T[size_t(i)];
    b.input.select(0, i).narrow(0, front, T[size_t(i)]).copy_(in);
    b.target.select(0, i).narrow(0, front, T[size_t(i)]).copy_(tgt);
    b.mask.select(0, i).narrow(0, front, T[size_t(i)]).fill_(1.0);
    b.frames += T[size_t(i)];
  }
  return b;
}

Variable music_batch_loss(PolyMusicModel& model, const MusicBatch& b) {
  const Device dev = device_of(model);  // the batch is built on the host; to() is a no-op there
  Variable logits = model.forward(Variable(b.input.to(dev)));
  check(logits.size(1) == b.input.size(1), "music loss: the model returned {} frames for {} input frames",
        logits.size(1), b.input.size(1));
  Variable per = bce_with_logits(logits, Variable(b.target.to(dev)), Reduction::None);
  return sum(mul(per, Variable(b.mask.to(dev))));
}

namespace {

class MusicTask final : public Task {
 public:
  explicit MusicTask(const TrainConfig& cfg) : cfg_(cfg) {
    path_ = resolved_data_dir(cfg) + "/" + music_file_name(cfg.task);
    data_ = load_music_mat(path_);
    for (auto* s : {&data_.train, &data_.valid, &data_.test})
      for (const Tensor& t : *s)
        check(t.size(0) >= 2, "{}: a sequence of {} frame(s) has nothing to predict", path_, t.size(0));
  }

  void bind(Module& model) override {
    model_ = dynamic_cast<PolyMusicModel*>(&model);
    check(model_ != nullptr, "music task: the model is a {}, not a PolyMusicModel", model.describe());
  }

  int64_t steps_per_epoch() const override {
    return (int64_t(data_.train.size()) + cfg_.batch_size - 1) / cfg_.batch_size;
  }
  int64_t longest_example() const override {
    int64_t m = 0;
    for (const Tensor& t : data_.train) m = std::max(m, t.size(0));
    return m;
  }
  void start_epoch(Generator& gen) override { order_ = shuffled_indices(int64_t(data_.train.size()), gen); }

  StepLoss train_loss(Module&, int64_t step) override {
    check(!order_.empty(), "music task: start_epoch was not called");
    std::vector<const Tensor*> seqs;
    std::vector<std::string> ids;
    for (int64_t k = step * cfg_.batch_size; k < std::min<int64_t>((step + 1) * cfg_.batch_size, int64_t(order_.size()));
         ++k) {
      const Tensor& seq = data_.train[size_t(order_[size_t(k)])];
      seqs.push_back(&seq);
      ids.push_back(fmt::format("{} ({} frames)", order_[size_t(k)], seq.size(0)));
    }
    MusicBatch b = make_music_batch(seqs, *model_, dtype());
    Variable loss = music_batch_loss(*model_, b);
    return {loss, loss.item() / double(b.frames), int64_t(seqs.size()),
            fmt::format("train sequence{} {}", ids.size() == 1 ? "" : "s", fmt::join(ids, ", "))};
  }

  EvalResult evaluate(Module&, Split split, int64_t max_batches) override {
    const auto& set = split == Split::Train ? data_.train : split == Split::Valid ? data_.valid : data_.test;
    double total = 0;
    int64_t frames = 0, batches = 0;
    for (size_t k = 0; k < set.size() && (max_batches <= 0 || batches < max_batches); ++batches) {
      throw_if_stop_requested("evaluation");
      std::vector<const Tensor*> seqs;
      for (; k < set.size() && int64_t(seqs.size()) < cfg_.batch_size; ++k) seqs.push_back(&set[k]);
      MusicBatch b = make_music_batch(seqs, *model_, dtype());
      total += music_batch_loss(*model_, b).item();
      frames += b.frames;
    }
    EvalResult r;
    r.count = frames;
    r.loss = total / double(std::max<int64_t>(frames, 1));
    r.metrics["nll"] = r.loss;
    return r;
  }

  std::string describe() const override {
    auto frames = [](const std::vector<Tensor>& s) {
      int64_t f = 0;
      for (const Tensor& t : s) f += t.size(0);
      return f;
    };
    return fmt::format("{}: {} / {} / {} train / valid / test sequences ({} / {} / {} frames), batch {}", path_,
                       data_.train.size(), data_.valid.size(), data_.test.size(), frames(data_.train),
                       frames(data_.valid), frames(data_.test), cfg_.batch_size);
  }

 private:
  DType dtype() const { return model_->params().entries().front().var.dtype(); }

  TrainConfig cfg_;
  std::string path_;
  MusicSet data_;
  PolyMusicModel* model_ = nullptr;
  std::vector<int64_t> order_;
};

}  // namespace

std::unique_ptr<Task> make_music_task(const TrainConfig& cfg) { return std::make_unique<MusicTask>(cfg); }

}  // namespace seqnet
