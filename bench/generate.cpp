// bench/generate — fast autoregressive generation (step modes, MODELS.md §9) of every model.
//
// Models (randomly initialised, eval mode): WaveNet 13 layers × 4 blocks, residual/dilation 128,
// skip 512, 256 classes, K 2, bias (save input = receptive field 32 765); residual Seq-U-Net C 180,
// 11 levels, depth 2, K 5, 256 in/out (save input = its planned input size for one output); the
// char-PTB TCN and Seq-U-Net and the Nottingham TCN and Seq-U-Net at their README sizes, through
// the task heads' steppers (models/step/head_step.h; save input = the slow path's window: 400 / 397
// symbols, 2 048 frames). The official code has no step mode for those (official 0 in the JSON).
// Per model, weight format (--weights, default f32,f16,i8) and batch size: the save pass (normal
// forward filling the step buffers, one-hot input) and then one-hot steps (step_indices), on the
// calling thread (team 1, single-threaded BLAS) and as a team of num_threads() threads. Reported:
// save seconds (median of --save-repeats runs) and samples/s = batch · steps / seconds (median over
// --repeats runs; 256 steps for WaveNet, one whole clock cycle (1024) for the Seq-U-Net so every
// phase counts). The official PyTorch step modes do 58 (WaveNet) and 404 (Seq-U-Net) samples/s at
// batch 1 on 2 threads; target ≥ 10× (f32), ≥ 20× (8-bit weights).
// The slow path (seqnet generate --slow) costs one full forward of the save length per sample,
// so slow_samples_per_s = batch / save_seconds and fast_over_slow is the step mode's gain.
//
// Memory bandwidth in the same run (before and after the models): a streaming read (sum) over a
// buffer much larger than the L3 cache (DRAM) and over one that fits in L2, on 1 and 2 threads
// (each thread its own part / its own buffer), median GB/s of several passes; and again, shorter,
// right before every result row on as many threads as its team, so that the row's achieved weight
// GB/s reads against what the machine delivered at that moment.
//
// --accuracy PRIME.wav: instead of timing, what f16 and i8 weights cost against f32: the prime
// (16 kHz mono, µ-law codes) is teacher-forced through each model's f32, f16 and i8 steppers after
// the same save pass; per format the max |Δ logit| and the mean / max KL(p_f32 ‖ p_w) of the
// next-sample distributions (softmax of the logits, temperature 1) over --accuracy-steps steps.
//
// To add a model: one function `std::vector<Result> bench_X(const Options&, Generator&)` (build
// the model, then `run_formats`) and one `AccuracyRow`-returning function, and a line in `kModels`.
//
//   build/bench/generate [--repeats N] [--save-repeats N] [--batches 1,16] [--weights f32,f16,i8]
//                        [--only wavenet|sequnet|char_tcn|char_sequnet|music_tcn|music_sequnet] [--quick]
//                        [--bandwidth-mb 256]
//   build/bench/generate --accuracy PRIME.wav [--accuracy-steps 2000] [--only ...]
//   build/bench/generate --device cuda[:N] [--batches 1,16,256] [--repeats N] [--only wavenet|sequnet]
//                        [--loop-grids 0,32,16] [--json FILE]
//
// --device cuda: the two audio models' step modes on the GPU, f32 weights, through the device-side
// generation loop of seqnet generate (models/step/sampling.h: the draw, the feed-back and the step
// all on the GPU, temperature 1), with one recorded step per clock phase (CUDA graphs) and, for
// comparison, with every step's kernels queued one by one, and at batch <= 8 recorded with each
// gated conv as two kernels (recorded_unfused; the default fuses product and gate into one,
// StepKernels::gated_affine); the WaveNet at batch <= 8 also as one
// persistent kernel per 4 096 samples (WaveNetStepper::generate_persistent), on each grid size of
// --loop-grids (0: its default, one block per SM capped by the widest stage; the JSON's
// grid_blocks is the size asked for). samples/s = batch · steps / seconds, median over --repeats
// runs, each run ending when the history is back on the host (WaveNet 2 048 steps; Seq-U-Net
// 4 096 = four clock cycles; a mode whose warm-up run takes over 10 s is timed by that run alone). The official step
// modes on the same GPU come from
// ../shared/baselines/torch_bench.py --device cuda --configs gen_wavenet,gen_sequnet --gen-batch B.
// --json FILE: the same JSON also written to FILE after every model and batch (atomically, with
// "complete": false until the last), so a run stopped by a time limit keeps what it measured.
#include <fmt/format.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "core/atomic_file.h"
#include "core/device_api.h"
#include "core/runtime.h"
#include "models/heads.h"
#include "models/step/head_step.h"
#include "models/step/sampling.h"
#include "models/step/sequnet_res_step.h"
#include "models/step/wavenet_step.h"
#include "ops/loss.h"
#include "train/data/audio_data.h"

