// train/tasks/synthetic.cpp — the synthetic tasks: copy memory (MODELS.md §10.1) and the adding
// problem (TCN paper). The data is generated once from the run's seed (train, then valid, then
// test, from one generator), so a resumed run sees exactly the same examples. As in the official
// scripts the training set is visited in order, batch by batch (the last batch may be smaller).
#include <algorithm>
#include <cmath>

#include "train/loop/interrupt.h"
#include "core/error.h"
#include "models/heads.h"
#include "ops/ops.h"
#include "train/data/synthetic_data.h"
#include "models/sizes.h"
#include "train/tasks/task.h"
#include "train/tasks/task_memory.h"

namespace seqnet {
namespace {

class SyntheticTask final : public Task {
 public:
  explicit SyntheticTask(const TrainConfig& cfg) : cfg_(cfg), copy_(task_spec(cfg.task).kind == TaskKind::CopyMemory) {
    // The data sets are generated up front: check they fit before allocating them.
    const CheckedSize c{cfg.task + " task"};
    const int64_t T = copy_ ? c.add(cfg.blank_len, 20) : cfg.seq_len;
    const int64_t n = c.add(c.add(cfg.n_train, cfg.n_valid), cfg.n_test);
    // copy: x (n, 1, T) f32 and y (n, 10) i64; adding: x (n, 2, T) f32 and y (n, 1) f32
    const int64_t bytes = copy_ ? c.add(c.mul(n, T, 4), c.mul(n, 80)) : c.add(c.mul(n, T, 8), c.mul(n, 4));
    check_fits_in_memory(double(bytes),
                         fmt::format("{} task: the data sets (--n_train + --n_valid + --n_test = {} sequences of {} "
                                     "steps)",
                                     cfg.task, n, T),
                         Device::cpu());
    Generator data_gen(cfg.seed ^ 0x5EC0DA7Aull);
    auto make = [&](int64_t n, Tensor& x, Tensor& y) {
      if (copy_) make_copy_memory(n, cfg.blank_len, data_gen, x, y);
      else make_adding(n, cfg.seq_len, data_gen, x, y);
    };
    make(cfg.n_train, x_[0], y_[0]);
    make(cfg.n_valid, x_[1], y_[1]);
    make(cfg.n_test, x_[2], y_[2]);
  }

  void bind(Module& model) override {
    check((copy_ && dynamic_cast<CopyMemoryModel*>(&model)) || (!copy_ && dynamic_cast<AddingModel*>(&model)),
          "{} task: the model is a {}, not a {} model", cfg_.task, model.describe(), copy_ ? "copy-memory" : "adding");
  }

  int64_t steps_per_epoch() const override { return (x_[0].size(0) + cfg_.batch_size - 1) / cfg_.batch_size; }
  void start_epoch(Generator&) override {}

  StepLoss train_loss(Module& model, int64_t step) override {
    const int64_t n = x_[0].size(0), b0 = step * cfg_.batch_size, nb = std::min(cfg_.batch_size, n - b0);
    check(nb > 0, "{} task: step {} is past the end of the training set", cfg_.task, step);
    Tensor x = x_[0].narrow(0, b0, nb).to(dtype_of(model)).to(device_of(model)),
           y = y_[0].narrow(0, b0, nb).contiguous();
    Variable loss = loss_of(model.forward(Variable(x)), y, nullptr);
    return {loss, loss.item(), nb, fmt::format("train examples {} to {}", b0, b0 + nb - 1)};
  }

  EvalResult evaluate(Module& model, Split split, int64_t max_batches) override {
    const Tensor& X = x_[int(split)];
    const Tensor& Y = y_[int(split)];
    const int64_t n = X.size(0);
    double loss_sum = 0, correct = 0;
    int64_t count = 0, batches = 0;
    for (int64_t b0 = 0; b0 < n && (max_batches <= 0 || batches < max_batches); b0 += cfg_.batch_size, ++batches) {
      throw_if_stop_requested("evaluation");
      const int64_t nb = std::min(cfg_.batch_size, n - b0);
      Tensor x = X.narrow(0, b0, nb).to(dtype_of(model)).to(device_of(model)), y = Y.narrow(0, b0, nb).contiguous();
      double c = 0;
      Variable loss = loss_of(model.forward(Variable(x)), y, &c);
      loss_sum += loss.item() * double(nb);
      correct += c;
      count += nb;
    }
    EvalResult r;
    r.count = count;
    r.loss = loss_sum / double(std::max<int64_t>(count, 1));
    if (copy_) {
      r.metrics["accuracy"] = correct / double(std::max<int64_t>(count * 10, 1));
      r.metrics["ce"] = r.loss;
    } else {
      r.metrics["mse"] = r.loss;
    }
    return r;
  }

  std::string describe() const override {
    if (copy_)
      return fmt::format("copy memory: T = {} blanks (sequences of {}), {} / {} / {} train / valid / test sequences",
                         cfg_.blank_len, cfg_.blank_len + 20, cfg_.n_train, cfg_.n_valid, cfg_.n_test);
    return fmt::format("adding problem: length {}, {} / {} / {} train / valid / test sequences", cfg_.seq_len,
                       cfg_.n_train, cfg_.n_valid, cfg_.n_test);
  }

 private:
  static DType dtype_of(Module& m) { return m.params().entries().front().var.dtype(); }

  // copy: mean cross-entropy over the 10 recalled digits (logits (N, 10, classes));
  // adding: mean squared error of the (N, 1) predictions. `correct` (if given) gets the number
  // of correctly recalled digits (copy) — evaluation only. `y` is on the host; `out` on the
  // model's device.
  Variable loss_of(const Variable& out, const Tensor& y, double* correct) const {
    if (copy_) {
      if (correct) {
        const Tensor logits = out.data().to(Device::cpu()).contiguous().to(DType::F64);
        const int64_t n = logits.size(0), steps = logits.size(1), classes = logits.size(2);
        const double* l = logits.data<double>();
        const int64_t* t = y.data<int64_t>();
        for (int64_t i = 0; i < n * steps; ++i) {
          const double* row = l + i * classes;
          *correct += double(std::max_element(row, row + classes) - row == t[i]);
        }
      }
      return cross_entropy(out, y.to(out.data().device()), Reduction::Mean, /*class_dim=*/2);
    }
    Variable diff = sub(out, Variable(y.to(out.dtype()).to(out.data().device())));
    return mean(mul(diff, diff));
  }

  TrainConfig cfg_;
  bool copy_;
  Tensor x_[3], y_[3];
};

}  // namespace

std::unique_ptr<Task> make_synthetic_task(const TrainConfig& cfg) { return std::make_unique<SyntheticTask>(cfg); }

}  // namespace seqnet
