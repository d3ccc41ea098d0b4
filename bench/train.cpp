// bench/train.cpp — the training step of every paper configuration, timed the way
// ../shared/baselines/torch_bench.py times PyTorch's, so that the two can be set side by side
// (bench/compare-pytorch runs both, interleaved, and prints the ratio table).
//
//   build/bench/train [--configs all|jsb_tcn,char_sequnet,...] [--steps 10] [--warmup 2]
//                     [--audio-batch 1] [--audio-output 2000] [--threads N] [--device cpu|cuda[:N]]
//                     [--json FILE]
//
// A step is what the official scripts do per batch: zero_grad → forward → loss → backward → clip
// (when the script clips) → Adam. The batch is random but has the task's real shapes (the same
// as torch_bench.py's build_case: a piano roll of the mean piece length at batch 1, 16 windows
// of PTB tokens, 32 copy-memory sequences of T = 1000, raw audio at batch 1 with 2000 outputs),
// and the model is the task's model at the official README sizes (train/tasks/task_table.cpp).
//
// Reported per configuration (JSON on stdout, and in --json FILE): median / min / max and the
// interquartile range of ms per step; GFLOP/s = 3 × 2 × forward multiply-adds / median (the
// convention torch_bench.py uses; multiply-adds from models/sizes.h); memory in MiB from the
// allocator's accounting: `persistent` = weights + gradients + Adam state, `transient` = the
// step's own high-water mark above everything that lived before it (the batch and the data are
// not counted), `tensor_peak` = their sum (torch_bench.py's tensor_peak_MB). With --device cuda
// the model, the batch and the optimiser live on the GPU, the accounting is the GPU allocator's,
// and a step ends when its loss has been read back to the host (which waits for the stream).
// --json FILE is rewritten after every configuration ("complete": false until the last), so a run
// stopped by a time limit keeps what it measured; a configuration that fails gets a row with its
// "error" and the others still run (exit status 1).
// `host_ms` is the median time until the step's last work is queued, before that final read:
// on a GPU, a host_ms close to median_ms means the host (launches, waits inside the step such as
// the clipping norm) bounds the step, not the GPU.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/atomic_file.h"
#include "core/device_api.h"
#include "core/json.h"
#include "core/runtime.h"
#include "models/heads.h"
#include "ops/ops.h"
#include "train/data/synthetic_data.h"
#include "train/loop/config.h"
#include "train/loop/optim.h"
#include "train/tasks/task.h"
#include "train/tasks/task_memory.h"
#include "train/tasks/task_model.h"

using namespace seqnet;