using namespace seqnet;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Options {
  int repeats = 5, save_repeats = 1;
  bool quick = false;
  std::vector<int64_t> batches = {1, 16};
  std::vector<step::Weights> formats = {step::Weights::F32, step::Weights::F16, step::Weights::I8};
  std::vector<int> teams = {1};
  std::vector<int64_t> loop_grids = {0, 32, 16};  // --device: the WaveNet's persistent loop, grid sizes (0: default)
  size_t bandwidth_mb = 256;  // the DRAM test's buffer
  int64_t accuracy_steps = 2000;
  std::string json;  // --device: also written here after every model and batch
};

// ---- memory bandwidth ------------------------------------------------------------------------------

// Sum of n floats (n a multiple of 64), 8 independent accumulators so that the loads, not the
// adds, set the pace.
float stream_sum(const float* p, size_t n) {
#if defined(__AVX2__)
  __m256 a[8];
  for (__m256& v : a) v = _mm256_setzero_ps();
  for (size_t i = 0; i < n; i += 64)
    for (int j = 0; j < 8; ++j) a[j] = _mm256_add_ps(a[j], _mm256_load_ps(p + i + 8 * j));
  for (int j = 1; j < 8; ++j) a[0] = _mm256_add_ps(a[0], a[j]);
  alignas(32) float s[8];
  _mm256_store_ps(s, a[0]);
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
#else
  float a[16] = {};
  for (size_t i = 0; i < n; i += 16)
    for (int j = 0; j < 16; ++j) a[j] += p[i + j];
  float s = 0;
  for (float v : a) s += v;
  return s;
#endif
}

struct Bandwidth {
  int threads = 1;
  double dram_gb_per_s = 0, l2_gb_per_s = 0;
};

// DRAM: `threads` threads each stream their own part of one `mb` MB buffer (far beyond the 32 MB
// L3), median of `passes` passes. L2: each thread sums its own 256 KB buffer (L2 is 512 KB+ per
// core on every machine we run on) 512 times per pass.
Bandwidth measure_bandwidth(int threads, size_t mb, int passes) {
  Bandwidth b;
  b.threads = threads;
  const size_t n = mb * (1u << 20) / sizeof(float) / 64 * 64;
  const Tensor big = Tensor::full({int64_t(n)}, 1.0, DType::F32);  // touched: pages really mapped
  const float* p = big.data<float>();
  volatile float sink = 0;
  std::vector<double> dram, l2;
  for (int pass = 0; pass < passes; ++pass) {
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      const size_t part = n / size_t(omp_get_num_threads()) / 64 * 64;
      const float s = stream_sum(p + part * size_t(omp_get_thread_num()), part);
      if (s == -1.0f) sink = s;
    }
    dram.push_back(double(n / size_t(threads) / 64 * 64 * size_t(threads)) * 4 / seconds_since(t0) / 1e9);
  }
  const size_t small = 256 * 1024 / sizeof(float);
  const int reps = 512;
  std::vector<Tensor> bufs;
  for (int t = 0; t < threads; ++t) bufs.push_back(Tensor::full({int64_t(small)}, 1.0, DType::F32));
  for (int pass = 0; pass < passes; ++pass) {
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      const float* q = bufs[size_t(omp_get_thread_num())].data<float>();
      float s = 0;
      for (int r = 0; r < reps; ++r) s += stream_sum(q, small);
      if (s == -1.0f) sink = s;
    }
    l2.push_back(double(small) * 4 * reps * threads / seconds_since(t0) / 1e9);
  }
  (void)sink;
  b.dram_gb_per_s = median(dram), b.l2_gb_per_s = median(l2);
  return b;
}

std::vector<Bandwidth> bandwidth_table(int max_threads, size_t mb, int passes) {
  std::vector<Bandwidth> out;
  for (int t = 1; t <= std::min(max_threads, 2); ++t) {
    out.push_back(measure_bandwidth(t, mb, passes));
    fmt::print(stderr, "bandwidth: {} thread{}: DRAM {:.1f} GB/s, L2 {:.1f} GB/s\n", t, t == 1 ? "" : "s",
               out.back().dram_gb_per_s, out.back().l2_gb_per_s);
  }
  return out;
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a.empty() ? "unknown" : a + " " + b + " " + c;
}

// ---- speed ------------------------------------------------------------------------------------------

struct Result {
  std::string model;
  int64_t batch = 0, save_len = 0, steps = 0;
  int team = 1;  // threads splitting each step's rows (1: the calling thread, single-threaded BLAS)
  double save_s = 0, samples_per_s = 0, best_samples_per_s = 0, official = 0;
  std::string weights;         // f32 / f16 / i8
  double step_weight_mb = 0;  // weights one step reads (cycle average for the Seq-U-Net)
  double dram_gb_per_s = 0;   // the bandwidth test's DRAM figure for `team` threads, just before the row
  double l2_gb_per_s = 0;     // and its L2 figure
  std::string load;           // /proc/loadavg when the row was measured
};

