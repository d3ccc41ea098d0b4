// train/tasks/task_memory.cpp — see the header. One function per task kind picks the window and
// the model's shape exactly as train/tasks/task_model.cpp builds it.
#include "train/tasks/task_memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/device_api.h"
#include "core/error.h"
#include "models/planning.h"
#include "models/sizes.h"
#include "train/tasks/task_table.h"

namespace seqnet {

namespace {

// Tensors a training step holds per feature element (models/sizes.h counts each layer's outputs
// once): what forward keeps for backward (conv outputs, activation outputs, dropout masks) and
// the gradients alive at the peak of backward. Calibrated per model family against the
// allocator's measured step peak (TaskMemory.EstimateTracksTheMeasuredPeak prints the ratios).
double saved_per_feature(const std::string& model) {
  if (model == "sequnet_res") return 0.8;
  if (model == "wavenet") return 1.0;
  if (model == "tcn") return 1.0;  // one tensor per activation + dropout pair (fused: ops/dropout.h)
  return 1.3;                      // sequnet
}
constexpr double kLogitCopies = 3.0;  // logits, their softmax / sigmoid, their gradient

struct Shape {
  ModelSize size;
  int64_t window = 0;          // input time steps per example
  int64_t logits = 0;          // head outputs per example (positions × classes)
  int64_t head_macs = 0;       // the head's multiply-adds per example (decoder, linear)
};

std::vector<int64_t> repeat(int64_t levels, int64_t width) {
  check(levels >= 1 && levels <= (int64_t{1} << 20), "--levels must be in [1, 2^20], got {}", levels);
  return std::vector<int64_t>(size_t(levels), width);
}

Shape text_shape(const TrainConfig& cfg, const TaskModelOptions& o) {
  const CheckedSize c{"language model"};
  // The vocabulary comes from the data; without it (seqnet info) assume a word-sized one.
  const int64_t vocab = o.vocab.value_or(10000), emsize = o.emsize.value(), K = o.ksize.value();
  std::vector<int64_t> ch = repeat(o.levels.value(), o.nhid.value());  // levels − 1 of nhid, then emsize
  ch.back() = emsize;
  Shape s;
  // The decoder (and the TCN, TCN::forward_newest) runs for the predicted positions only.
  int64_t out = cfg.validseqlen > 0 ? std::min(cfg.validseqlen, cfg.seq_len) : cfg.seq_len;
  if (cfg.model == "sequnet") {
    const BasicPlan p = plan_basic_sequnet(K, int64_t(ch.size()), o.validseqlen.value(), false);
    s.window = p.input_size, out = p.output_size;
    s.size = sequnet_size(emsize, ch, emsize, K, s.window, false);
  } else {
    s.window = cfg.seq_len;
    s.size = tcn_size(emsize, ch, K, s.window, out);
  }
  // encoder, decoder (tied: bias only); the embedded input is a feature map too
  s.size.parameters = c.add(s.size.parameters, c.add(c.mul(vocab, emsize), o.tied.value() ? vocab : c.mul(vocab, emsize + 1)));
  s.size.features = c.add(s.size.features, c.mul(emsize, s.window));
  s.logits = c.mul(out, vocab);
  s.head_macs = c.mul(s.logits, emsize);
  return s;
}

Shape music_shape(const TrainConfig& cfg, const TaskModelOptions& o, int64_t longest) {
  const CheckedSize c{"music model"};
  const std::vector<int64_t> ch = repeat(o.levels.value(), o.nhid.value());
  const int64_t K = o.ksize.value(), T = std::max<int64_t>(longest, 2);
  Shape s;
  if (cfg.model == "sequnet") {
    s.window = plan_basic_sequnet(K, int64_t(ch.size()), T, true).input_size;
    s.size = sequnet_size(88, ch, 88, K, s.window, true);
  } else {
    s.window = T;
    s.size = tcn_size(88, ch, K, T);
    s.size.parameters = c.add(s.size.parameters, c.mul(88, ch.back() + 1));  // linear
    s.head_macs = c.mul(T, 88, ch.back());
  }
  s.logits = c.mul(T, 88);
  return s;
}

Shape copy_shape(const TrainConfig& cfg, const TaskModelOptions& o) {
  const CheckedSize c{"copy-memory model"};
  const int64_t nhid = o.nhid.value(), levels = o.levels.value(), K = o.ksize.value();
  Shape s;
  s.window = c.add(cfg.blank_len, 20);
  if (cfg.model == "sequnet") {
    s.window = std::max(s.window, plan_basic_sequnet(K, levels, 10, false).input_size);
    s.size = sequnet_size(1, repeat(levels, nhid), nhid, K, s.window, false);
  } else if (cfg.model == "sequnet_res") {
    s.window = std::max(s.window, plan_residual_sequnet(K, levels, 1, 10).input_size);
    s.size = sequnet_res_size(1, nhid, levels, 1, nhid, K, s.window);
  } else {
    s.size = tcn_size(1, repeat(levels, nhid), K, s.window, 10);
  }
  s.size.parameters = c.add(s.size.parameters, c.mul(10, nhid + 1));
  s.logits = 100;
  s.head_macs = c.mul(100, nhid);
  return s;
}

Shape adding_shape(const TrainConfig& cfg, const TaskModelOptions& o) {
  const CheckedSize c{"adding model"};
  Shape s;
  s.window = cfg.seq_len;
  s.size = tcn_size(2, repeat(o.levels.value(), o.nhid.value()), o.ksize.value(), s.window, 1);
  s.size.parameters = c.add(s.size.parameters, o.nhid.value() + 1);
  s.logits = 1;
  return s;
}

Shape audio_shape(const TrainConfig& cfg, const TaskModelOptions& o) {
  const CheckedSize c{"audio model"};
  const int64_t out = o.output_size.value(), K = o.ksize.value(), C = o.nhid.value();
  Shape s;
  if (cfg.model == "wavenet") {
    check(o.levels.value() <= 62, "--layers must be at most 62, got {}", o.levels.value());
    const int64_t rf = wavenet_receptive_field(K, o.levels.value(), o.depth.value());
    s.window = c.add(rf, out - 1);
    s.size = wavenet_size(o.levels.value(), o.depth.value(), C, C, 512, 256, K, true, s.window);
  } else {
    s.window = plan_residual_sequnet(K, o.levels.value(), o.depth.value(), out).input_size;
    s.size = sequnet_res_size(256, C, o.levels.value(), o.depth.value(), 256, K, s.window);
  }
  // No one-hot input: both models read the codes through lookups (models/one_hot_conv.h).
  s.logits = c.mul(out, 256);
  return s;
}

}  // namespace

std::string format_bytes(double b) {
  if (b >= 1e12) return fmt::format("{:.1f} TB", b / 1e12);
  if (b >= 1e9) return fmt::format("{:.1f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.0f} MB", b / 1e6);
  return fmt::format("{:.0f} kB", b / 1e3);
}

std::string MemoryEstimate::describe() const {
  return fmt::format("≈ {} ({} parameters: {} with gradients and optimiser state; activations {} for batch {} × {} "
                     "steps)",
                     format_bytes(total()), parameters, format_bytes(weight_bytes), format_bytes(activation_bytes),
                     batch, window);
}

MemoryEstimate estimate_training_memory(const TrainConfig& cfg, const TaskModelOptions& user, int64_t longest) {
  const TaskSpec& spec = task_spec(cfg.task, cfg.model);
  const TaskModelOptions o = overlay(spec.model_defaults.at(cfg.model), user);
  Shape s;
  try {
    switch (spec.kind) {
      case TaskKind::Characters:
      case TaskKind::Words: s = text_shape(cfg, o); break;
      case TaskKind::Music: s = music_shape(cfg, o, longest); break;
      case TaskKind::CopyMemory: s = copy_shape(cfg, o); break;
      case TaskKind::Adding: s = adding_shape(cfg, o); break;
      case TaskKind::Audio: s = audio_shape(cfg, o); break;
    }
  } catch (const Error& e) {  // an overflow or a planner refusal: say which configuration
    fail(fmt::format("{} / {}: the sizes of this configuration (nhid {}, levels {}, ksize {}{}) cannot be planned: {}",
                     cfg.task, cfg.model, o.nhid.value_or(0), o.levels.value_or(0), o.ksize.value_or(0),
                     o.output_size ? fmt::format(", output_size {}", *o.output_size) : "", e.what()));
  }
  const double elem = 4;  // f32 training
  const double slots = cfg.optim == "adam" ? 2 : cfg.momentum > 0 ? 1 : 0;
  MemoryEstimate e;
  e.parameters = s.size.parameters;
  e.batch = cfg.batch_size;
  e.window = s.window;
  e.forward_macs = double(cfg.batch_size) * (double(s.size.macs) + double(s.head_macs));
  e.weight_bytes = double(s.size.parameters) * elem * (2 + slots);
  e.activation_bytes = double(cfg.batch_size) * elem *
                       (saved_per_feature(cfg.model) * double(s.size.features) + kLogitCopies * double(s.logits));
  return e;
}

double available_memory_bytes(Device d) {
  if (!d.is_cpu()) return device_api(d).available_bytes();  // a GPU's free memory plus its cache
  double avail = 0;
  {
    std::ifstream f("/proc/meminfo");
    std::string key;
    double kb = 0;
    std::string unit;
    while (f >> key >> kb >> unit)
      if (key == "MemAvailable:") {
        avail = kb * 1024;
        break;
      }
  }
  // A container's limit (cgroup v2), minus what the cgroup already uses.
  std::ifstream max_f("/sys/fs/cgroup/memory.max"), cur_f("/sys/fs/cgroup/memory.current");
  std::string max_s;
  double cur = 0;
  if (max_f >> max_s && max_s != "max" && cur_f >> cur) {
    const double limit = std::strtod(max_s.c_str(), nullptr) - cur;
    if (limit > 0 && (avail == 0 || limit < avail)) avail = limit;
  }
  return avail;
}

void check_training_memory(const MemoryEstimate& e, const TrainConfig& cfg, Device d) {
  const double avail = available_memory_bytes(d);
  if (avail <= 0 || e.total() <= avail) return;
  fail(fmt::format("{} / {}: this configuration needs {} of memory to train, but only {} is available on {}; make "
                   "it smaller (--batch_size, --nhid, --levels, --ksize, the window or --output_size)",
                   cfg.task, cfg.model, e.describe(), format_bytes(avail), d.str()));
}

void check_fits_in_memory(double bytes, const std::string& what, Device d) {
  const double avail = available_memory_bytes(d);
  if (avail <= 0 || bytes <= avail) return;
  fail(fmt::format("{} need {}, but only {} is available on {}", what, format_bytes(bytes), format_bytes(avail),
                   d.str()));
}

}  // namespace seqnet
