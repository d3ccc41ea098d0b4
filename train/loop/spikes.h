// train/loop/spikes.h — notices a training step whose loss or gradient norm jumps far above the
// recent steps', so a run reports *which* step blew up (epoch, step, the examples, the gradient
// norm) instead of only a bad epoch average.
//
// A step is a spike when, after a warm-up of kWarmup steps, its loss exceeds both loss_factor × the
// median loss of the last kWindow steps and that median + loss_margin (in the task's reported
// units, nats for every cross-entropy task: without the margin a converged copy-memory run, median
// 0.003, would flag every batch with one wrong digit), or its gradient norm (before clipping)
// exceeds grad_factor × their median gradient norm (JSB at lr 1e-3 swings 30× routinely). Medians,
// not means: one spike in the window does not raise the bar for the next. The trainer writes every
// spike to metrics.jsonl as {"type": "spike", ...}, prints the first few of an epoch, and counts
// them in the epoch record and line.
#pragma once
#include <algorithm>
#include <cstddef>
#include <deque>
#include <vector>

namespace seqnet {

class SpikeDetector {
 public:
  static constexpr size_t kWindow = 64, kWarmup = 16;
  double loss_factor = 5.0, loss_margin = 1.0, grad_factor = 50.0;

  struct Verdict {
    bool spike = false;
    double median_loss = 0, median_grad_norm = 0;
  };

  // Judges one step against the window of the steps before it, then adds it to the window.
  Verdict observe(double loss, double grad_norm) {
    Verdict v;
    if (losses_.size() >= kWarmup) {
      v.median_loss = median(losses_), v.median_grad_norm = median(norms_);
      v.spike = (loss > loss_factor * v.median_loss && loss > v.median_loss + loss_margin) ||
                grad_norm > grad_factor * v.median_grad_norm;
    }
    losses_.push_back(loss), norms_.push_back(grad_norm);
    if (losses_.size() > kWindow) losses_.pop_front(), norms_.pop_front();
    return v;
  }
  void reset() { losses_.clear(), norms_.clear(); }

 private:
  static double median(const std::deque<double>& d) {
    std::vector<double> v(d.begin(), d.end());
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(v.size() / 2), v.end());
    return v[v.size() / 2];
  }
  std::deque<double> losses_, norms_;
};

}  // namespace seqnet