// Save on random one-hot codes, then for each team size `repeats` timed runs of `steps` one-hot
// steps (greedy feedback, as in generation).
template <class Stepper>
std::vector<Result> run(Stepper& gen, const std::string& name, int64_t classes, int64_t save_len, int64_t batch,
                        int64_t steps, const Options& opt, double official, Generator& g) {
  NoGradGuard no_grad;
  const Tensor codes = Tensor::uniform({batch, save_len}, 0, double(classes), DType::F32, g).to(DType::I64);
  const Tensor x = one_hot_channels_first(codes, classes);
  std::vector<double> save_t;
  for (int i = 0; i < opt.save_repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    gen.save(x);
    save_t.push_back(seconds_since(t0));
  }
  std::vector<Result> out;
  std::vector<int64_t> idx(static_cast<size_t>(batch));
  for (int64_t n = 0; n < batch; ++n) idx[size_t(n)] = (n * 37) % classes;
  for (int team : opt.teams) {
    gen.set_team_threads(team);
    Result r;
    r.model = name, r.batch = batch, r.save_len = save_len, r.steps = steps, r.official = official;
    r.weights = step::weights_name(gen.weights()), r.step_weight_mb = double(gen.step_weight_bytes()) / 1e6;
    r.team = gen.team_threads();
    // The bandwidth test right before the row, on as many threads as the team: the machine is
    // shared, and what it delivers moves from minute to minute.
    const Bandwidth bw = measure_bandwidth(r.team, opt.bandwidth_mb, 3);
    r.dram_gb_per_s = bw.dram_gb_per_s, r.l2_gb_per_s = bw.l2_gb_per_s;
    r.save_s = median(save_t);
    for (int i = 0; i < 8; ++i) gen.step_indices(idx.data());  // warm-up
    std::vector<double> rate;
    for (int rep = 0; rep < opt.repeats; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      for (int64_t s = 0; s < steps; ++s) {
        const Tensor& y = gen.step_indices(idx.data());
        const float* l = y.data<float>();
        for (int64_t n = 0; n < batch; ++n)
          idx[size_t(n)] = std::max_element(l + n * classes, l + (n + 1) * classes) - (l + n * classes);
      }
      rate.push_back(double(batch * steps) / seconds_since(t0));
    }
    r.samples_per_s = median(rate);
    r.best_samples_per_s = *std::max_element(rate.begin(), rate.end());
    r.load = load_average();
    fmt::print(stderr, "generate: {} {} batch {} team {}: save {:.2f} s ({} samples), {:.0f} samples/s (best {:.0f}; "
               "official {} at batch 1), weights {:.1f} MB/step, {:.1f} GB/s (DRAM test {:.1f})\n",
               name, r.weights, batch, r.team, r.save_s, save_len, r.samples_per_s, r.best_samples_per_s, official,
               r.step_weight_mb, r.step_weight_mb * r.samples_per_s / double(batch) / 1e3, r.dram_gb_per_s);
    out.push_back(r);
  }
  return out;
}

// Every weight format and batch size of one model: `make(format)` builds its stepper.
template <class MakeStepper>
std::vector<Result> run_formats(const Options& opt, const std::string& name, int64_t classes, int64_t save_len,
                                int64_t steps, double official, Generator& g, MakeStepper make) {
  std::vector<Result> out;
  for (step::Weights w : opt.formats) {
    auto gen = make(w);
    for (int64_t b : opt.batches)
      for (const Result& r : run(gen, name, classes, save_len, b, steps, opt, official, g)) out.push_back(r);
  }
  return out;
}

WaveNetConfig wavenet_config() {
  WaveNetConfig c;
  c.layers = 13, c.blocks = 4, c.dilation_channels = 128, c.residual_channels = 128, c.skip_channels = 512;
  c.classes = 256, c.output_length = 1, c.kernel_size = 2, c.bias = true;
  return c;
}

SequnetResConfig sequnet_config() {
  SequnetResConfig c;
  c.num_inputs = 256, c.num_channels = 180, c.num_levels = 11, c.num_outputs = 256, c.kernel_size = 5, c.depth = 2;
  c.target_output_size = 1;
  return c;
}

std::vector<Result> bench_wavenet(const Options& opt, Generator& g) {
  const WaveNetConfig c = wavenet_config();
  WaveNet model(c, g);
  model.set_training(false);
  return run_formats(opt, "wavenet", c.classes, model.receptive_field(), opt.quick ? 64 : 256, 58, g,
                     [&](step::Weights w) { return WaveNetStepper(model, w); });
}

std::vector<Result> bench_sequnet(const Options& opt, Generator& g) {
  const SequnetResConfig c = sequnet_config();
  SequnetRes model(c, g);
  model.set_training(false);
  return run_formats(opt, "sequnet_res", c.num_inputs, model.input_size(), opt.quick ? 256 : model.cycles(), 404, g,
                     [&](step::Weights w) { return SequnetResStepper(model, w); });
}


// ---- the text and music task models, behind the audio steppers' interface ---------------------------
// run() feeds one-hot columns (N, classes, T) and class indices; a language model takes token ids
// (the one-hot's argmax), a music model piano-roll frames (the one-hot column itself).

