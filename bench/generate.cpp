// bench/generate — fast autoregressive generation (step modes, MODELS.md §9) of the raw-audio models.
//
// Models (randomly initialised, eval mode): WaveNet 13 layers × 4 blocks, residual/dilation 128,
// skip 512, 256 classes, K 2, bias (save input = receptive field 32 765); residual Seq-U-Net C 180,
// 11 levels, depth 2, K 5, 256 in/out (save input = its planned input size for one output).
// Per model and batch size: the save pass (normal forward filling the step buffers, one-hot
// input) and then one-hot steps (step_indices), on the calling thread (team 1, single-threaded
// BLAS) and as a team of num_threads() threads. Reported: save seconds (median of
// --save-repeats runs) and samples/s = batch · steps / seconds (median over --repeats runs; 256
// steps for WaveNet, one whole clock cycle (1024) for the Seq-U-Net so every phase counts). The official PyTorch step
// modes do 58 (WaveNet) and 404 (Seq-U-Net) samples/s at batch 1 on 2 threads; target ≥ 10×.
// The slow path (seqnet generate --slow) costs one full forward of the save length per sample,
// so slow_samples_per_s = batch / save_seconds and fast_over_slow is the step mode's gain.
//
//   build/bench/generate [--repeats N] [--save-repeats N] [--batches 1,16] [--only wavenet|sequnet] [--quick]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "core/runtime.h"
#include "models/step/sequnet_res_step.h"
#include "models/step/wavenet_step.h"
#include "ops/loss.h"

using namespace seqnet;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Result {
  std::string model;
  int64_t batch = 0, save_len = 0, steps = 0;
  int team = 1;  // threads splitting each step's rows (1: the calling thread, single-threaded BLAS)
  double save_s = 0, samples_per_s = 0, best_samples_per_s = 0, official = 0;
  std::string weights;         // f32 / f16
  double step_weight_mb = 0;  // weights one step reads (cycle average for the Seq-U-Net)
};

