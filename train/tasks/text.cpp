// train/tasks/text.cpp — Penn Treebank characters and words (MODELS.md §10.3–10.4).
//
// The training stream is batchified into batch_size rows (16); windows of seq_len tokens start
// every validseqlen positions (shuffled each epoch); the target is the input shifted by one and
// the loss covers only the last validseqlen positions (the rest is context). The Seq-U-Net's
// planner fixes both sizes (char: 397 / 325), so they come from the model, not the flags.
// Evaluation: char valid / test as one row, word as batch_size rows; each window's mean loss
// weighted by its predicted positions. char: BPC = loss / ln 2; word: perplexity = exp(loss).
#include <cmath>

#include "train/loop/interrupt.h"
#include "core/error.h"
#include "models/heads.h"
#include "ops/ops.h"
#include "train/tasks/task.h"
#include "train/data/text_data.h"

namespace seqnet {
namespace {

class TextTask final : public Task {
 public:
  explicit TextTask(const TrainConfig& cfg) : cfg_(cfg), word_(task_spec(cfg.task).kind == TaskKind::Words) {
    const std::string dir = resolved_data_dir(cfg) + "/ptb";
    corpus_ = word_ ? load_ptb_words(dir) : load_ptb_chars(dir);
    batched_[0] = batchify(corpus_.train, cfg.batch_size);
    batched_[1] = batchify(corpus_.valid, word_ ? cfg.batch_size : 1);
    batched_[2] = batchify(corpus_.test, word_ ? cfg.batch_size : 1);
  }

  void model_options(TaskModelOptions& o) const override {
    if (o.vocab)
      check(*o.vocab == corpus_.vocab.size(), "{} task: --vocab {} disagrees with the {} symbols of the data",
            cfg_.task, *o.vocab, corpus_.vocab.size());
    o.vocab = corpus_.vocab.size();
    if (cfg_.model == "sequnet" && !o.validseqlen) o.validseqlen = cfg_.validseqlen;
  }

  void bind(Module& model) override {
    lm_ = dynamic_cast<LanguageModel*>(&model);
    check(lm_ != nullptr, "{} task: the model is a {}, not a LanguageModel", cfg_.task, model.describe());
    check(lm_->config().vocab == corpus_.vocab.size(), "{} task: the model has {} symbols, the data {}", cfg_.task,
          lm_->config().vocab, corpus_.vocab.size());
    window_ = lm_->input_size(cfg_.seq_len);
    predicted_ = lm_->config().model == "sequnet" ? lm_->output_size(cfg_.seq_len) : cfg_.validseqlen;
    check(predicted_ >= 1 && predicted_ <= window_, "{} task: {} predicted positions in windows of {}", cfg_.task,
          predicted_, window_);
    for (int s = 0; s < 3; ++s) {
      const WindowRule rule = (word_ && s > 0) ? WindowRule::Eval : WindowRule::Train;
      starts_[s] = window_starts(batched_[s].size(1), window_, predicted_, rule);
      check(!starts_[s].empty(), "{} task: the {} split ({} tokens per row) is too short for windows of {}", cfg_.task,
            split_name(Split(s)), batched_[s].size(1), window_);
    }
  }

  int64_t steps_per_epoch() const override { return int64_t(starts_[0].size()); }
  void start_epoch(Generator& gen) override { order_ = shuffled_indices(int64_t(starts_[0].size()), gen); }

  StepLoss train_loss(Module&, int64_t step) override {
    check(!order_.empty(), "text task: start_epoch was not called");
    const int64_t start = starts_[0][size_t(order_[size_t(step)])];
    Variable loss = window_loss(0, start);
    return {loss, loss.item(), batched_[0].size(0), fmt::format("train window at column {} of the {} rows", start, batched_[0].size(0))};
  }

  EvalResult evaluate(Module&, Split split, int64_t max_batches) override {
    const int s = int(split);
    double total = 0;
    int64_t count = 0, batches = 0;
    for (int64_t start : starts_[s]) {
      if (max_batches > 0 && batches++ >= max_batches) break;
      throw_if_stop_requested("evaluation");
      const int64_t n = batched_[s].size(0) * predicted_;
      total += window_loss(s, start).item() * double(n);
      count += n;
    }
    EvalResult r;
    r.count = count;
    r.loss = total / double(std::max<int64_t>(count, 1));
    if (word_) r.metrics["ppl"] = std::exp(r.loss);
    else r.metrics["bpc"] = r.loss / std::log(2.0);
    return r;
  }

  std::string describe() const override {
    return fmt::format("PTB {}: {} symbols; {} / {} / {} tokens; train as {} rows; windows of {} predicting the last {}",
                       word_ ? "words" : "characters", corpus_.vocab.size(), corpus_.train.numel(),
                       corpus_.valid.numel(), corpus_.test.numel(), batched_[0].size(0), window_, predicted_);
  }

  nlohmann::json info() const override { return {{"vocab", corpus_.vocab.symbols}}; }

 private:
  Variable window_loss(int s, int64_t start) {
    Tensor input, target;
    make_window(batched_[s], start, window_, input, target);
    const Device dev = device_of(*lm_);
    Variable last = lm_->forward(Variable(input.to(dev)), predicted_);  // (N, predicted, vocab)
    Tensor tgt = target.narrow(1, window_ - predicted_, predicted_).contiguous().to(dev);
    return cross_entropy(last, tgt, Reduction::Mean, /*class_dim=*/2);
  }

  TrainConfig cfg_;
  bool word_;
  TextCorpus corpus_;
  Tensor batched_[3];
  std::vector<int64_t> starts_[3];
  std::vector<int64_t> order_;
  LanguageModel* lm_ = nullptr;
  int64_t window_ = 0, predicted_ = 0;
};

}  // namespace

std::unique_ptr<Task> make_text_task(const TrainConfig& cfg) { return std::make_unique<TextTask>(cfg); }

}  // namespace seqnet