class TextStepper {
 public:
  TextStepper(LanguageModel& lm, step::Weights w) : st_(lm, w), w_(w) {}
  Tensor save(const Tensor& onehot) {
    const int64_t N = onehot.size(0), C = onehot.size(1), T = onehot.size(2);
    const Tensor x = onehot.contiguous();
    Tensor ids = Tensor::empty({N, T}, DType::I64);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t t = 0; t < T; ++t) {
        int64_t best = 0;
        for (int64_t c = 1; c < C; ++c)
          if (x.data<float>()[(n * C + c) * T + t] > x.data<float>()[(n * C + best) * T + t]) best = c;
        ids.data<int64_t>()[n * T + t] = best;
      }
    return st_.save(ids);
  }
  const Tensor& step_indices(const int64_t* ids) { return st_.step(ids); }
  void set_team_threads(int t) { st_.set_team_threads(t), team_ = t; }
  int team_threads() const { return team_; }
  step::Weights weights() const { return w_; }
  double step_weight_bytes() const { return st_.step_weight_bytes(); }

 private:
  LanguageModelStepper st_;
  step::Weights w_;
  int team_ = 1;
};

class MusicStepper {
 public:
  MusicStepper(PolyMusicModel& m, step::Weights w) : st_(m, w), w_(w), keys_(m.config().input_size) {}
  Tensor save(const Tensor& onehot) {
    frame_ = Tensor::zeros({onehot.size(0), keys_});
    return st_.save(onehot.permute({0, 2, 1}).contiguous());
  }
  const Tensor& step_indices(const int64_t* ids) {  // a frame with one key down per sequence
    float* f = frame_.data<float>();
    std::fill(f, f + frame_.numel(), 0.0f);
    for (int64_t n = 0; n < frame_.size(0); ++n) f[n * keys_ + ids[n]] = 1.0f;
    return st_.step(frame_);
  }
  void set_team_threads(int t) { st_.set_team_threads(t), team_ = t; }
  int team_threads() const { return team_; }
  step::Weights weights() const { return w_; }
  double step_weight_bytes() const { return st_.step_weight_bytes(); }

 private:
  PolyMusicStepper st_;
  step::Weights w_;
  int64_t keys_;
  int team_ = 1;
  Tensor frame_;
};

// The char-PTB models at the README sizes (49 symbols, emsize 100; TCN [600, 600, 600, 100],
// Seq-U-Net [390, 390, 390, 100], K 3). The slow path's window: TCN seq_len 400, Seq-U-Net its
// planned 397 — the save length here, so slow_samples_per_s is one such forward per symbol.
std::vector<Result> bench_char(const Options& opt, Generator& g, const std::string& model, int64_t nhid) {
  LanguageModelConfig c;
  c.model = model, c.vocab = 49, c.emsize = 100, c.num_channels = {nhid, nhid, nhid, 100}, c.kernel_size = 3;
  c.validseqlen = 320;
  LanguageModel lm(c, g);
  lm.set_training(false);
  const int64_t save_len = lm.input_size(400);
  return run_formats(opt, "char_" + model, 49, save_len, opt.quick ? 64 : 256, 0, g,
                     [&](step::Weights w) { return TextStepper(lm, w); });
}
std::vector<Result> bench_char_tcn(const Options& opt, Generator& g) { return bench_char(opt, g, "tcn", 600); }
std::vector<Result> bench_char_sequnet(const Options& opt, Generator& g) { return bench_char(opt, g, "sequnet", 390); }

// The Nottingham / MuseData models at the README sizes (88 keys; TCN [215] × 4, Seq-U-Net
// [150] × 4 padded, K 5). Save length 2 048 frames: the slow path's window once a piece is long.
std::vector<Result> bench_music(const Options& opt, Generator& g, const std::string& model, int64_t nhid) {
  PolyMusicConfig c;
  c.model = model, c.num_channels = {nhid, nhid, nhid, nhid}, c.kernel_size = 5;
  PolyMusicModel m(c, g);
  m.set_training(false);
  return run_formats(opt, "music_" + model, 88, 2048, opt.quick ? 64 : 256, 0, g,
                     [&](step::Weights w) { return MusicStepper(m, w); });
}
std::vector<Result> bench_music_tcn(const Options& opt, Generator& g) { return bench_music(opt, g, "tcn", 215); }
std::vector<Result> bench_music_sequnet(const Options& opt, Generator& g) { return bench_music(opt, g, "sequnet", 150); }

// ---- accuracy ---------------------------------------------------------------------------------------

struct AccuracyRow {
  std::string model, weights;
  int64_t steps = 0;
  double max_abs_logit_diff = 0, max_abs_logit = 0, mean_kl = 0, max_kl = 0, mean_entropy = 0;
  int64_t argmax_agree = 0;
};