// Save on random one-hot codes, then for each team size `repeats` timed runs of `steps` one-hot
// steps (greedy feedback, as in generation).
template <class Stepper>
std::vector<Result> run(Stepper& gen, const std::string& name, int64_t classes, int64_t save_len, int64_t batch,
                        int64_t steps, int repeats, int save_repeats, const std::vector<int>& teams, double official,
                        Generator& g) {
  NoGradGuard no_grad;
  const Tensor codes = Tensor::uniform({batch, save_len}, 0, double(classes), DType::F32, g).to(DType::I64);
  const Tensor x = one_hot_channels_first(codes, classes);
  std::vector<double> save_t;
  for (int i = 0; i < save_repeats; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    gen.save(x);
    save_t.push_back(seconds_since(t0));
  }
  std::vector<Result> out;
  std::vector<int64_t> idx(static_cast<size_t>(batch));
  for (int64_t n = 0; n < batch; ++n) idx[size_t(n)] = (n * 37) % classes;
  for (int team : teams) {
    gen.set_team_threads(team);
    Result r;
    r.model = name, r.batch = batch, r.save_len = save_len, r.steps = steps, r.official = official;
    r.weights = step::weights_name(gen.weights()), r.step_weight_mb = double(gen.step_weight_bytes()) / 1e6;
    r.team = gen.team_threads();
    r.save_s = median(save_t);
    for (int i = 0; i < 8; ++i) gen.step_indices(idx.data());  // warm-up
    std::vector<double> rate;
    for (int rep = 0; rep < repeats; ++rep) {
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
    fmt::print(stderr, "generate: {} {} batch {} team {}: save {:.2f} s ({} samples), {:.0f} samples/s (best {:.0f}; "
               "official {} at batch 1), weights {:.1f} MB/step\n",
               name, r.weights, batch, r.team, r.save_s, save_len, r.samples_per_s, r.best_samples_per_s, official,
               r.step_weight_mb);
    out.push_back(r);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 5, save_repeats = 1;
  bool quick = false;
  std::string only;
  std::vector<int64_t> batches = {1, 16};
  std::vector<step::Weights> formats = {step::Weights::F32, step::Weights::F16};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--save-repeats") && i + 1 < argc) save_repeats = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--batches") && i + 1 < argc) {
      batches.clear();
      std::stringstream ss(argv[++i]);
      for (std::string b; std::getline(ss, b, ',');) batches.push_back(std::max<int64_t>(1, std::atoll(b.c_str())));
    } else if (!std::strcmp(argv[i], "--weights") && i + 1 < argc) {
      formats.clear();
      std::stringstream ss(argv[++i]);
      for (std::string w; std::getline(ss, w, ',');) formats.push_back(step::parse_weights(w));
    } else {
      fmt::print(stderr, "usage: {} [--repeats N] [--save-repeats N] [--batches 1,16] [--weights f32,f16] "
                 "[--only wavenet|sequnet] [--quick]\n", argv[0]);
      return 2;
    }
  }
  if (quick) repeats = std::min(repeats, 3);
  init_runtime();
  // Step modes: on the calling thread (single-threaded BLAS), and as a team of
  // num_threads() threads splitting every layer's rows.
  std::vector<int> teams = {1};
  if (num_threads() > 1) teams.push_back(num_threads());
  Generator g(2020);
  std::vector<Result> results;

  if (only.empty() || only == "wavenet") {
    WaveNetConfig c;
    c.layers = 13, c.blocks = 4, c.dilation_channels = 128, c.residual_channels = 128, c.skip_channels = 512;
    c.classes = 256, c.output_length = 1, c.kernel_size = 2, c.bias = true;
    WaveNet model(c, g);
    model.set_training(false);
    for (step::Weights w : formats) {
      WaveNetStepper gen(model, w);
      for (int64_t b : batches)
        for (const Result& r : run(gen, "wavenet", c.classes, model.receptive_field(), b, quick ? 64 : 256, repeats,
                                   save_repeats, teams, 58, g))
          results.push_back(r);
    }
  }
  if (only.empty() || only == "sequnet") {
    SequnetResConfig c;
    c.num_inputs = 256, c.num_channels = 180, c.num_levels = 11, c.num_outputs = 256, c.kernel_size = 5, c.depth = 2;
    c.target_output_size = 1;
    SequnetRes model(c, g);
    model.set_training(false);
    for (step::Weights w : formats) {
      SequnetResStepper gen(model, w);
      for (int64_t b : batches)
        for (const Result& r : run(gen, "sequnet_res", c.num_inputs, model.input_size(), b,
                                   quick ? 256 : model.cycles(), repeats, save_repeats, teams, 404, g))
          results.push_back(r);
    }
  }

  const BlasInfo blas = blas_info();
  fmt::print("{{\n  \"bench\": \"generate\",\n  \"blas\": \"{}\",\n  \"threads\": {},\n  \"repeats\": {},\n"
             "  \"results\": [\n",
             blas.library, num_threads(), repeats);
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    fmt::print("    {{\"model\": \"{}\", \"weights\": \"{}\", \"batch\": {}, \"team\": {}, \"save_samples\": {}, "
               "\"save_seconds\": {:.3f}, \"step_weight_mb\": {:.2f}, \"weight_gb_per_s\": {:.1f}, "
               "\"steps_per_repeat\": {}, \"samples_per_s\": {:.1f}, \"best_samples_per_s\": {:.1f}, "
               "\"slow_samples_per_s\": {:.3f}, \"fast_over_slow\": {:.0f}, "
               "\"official_batch1_samples_per_s\": {}, \"speedup_vs_official\": {:.2f}}}{}\n",
               r.model, r.weights, r.batch, r.team, r.save_len, r.save_s, r.step_weight_mb,
               r.step_weight_mb * r.samples_per_s / double(r.batch) / 1e3, r.steps, r.samples_per_s, r.best_samples_per_s,
               double(r.batch) / r.save_s, r.samples_per_s * r.save_s / double(r.batch), r.official,
               r.samples_per_s / r.official, i + 1 < results.size() ? "," : "");
  }
  fmt::print("  ]\n}}\n");
  return 0;
}