namespace {

struct Options {
  std::vector<std::string> configs;
  int steps = 10, warmup = 2;
  int64_t audio_batch = 1, audio_output = 2000;
  std::string json;
  Device device = Device::cpu();
};

const std::vector<std::string> kAllConfigs = {
    "jsb_tcn",  "jsb_sequnet",  "nott_tcn",  "nott_sequnet", "char_tcn",         "char_sequnet",  "word_tcn",
    "word_sequnet", "copy_tcn", "copy_sequnet", "copy_sequnet_res", "audio_wavenet", "audio_sequnet"};

// One configuration: the task's model at its README sizes, a random batch of the task's shapes,
// and the loss the task's training step computes.
struct Case {
  std::string name, task, model;
  TrainConfig cfg;
  TaskModel tm;
  std::function<Variable()> loss;
  std::string shape;  // the batch, in words
  double forward_macs = 0;
};

// The mean piece length of the official training sets minus one (torch_bench.py's POLY_LEN).
int64_t poly_len(const std::string& task) { return task == "jsb" ? 59 : 253; }

Case build_case(const std::string& name, const Options& opt, Generator& gen) {
  Case c;
  c.name = name;
  const std::string prefix = name.substr(0, name.find('_'));
  c.model = name.substr(name.find('_') + 1);
  c.task = prefix == "nott" ? "nottingham" : prefix;
  if (c.task == "audio" && c.model == "sequnet") c.model = "sequnet_res";
  c.cfg = TrainConfig::defaults(c.task, c.model);
  TaskModelOptions o;
  if (c.task == "char") o.vocab = 49;
  if (c.task == "word") o.vocab = 10000;
  if (c.task == "audio") {
    o.output_size = opt.audio_output;
    c.cfg.batch_size = opt.audio_batch;
  }
  c.cfg.model_opts = o;
  const MemoryEstimate est = estimate_training_memory(c.cfg, o, poly_len(c.task));
  check_training_memory(est, c.cfg, opt.device);
  c.forward_macs = est.forward_macs;
  c.tm = build_task_model(c.task, c.model, o, gen);
  Module* m = c.tm.model.get();
  const Device dev = opt.device;
  m->params().store_on(dev);
  m->set_generator(&gen);
  m->set_training(true);
  const TaskKind kind = task_spec(c.task, c.model).kind;
  if (kind == TaskKind::Music) {
    const int64_t T = poly_len(c.task);
    Tensor roll = Tensor::uniform({T + 1, 88}, 0.0, 1.0, DType::F32, gen);
    float* r = roll.data<float>();
    for (int64_t i = 0; i < roll.numel(); ++i) r[i] = r[i] < 0.05f ? 1.0f : 0.0f;  // ~4 keys per frame
    auto* pm = dynamic_cast<PolyMusicModel*>(m);
    auto batch = std::make_shared<MusicBatch>(make_music_batch({&roll}, *pm, DType::F32));
    batch->input = batch->input.to(dev);
    batch->target = batch->target.to(dev);
    batch->mask = batch->mask.to(dev);
    c.loss = [pm, batch] { return music_batch_loss(*pm, *batch); };
    c.shape = fmt::format("1 × {} frames × 88 keys", T);
  } else if (kind == TaskKind::Characters || kind == TaskKind::Words) {
    auto* lm = dynamic_cast<LanguageModel*>(m);
    const int64_t B = c.cfg.batch_size, L = lm->input_size(c.cfg.seq_len);
    const int64_t predicted = c.model == "sequnet" ? lm->output_size(c.cfg.seq_len) : c.cfg.validseqlen;
    const int64_t vocab = *o.vocab;
    Tensor u = Tensor::uniform({B, L + 1}, 0.0, double(vocab), DType::F64, gen);
    Tensor tok = Tensor::empty({B, L + 1}, DType::I64);
    for (int64_t i = 0; i < tok.numel(); ++i)
      tok.data<int64_t>()[i] = std::min<int64_t>(vocab - 1, int64_t(u.data<double>()[i]));
    Tensor x = tok.narrow(1, 0, L).contiguous().to(dev);
    Tensor y = tok.narrow(1, L + 1 - predicted, predicted).contiguous().to(dev);
    c.loss = [lm, x, y, predicted] {
      return cross_entropy(lm->forward(Variable(x), predicted), y, Reduction::Mean, /*class_dim=*/2);
    };
    c.shape = fmt::format("{} × {} tokens, loss on the last {}", B, L, predicted);
  } else if (kind == TaskKind::CopyMemory) {
    Tensor x, y;
    make_copy_memory(c.cfg.batch_size, c.cfg.blank_len, gen, x, y);
    x = x.to(dev);
    y = y.to(dev);
    c.loss = [m, x, y] { return cross_entropy(m->forward(Variable(x)), y, Reduction::Mean, /*class_dim=*/2); };
    c.shape = fmt::format("{} × {} steps", c.cfg.batch_size, x.size(2));
  } else if (kind == TaskKind::Audio) {
    const int64_t B = c.cfg.batch_size, I = est.window;
    Tensor u = Tensor::uniform({B, I}, 0.0, 256.0, DType::F64, gen);
    Tensor codes = Tensor::empty({B, I}, DType::I64);
    for (int64_t i = 0; i < codes.numel(); ++i) codes.data<int64_t>()[i] = std::min<int64_t>(255, int64_t(u.data<double>()[i]));
    const int64_t O = [&] {
      NoGradGuard ng;
      return m->forward(Variable(codes.to(dev))).size(2);
    }();
    Tensor y = Tensor::empty({B, O}, DType::I64);
    for (int64_t i = 0; i < y.numel(); ++i) y.data<int64_t>()[i] = codes.data<int64_t>()[i % I];
    codes = codes.to(dev);
    y = y.to(dev);
    c.loss = [m, codes, y] { return cross_entropy(m->forward(Variable(codes)), y, Reduction::Mean, /*class_dim=*/1); };
    c.shape = fmt::format("{} × {} samples → {} outputs", B, I, O);
  } else {
    fail(fmt::format("bench/train: no batch for task {}", c.task));
  }
  return c;
}

struct Result {
  std::string name, shape;
  int64_t params = 0;
  double median_ms = 0, min_ms = 0, max_ms = 0, iqr_ms = 0, gflops = 0, final_loss = 0, host_ms = 0;
  double persistent_mib = 0, transient_mib = 0;
};

Result run_case(Case& c, const Options& opt) {
  Module& m = *c.tm.model;
  const std::vector<Variable> params = m.params().unique();
  Adam adam(params, c.cfg.lr, 0.9, 0.999, 1e-8);
  Allocator& alloc = device_api(opt.device).allocator();
  std::vector<double> ms, host;
  double transient = 0, loss_value = 0;
  for (int i = 0; i < opt.warmup + opt.steps; ++i) {
    const int64_t live = alloc.stats().live_bytes;
    alloc.reset_peak();
    const auto t0 = std::chrono::steady_clock::now();
    adam.zero_grad();
    Variable loss = c.loss();
    loss.backward();
    if (c.cfg.clip > 0) clip_grad_norm(params, c.cfg.clip);
    adam.step();
    const auto t1 = std::chrono::steady_clock::now();
    loss_value = loss.item();
    const double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= opt.warmup) {
      ms.push_back(dt);
      host.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      transient = std::max(transient, double(alloc.stats().peak_bytes - live));
    }
  }
  std::vector<double> s = ms;
  std::sort(s.begin(), s.end());
  Result r;
  r.name = c.name;
  r.shape = c.shape;
  r.params = m.params().count();
  r.median_ms = s[s.size() / 2];
  std::sort(host.begin(), host.end());
  r.host_ms = host[host.size() / 2];
  r.min_ms = s.front();
  r.max_ms = s.back();
  r.iqr_ms = s.size() >= 4 ? s[(3 * s.size()) / 4] - s[s.size() / 4] : 0;
  r.gflops = 6 * c.forward_macs / 1e9 / (r.median_ms / 1e3);
  r.final_loss = loss_value;
  r.persistent_mib = double(r.params) * 4 * 4 / double(1 << 20);  // weights, gradients, Adam's two moments
  r.transient_mib = transient / double(1 << 20);
  return r;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

int usage(const char* argv0) {
  fmt::print(stderr,
             "usage: {} [--configs all|NAME,...] [--steps N] [--warmup N] [--audio-batch N] [--audio-output N] "
             "[--device cpu|cuda[:N]] [--json FILE]\n  (threads: SEQNET_THREADS or --threads N; configurations: {})\n",
             argv0, fmt::join(kAllConfigs, ", "));
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  opt.configs = kAllConfigs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--configs" && has_value) {
      const std::string v = argv[++i];
      opt.configs = v == "all" ? kAllConfigs : split_list(v);
    } else if (a == "--steps" && has_value) {
      opt.steps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--warmup" && has_value) {
      opt.warmup = std::max(0, std::atoi(argv[++i]));
    } else if (a == "--audio-batch" && has_value) {
      opt.audio_batch = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--audio-output" && has_value) {
      opt.audio_output = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--threads" && has_value) {
      setenv("SEQNET_THREADS", argv[++i], 1);
    } else if (a == "--device" && has_value) {
      try {
        opt.device = parse_device(argv[++i], "--device");
      } catch (const std::exception& e) {
        fmt::print(stderr, "bench/train: {}\n", e.what());
        return 2;
      }
    } else if (a == "--json" && has_value) {
      opt.json = argv[++i];
    } else {
      return usage(argv[0]);
    }
  }
  for (const std::string& n : opt.configs)
    if (std::find(kAllConfigs.begin(), kAllConfigs.end(), n) == kAllConfigs.end()) {
      fmt::print(stderr, "bench/train: unknown configuration '{}'\n", n);
      return usage(argv[0]);
    }
  try {
    init_runtime();
    device_api(opt.device);  // fails at once, saying why, when the device cannot be used
    const BlasInfo blas = blas_info();
    const std::string head = fmt::format(
        "{{\n  \"bench\": \"train\",\n  \"device\": \"{}\",\n  \"threads\": {},\n  \"blas\": "
        "\"{}\",\n  \"blas_config\": \"{}\",\n  \"steps\": {},\n  \"warmup\": {},\n",
        opt.device.str(), num_threads(), opt.device.is_cpu() ? blas.library : std::string("cuBLAS"),
        opt.device.is_cpu() ? blas.config : std::string(), opt.steps, opt.warmup);
    // One row per configuration; a configuration that fails (out of memory, say) gets a row with
    // its error and the others still run. --json FILE is rewritten (atomically) after every row,
    // "complete": false until the last, so a run stopped by a time limit keeps what it measured.
    std::vector<std::string> rows;
    auto document = [&](bool complete) {
      std::string out = head + fmt::format("  \"complete\": {},\n  \"results\": [\n", complete ? "true" : "false");
      for (size_t k = 0; k < rows.size(); ++k) out += "    " + rows[k] + (k + 1 < rows.size() ? ",\n" : "\n");
      return out + "  ]\n}\n";
    };
    if (!opt.json.empty()) write_file_atomic(opt.json, document(false), "bench/train --json");  // writable?
    int failed = 0;
    for (size_t k = 0; k < opt.configs.size(); ++k) {
      try {
        Generator gen(1111);
        Case c = build_case(opt.configs[k], opt, gen);
        const Result r = run_case(c, opt);
        rows.push_back(fmt::format(
            "{{\"config\": \"{}\", \"task\": \"{}\", \"model\": \"{}\", \"params\": {}, \"batch\": \"{}\", "
            "\"median_ms\": {:.3f}, \"host_ms\": {:.3f}, \"min_ms\": {:.3f}, \"max_ms\": {:.3f}, \"iqr_ms\": {:.3f}, "
            "\"gflops_per_s\": {:.2f}, "
            "\"persistent_mib\": {:.2f}, \"transient_mib\": {:.2f}, \"tensor_peak_mib\": {:.2f}, \"final_loss\": "
            "{:.6g}}}",
            r.name, c.task, c.model, r.params, r.shape, r.median_ms, r.host_ms, r.min_ms, r.max_ms, r.iqr_ms, r.gflops,
            r.persistent_mib, r.transient_mib, r.persistent_mib + r.transient_mib, r.final_loss));
        fmt::print(stderr, "{:<17} {:>9.2f} ms/step (host {:.2f})  {:>6.1f} GFLOP/s  peak {:>8.1f} MiB  ({})\n", r.name,
                   r.median_ms, r.host_ms, r.gflops, r.persistent_mib + r.transient_mib, r.shape);
      } catch (const Error& e) {
        ++failed;
        rows.push_back(fmt::format("{{\"config\": \"{}\", \"error\": {}}}", opt.configs[k],
                                   nlohmann::json(std::string(e.what())).dump()));
        fmt::print(stderr, "{:<17} error: {}\n", opt.configs[k], e.what());
      }
      if (!opt.json.empty()) write_file_atomic(opt.json, document(false), "bench/train --json");
    }
    const std::string out = document(true);
    fmt::print("{}", out);
    if (!opt.json.empty()) write_file_atomic(opt.json, out, "bench/train --json");
    if (failed > 0) return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench/train: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