// Teacher-forced logits (steps, classes) of `gen` over codes[save_len, save_len + steps) after a
// save on codes[0, save_len).
template <class Stepper>
std::vector<float> teacher_forced(Stepper& gen, const std::vector<int64_t>& codes, int64_t classes, int64_t save_len,
                                  int64_t steps) {
  NoGradGuard no_grad;
  const std::vector<int64_t> head(codes.begin(), codes.begin() + save_len);
  gen.save(one_hot_channels_first(Tensor::from_vector(head, {1, save_len}), classes));
  std::vector<float> out(static_cast<size_t>(steps * classes));
  for (int64_t s = 0; s < steps; ++s) {
    const Tensor& y = gen.step_indices(&codes[size_t(save_len + s)]);
    std::memcpy(out.data() + s * classes, y.data<float>(), size_t(classes) * sizeof(float));
  }
  return out;
}

std::vector<double> log_softmax(const float* l, int64_t n) {
  double m = l[0];
  for (int64_t i = 1; i < n; ++i) m = std::max(m, double(l[i]));
  double z = 0;
  for (int64_t i = 0; i < n; ++i) z += std::exp(double(l[i]) - m);
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = double(l[i]) - m - std::log(z);
  return out;
}

template <class MakeStepper>
std::vector<AccuracyRow> accuracy_formats(const std::string& name, const std::vector<int64_t>& codes, int64_t classes,
                                          int64_t save_len, int64_t steps, MakeStepper make) {
  check(int64_t(codes.size()) >= save_len + steps, "bench/generate --accuracy: {} needs {} + {} samples of prime, got {}",
        name, save_len, steps, codes.size());
  auto ref_gen = make(step::Weights::F32);
  const std::vector<float> ref = teacher_forced(ref_gen, codes, classes, save_len, steps);
  std::vector<AccuracyRow> out;
  for (step::Weights w : {step::Weights::F16, step::Weights::I8}) {
    auto gen = make(w);
    const std::vector<float> got = teacher_forced(gen, codes, classes, save_len, steps);
    AccuracyRow a;
    a.model = name, a.weights = step::weights_name(w), a.steps = steps;
    for (int64_t s = 0; s < steps; ++s) {
      const float* p = ref.data() + s * classes;
      const float* q = got.data() + s * classes;
      const std::vector<double> lp = log_softmax(p, classes), lq = log_softmax(q, classes);
      double kl = 0, h = 0;
      for (int64_t i = 0; i < classes; ++i) {
        a.max_abs_logit_diff = std::max(a.max_abs_logit_diff, double(std::fabs(p[i] - q[i])));
        a.max_abs_logit = std::max(a.max_abs_logit, double(std::fabs(p[i])));
        kl += std::exp(lp[size_t(i)]) * (lp[size_t(i)] - lq[size_t(i)]);
        h -= std::exp(lp[size_t(i)]) * lp[size_t(i)];
      }
      a.mean_kl += kl / double(steps), a.max_kl = std::max(a.max_kl, kl), a.mean_entropy += h / double(steps);
      a.argmax_agree += (std::max_element(p, p + classes) - p) == (std::max_element(q, q + classes) - q);
    }
    fmt::print(stderr, "accuracy: {} {} vs f32 over {} steps: max |Δ logit| {:.3g} (max |logit| {:.3g}), KL mean {:.3g} "
               "max {:.3g} nats (f32 entropy {:.3g}), argmax agrees {}/{}\n",
               name, a.weights, steps, a.max_abs_logit_diff, a.max_abs_logit, a.mean_kl, a.max_kl, a.mean_entropy,
               a.argmax_agree, steps);
    out.push_back(a);
  }
  return out;
}

std::vector<AccuracyRow> accuracy_wavenet(const std::vector<int64_t>& codes, int64_t steps, Generator& g) {
  const WaveNetConfig c = wavenet_config();
  WaveNet model(c, g);
  model.set_training(false);
  return accuracy_formats("wavenet", codes, c.classes, model.receptive_field(), steps,
                          [&](step::Weights w) { return WaveNetStepper(model, w); });
}

std::vector<AccuracyRow> accuracy_sequnet(const std::vector<int64_t>& codes, int64_t steps, Generator& g) {
  const SequnetResConfig c = sequnet_config();
  SequnetRes model(c, g);
  model.set_training(false);
  return accuracy_formats("sequnet_res", codes, c.num_inputs, model.input_size(), steps,
                          [&](step::Weights w) { return SequnetResStepper(model, w); });
}

// The models of this benchmark: adding one is a line here plus its two functions above.
struct ModelEntry {
  const char* name;
  std::function<std::vector<Result>(const Options&, Generator&)> speed;
  std::function<std::vector<AccuracyRow>(const std::vector<int64_t>&, int64_t, Generator&)> accuracy;
};
const std::vector<ModelEntry> kModels = {
    {"wavenet", bench_wavenet, accuracy_wavenet},
    {"sequnet", bench_sequnet, accuracy_sequnet},
    {"char_tcn", bench_char_tcn, nullptr},  // no accuracy mode: their prime would be text, not audio
    {"char_sequnet", bench_char_sequnet, nullptr},
    {"music_tcn", bench_music_tcn, nullptr},
    {"music_sequnet", bench_music_sequnet, nullptr},
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) out.push_back(x);
  return out;
}

void print_bandwidth_json(const char* key, const std::vector<Bandwidth>& bw, const char* tail) {
  fmt::print("  \"{}\": [", key);
  for (size_t i = 0; i < bw.size(); ++i)
    fmt::print("{{\"threads\": {}, \"dram_gb_per_s\": {:.1f}, \"l2_gb_per_s\": {:.1f}}}{}", bw[i].threads,
               bw[i].dram_gb_per_s, bw[i].l2_gb_per_s, i + 1 < bw.size() ? ", " : "");
  fmt::print("]{}\n", tail);
}

}  // namespace

// ---- on a GPU ------------------------------------------------------------------------------------

struct DeviceResult {
  std::string model, mode;  // mode: recorded, queued, persistent
  int64_t batch = 0, steps = 0, recordings = 0, grid_blocks = -1;
  double save_s = 0, samples_per_s = 0, best_samples_per_s = 0;
};

// `grids`: the persistent loop's grid sizes to time (the WaveNet at batch <= 8; 0: its default).
template <class Stepper>
std::vector<DeviceResult> run_device(Stepper& gen, const std::string& name, int64_t classes, int64_t save_len,
                                     int64_t batch, int64_t steps, int repeats, Device d, Generator& g,
                                     const std::vector<int64_t>& grids = {}) {
  NoGradGuard no_grad;
  // One random prompt, moved to the GPU once and shared by every sequence (a view): at batch 256
  // the one-hot prompts of the save pass would otherwise fill 8.6 GB of host memory.
  const Tensor codes = Tensor::uniform({1, save_len}, 0, double(classes), DType::F32, g).to(DType::I64);
  const Tensor x = one_hot_channels_first(codes, classes).to(d).expand({batch, classes, save_len});
  auto t0 = std::chrono::steady_clock::now();
  const Tensor y = gen.save(x);
  const Tensor first = y.select(2, y.size(2) - 1).to(d).contiguous();
  device_api(d).synchronize();
  const double save_s = seconds_since(t0);
  std::vector<DeviceResult> out;
  std::vector<std::pair<std::string, int64_t>> modes = {{"recorded", -1}, {"queued", -1}};
  // At batch ≤ 8 a gated conv's product and gate are one kernel (gated_affine); recorded_unfused
  // times the same recorded steps with the two kernels, which is what fusing buys.
  const bool fused = gen.fused_gates();
  if constexpr (requires { gen.generate_persistent(first, steps, 1.0, g); })
    if (batch <= kWaveNetLoopMaxBatch)
      for (int64_t grid : grids) modes.emplace_back("persistent", grid);
  if (fused) modes.emplace_back("recorded_unfused", -1);  // last: the comparison, not a result
  for (const auto& [mode, grid] : modes) {
    DeviceResult r;
    r.model = name, r.mode = mode, r.grid_blocks = grid, r.batch = batch, r.steps = steps, r.save_s = save_s;
    std::vector<double> rate;
    // Run 0 warms up. Every run continues from where the last one left the stepper (its state
    // stays a valid generation state), so the save is paid once; each run records its phases
    // anew, as seqnet generate does (their count is in the JSON).
    for (int rep = 0; rep <= repeats; ++rep) {
      step::GenerateStats stats;
      t0 = std::chrono::steady_clock::now();
      Tensor ids;  // ends on the host
      if (mode == "persistent") {
        if constexpr (requires { gen.generate_persistent(first, steps, 1.0, g); })
          ids = gen.generate_persistent(first, steps, 1.0, g, {}, grid);
      } else {
        gen.set_fused_gates(mode != "recorded_unfused");
        ids = step::generate(gen, first, steps, 1.0, g, mode != "queued", &stats);
        gen.set_fused_gates(true);
      }
      const double sec = seconds_since(t0);
      r.recordings = stats.recordings;
      if (rep == 0 && sec > 10.0) {  // a pathologically slow mode: its warm-up run is the measurement
        fmt::print(stderr, "generate on {}: {} batch {} {}: the warm-up took {:.1f} s; no repeats\n", d.str(), name,
                   batch, mode, sec);
        rate.push_back(double(batch * steps) / sec);
        break;
      }
      if (rep > 0) rate.push_back(double(batch * steps) / sec);
    }
    r.samples_per_s = median(rate);
    r.best_samples_per_s = *std::max_element(rate.begin(), rate.end());
    fmt::print(stderr,
               "generate on {}: {} batch {} {}{}: {:.0f} samples/s (best {:.0f}), {} recorded phases, save {:.2f} s\n",
               d.str(), name, batch, mode, grid >= 0 ? fmt::format(" (grid {})", grid) : "", r.samples_per_s,
               r.best_samples_per_s, r.recordings, save_s);
    out.push_back(r);
  }
  return out;
}

int bench_on_device(Device d, const Options& opt, const std::string& only) {
  init_runtime();
  device_api(d);  // fails at once, saying why, without a usable GPU
  Generator g(2020);
  std::vector<DeviceResult> rows;
  auto document = [&](bool complete) {
    std::string out = fmt::format(
        "{{\n  \"bench\": \"generate_device\",\n  \"device\": \"{}\",\n  \"device_name\": \"{}\",\n"
        "  \"weights\": \"f32\",\n  \"temperature\": 1,\n  \"repeats\": {},\n  \"complete\": {},\n  \"results\": [\n",
        d.str(), device_description(d), opt.repeats, complete ? "true" : "false");
    for (size_t i = 0; i < rows.size(); ++i) {
      const DeviceResult& r = rows[i];
      out += fmt::format(
          "    {{\"model\": \"{}\", \"batch\": {}, \"mode\": \"{}\", \"recorded\": {}, \"recorded_phases\": {}, "
          "\"grid_blocks\": {}, \"steps\": {}, \"save_s\": {:.4f}, \"samples_per_s\": {:.1f}, "
          "\"best_samples_per_s\": {:.1f}}}{}\n",
          r.model, r.batch, r.mode, r.mode.starts_with("recorded") ? "true" : "false", r.recordings, r.grid_blocks,
          r.steps, r.save_s, r.samples_per_s, r.best_samples_per_s, i + 1 < rows.size() ? "," : "");
    }
    return out + "  ]\n}\n";
  };
  auto add = [&](const std::vector<DeviceResult>& v) {
    rows.insert(rows.end(), v.begin(), v.end());
    if (!opt.json.empty()) write_file_atomic(opt.json, document(false), "bench/generate --json");
  };
  if (!opt.json.empty()) write_file_atomic(opt.json, document(false), "bench/generate --json");  // writable?
  std::vector<int64_t> batches = opt.batches;
  if (only.empty() || only == "wavenet") {
    WaveNet model(wavenet_config(), g);
    model.set_training(false);
    model.params().store_on(d);
    for (int64_t b : batches) {
      WaveNetStepper gen(model, step::Weights::F32, d);
      add(run_device(gen, "wavenet", 256, model.receptive_field(), b, opt.quick ? 256 : 2048, opt.repeats, d, g,
                     opt.loop_grids));
    }
  }
  if (only.empty() || only == "sequnet") {
    SequnetRes model(sequnet_config(), g);
    model.set_training(false);
    model.params().store_on(d);
    for (int64_t b : batches) {
      SequnetResStepper gen(model, step::Weights::F32, d);
      add(run_device(gen, "sequnet_res", 256, model.input_size(), b, opt.quick ? 1024 : 4 * model.cycles(), opt.repeats,
                     d, g));
    }
  }
  const std::string doc = document(true);
  if (!opt.json.empty()) write_file_atomic(opt.json, doc, "bench/generate --json");
  fmt::print("{}", doc);
  return 0;
}

int main(int argc, char** argv) {
  Options opt;
  std::string only, accuracy_wav, device;
  bool batches_given = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) opt.repeats = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--save-repeats") && i + 1 < argc) opt.save_repeats = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!std::strcmp(argv[i], "--quick")) opt.quick = true;
    else if (!std::strcmp(argv[i], "--bandwidth-mb") && i + 1 < argc)
      opt.bandwidth_mb = size_t(std::max(8, std::atoi(argv[++i])));
    else if (!std::strcmp(argv[i], "--accuracy") && i + 1 < argc) accuracy_wav = argv[++i];
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc)
      device = argv[++i];
    else if (!std::strcmp(argv[i], "--json") && i + 1 < argc)
      opt.json = argv[++i];
    else if (!std::strcmp(argv[i], "--accuracy-steps") && i + 1 < argc)
      opt.accuracy_steps = std::max<int64_t>(1, std::atoll(argv[++i]));
    else if (!std::strcmp(argv[i], "--batches") && i + 1 < argc) {
      batches_given = true;
      opt.batches.clear();
      for (const std::string& b : split(argv[++i])) opt.batches.push_back(std::max<int64_t>(1, std::atoll(b.c_str())));
    } else if (!std::strcmp(argv[i], "--loop-grids") && i + 1 < argc) {
      opt.loop_grids.clear();
      for (const std::string& b : split(argv[++i]))
        opt.loop_grids.push_back(std::max<int64_t>(0, std::atoll(b.c_str())));
    } else if (!std::strcmp(argv[i], "--weights") && i + 1 < argc) {
      opt.formats.clear();
      for (const std::string& w : split(argv[++i])) opt.formats.push_back(step::parse_weights(w));
    } else {
      fmt::print(
          stderr,
          "usage: {} [--repeats N] [--save-repeats N] [--batches 1,16] [--weights f32,f16,i8] "
          "[--only wavenet|sequnet|char_tcn|char_sequnet|music_tcn|music_sequnet] [--quick] [--bandwidth-mb 256]\n"
          "       {} --accuracy PRIME.wav [--accuracy-steps 2000] [--only wavenet|sequnet]\n"
          "       {} --device cuda[:N] [--batches 1,16,256] [--repeats N] [--only wavenet|sequnet] [--quick] "
          "[--loop-grids 0,32,16] [--json FILE]\n",
          argv[0], argv[0], argv[0]);
      return 2;
    }
  }
  if (!device.empty() && device != "cpu") {
    if (!batches_given) opt.batches = {1, 16, 256};
    if (opt.quick) opt.repeats = std::min(opt.repeats, 3);
    try {
      return bench_on_device(parse_device(device, "--device"), opt, only);
    } catch (const std::exception& e) {
      fmt::print(stderr, "bench/generate: {}\n", e.what());
      return 1;
    }
  }
  if (opt.quick) opt.repeats = std::min(opt.repeats, 3);
  init_runtime();
  Generator g(2020);
  const BlasInfo blas = blas_info();

  if (!accuracy_wav.empty()) {
    const std::vector<int64_t> codes = mulaw_encode(read_wav_mono16k(accuracy_wav));
    std::vector<AccuracyRow> rows;
    for (const ModelEntry& m : kModels)
      if ((only.empty() || only == m.name) && m.accuracy)
        for (const AccuracyRow& a : m.accuracy(codes, opt.accuracy_steps, g)) rows.push_back(a);
    fmt::print("{{\n  \"bench\": \"generate_accuracy\",\n  \"prime\": \"{}\",\n  \"prime_samples\": {},\n"
               "  \"weights_of_the_models\": \"random (bench sizes, seed 2020)\",\n  \"reference\": \"f32\",\n"
               "  \"results\": [\n", accuracy_wav, codes.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const AccuracyRow& a = rows[i];
      fmt::print("    {{\"model\": \"{}\", \"weights\": \"{}\", \"steps\": {}, \"max_abs_logit_diff\": {:.4g}, "
                 "\"max_abs_logit\": {:.4g}, \"mean_kl_nats\": {:.4g}, \"max_kl_nats\": {:.4g}, "
                 "\"f32_mean_entropy_nats\": {:.4g}, \"argmax_agree\": {}}}{}\n",
                 a.model, a.weights, a.steps, a.max_abs_logit_diff, a.max_abs_logit, a.mean_kl, a.max_kl,
                 a.mean_entropy, a.argmax_agree, i + 1 < rows.size() ? "," : "");
    }
    fmt::print("  ]\n}}\n");
    return 0;
  }

  // Step modes: on the calling thread (single-threaded BLAS), and as a team of
  // num_threads() threads splitting every layer's rows.
  if (num_threads() > 1) opt.teams.push_back(num_threads());
  const std::string load_before = load_average();
  const std::vector<Bandwidth> bw_before = bandwidth_table(num_threads(), opt.bandwidth_mb, 7);
  std::vector<Result> results;
  for (const ModelEntry& m : kModels)
    if (only.empty() || only == m.name)
      for (const Result& r : m.speed(opt, g)) results.push_back(r);
  const std::vector<Bandwidth> bw_after = bandwidth_table(num_threads(), opt.bandwidth_mb, 7);
  const std::string load_after = load_average();

  fmt::print("{{\n  \"bench\": \"generate\",\n  \"blas\": \"{}\",\n  \"threads\": {},\n  \"repeats\": {},\n"
             "  \"load_average_before\": \"{}\",\n  \"load_average_after\": \"{}\",\n  \"bandwidth_buffer_mb\": {},\n",
             blas.library, num_threads(), opt.repeats, load_before, load_after, opt.bandwidth_mb);
  print_bandwidth_json("bandwidth_before", bw_before, ",");
  print_bandwidth_json("bandwidth_after", bw_after, ",");
  fmt::print("  \"results\": [\n");
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    const double weight_gbs = r.step_weight_mb * r.samples_per_s / double(r.batch) / 1e3;
    fmt::print("    {{\"model\": \"{}\", \"weights\": \"{}\", \"batch\": {}, \"team\": {}, \"save_samples\": {}, "
               "\"save_seconds\": {:.3f}, \"step_weight_mb\": {:.2f}, \"weight_gb_per_s\": {:.1f}, "
               "\"dram_test_gb_per_s\": {:.1f}, \"l2_test_gb_per_s\": {:.1f}, \"weight_over_dram_test\": {:.2f}, "
               "\"steps_per_repeat\": {}, \"samples_per_s\": {:.1f}, \"best_samples_per_s\": {:.1f}, "
               "\"slow_samples_per_s\": {:.3f}, \"fast_over_slow\": {:.0f}, "
               "\"official_batch1_samples_per_s\": {}, \"speedup_vs_official\": {:.2f}, \"load_average\": \"{}\"}}{}\n",
               r.model, r.weights, r.batch, r.team, r.save_len, r.save_s, r.step_weight_mb, weight_gbs,
               r.dram_gb_per_s, r.l2_gb_per_s, r.dram_gb_per_s > 0 ? weight_gbs / r.dram_gb_per_s : 0.0, r.steps, r.samples_per_s,
               r.best_samples_per_s, double(r.batch) / r.save_s, r.samples_per_s * r.save_s / double(r.batch),
               r.official, r.official > 0 ? r.samples_per_s / r.official : 0.0, r.load, i + 1 < results.size() ? "," : "");
  }
  fmt::print("  ]\n}}\n");
  return 0;
}
