// models/step/wavenet_step.cpp — WaveNet step mode (MODELS.md §9.1): per-layer queues, one column per step.
#include "models/step/wavenet_step.h"

#include <algorithm>
#include <cstring>

#include "autograd/variable.h"
#include "core/device_api.h"
#include "core/error.h"
#include "models/step/sampling.h"
#include "models/step/step_kernels.h"

namespace seqnet {

namespace {
// Parameters by their key without the model's prefix.
const Tensor& param(const WaveNet& m, const std::string& key) { return m.params().get(m.prefix() + key).data(); }
Tensor optional_param(const WaveNet& m, const std::string& key) {
  return m.params().contains(m.prefix() + key) ? m.params().get(m.prefix() + key).data() : Tensor();
}
}  // namespace

WaveNetStepper::WaveNetStepper(WaveNet& model, step::Weights weights, Device device)
    : model_(&model), device_(device), ops_(&backend(device, "WaveNetStepper").step), weights_(weights) {
  if (!device.is_cpu() && weights != step::Weights::F32)
    fail(fmt::format("WaveNetStepper: {} weights are multiplied on the CPU only; use f32 weights on {}",
                     step::weights_name(weights), device.str()));
  const WaveNetConfig& c = model.config();
  classes_ = c.classes, R_ = c.residual_channels, D_ = c.dilation_channels, S_ = c.skip_channels,
  K_ = c.kernel_size;
  const int64_t n = c.layers * c.blocks;
  std::vector<int64_t> all_taps(static_cast<size_t>(K_));
  for (int64_t m = 0; m < K_; ++m) all_taps[size_t(m)] = m;
  layers_.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    Layer& L = layers_[size_t(i)];
    L.dilation = int64_t(1) << (i % c.layers);
    L.slots = L.dilation * (K_ - 1) + 1;
    L.w_fg = step::Matrix(2 * D_, K_ * R_);
    L.b_fg = step::f32_zeros({2 * D_});
    step::pack_conv_taps(param(model, fmt::format("filter_convs.{}.weight", i)), all_taps, L.w_fg.data(), 0);
    step::pack_conv_taps(param(model, fmt::format("gate_convs.{}.weight", i)), all_taps, L.w_fg.data(), D_);
    L.w_fg.store_as(weights, fmt::format("filter/gate_convs.{}", i));
    step::pack_bias(optional_param(model, fmt::format("filter_convs.{}.bias", i)), D_, L.b_fg.data<float>(), 0);
    step::pack_bias(optional_param(model, fmt::format("gate_convs.{}.bias", i)), D_, L.b_fg.data<float>(), D_);
    // The last layer's residual output is never used: no residual matrix for it.
    if (i + 1 < n) {
      L.w_res = step::Matrix(R_, D_);
      L.b_res = step::f32_zeros({R_});
      step::pack_conv_taps(param(model, fmt::format("residual_convs.{}.weight", i)), {0}, L.w_res.data(), 0);
      L.w_res.store_as(weights, fmt::format("residual_convs.{}", i));
      step::pack_bias(optional_param(model, fmt::format("residual_convs.{}.bias", i)), R_, L.b_res.data<float>(), 0);
    }
  }
  // W_skip (S, n·D): column block i = skip_convs.i.weight (S, D, 1); b_skip = Σ_i skip_convs.i.bias.
  w_skip_ = step::Matrix(S_, n * D_);
  b_skip_ = step::f32_zeros({S_});
  std::vector<double> bias_sum(static_cast<size_t>(S_), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<double> w = param(model, fmt::format("skip_convs.{}.weight", i)).to_vector<double>();
    for (int64_t o = 0; o < S_; ++o)
      for (int64_t c = 0; c < D_; ++c) w_skip_.data()[o * n * D_ + i * D_ + c] = float(w[size_t(o * D_ + c)]);
    const Tensor b = optional_param(model, fmt::format("skip_convs.{}.bias", i));
    if (b.defined()) {
      const std::vector<double> bv = b.to_vector<double>();
      for (int64_t o = 0; o < S_; ++o) bias_sum[size_t(o)] += bv[size_t(o)];
    }
  }
  for (int64_t o = 0; o < S_; ++o) b_skip_.data<float>()[o] = float(bias_sum[size_t(o)]);
  w_skip_.store_as(weights, "skip_convs");
  auto pack1x1 = [&](const std::string& name, int64_t c_out, int64_t c_in, step::Matrix& w, Tensor& b) {
    w = step::Matrix(c_out, c_in);
    b = step::f32_zeros({c_out});
    step::pack_conv_taps(param(model, name + ".weight"), {0}, w.data(), 0);
    step::pack_bias(optional_param(model, name + ".bias"), c_out, b.data<float>(), 0);
    w.store_as(weights, name);
  };
  w_start_ = step::f32_zeros({R_, classes_});
  b_start_ = step::f32_zeros({R_});
  step::pack_conv_taps(param(model, "start_conv.weight"), {0}, w_start_.data<float>(), 0);
  step::pack_bias(optional_param(model, "start_conv.bias"), R_, b_start_.data<float>(), 0);
  pack1x1("end_conv_1", S_, S_, w_end1_, b_end1_);
  pack1x1("end_conv_2", classes_, S_, w_end2_, b_end2_);
  if (!device.is_cpu()) {  // packed on the host, then moved
    for (size_t i = 0; i < layers_.size(); ++i) {
      Layer& L = layers_[i];
      L.w_fg.to(device, fmt::format("filter/gate_convs.{}", i));
      L.b_fg = L.b_fg.to(device);
      if (L.w_res.defined()) L.w_res.to(device, fmt::format("residual_convs.{}", i)), L.b_res = L.b_res.to(device);
    }
    w_skip_.to(device, "skip_convs");
    w_end1_.to(device, "end_conv_1");
    w_end2_.to(device, "end_conv_2");
    for (Tensor* t : {&b_skip_, &w_start_, &b_start_, &b_end1_, &b_end2_}) *t = t->to(device);
  }
}

size_t WaveNetStepper::step_weight_bytes() const {
  size_t bytes = w_skip_.bytes() + w_end1_.bytes() + w_end2_.bytes();
  for (const Layer& L : layers_) bytes += L.w_fg.bytes() + L.w_res.bytes();
  return bytes;
}

void WaveNetStepper::reset() {
  batch_ = 0;
  choose_fused();
}

void WaveNetStepper::set_fused_gates(bool on) {
  fused_request_ = on ? 1 : 0;
  choose_fused();
}

void WaveNetStepper::choose_fused() {
  fused_ = step::use_fused_gates(fused_request_, device_, batch_, weights_, team_.wanted());
}

void WaveNetStepper::set_team_threads(int threads) {
  check(device_.is_cpu() || threads == 1, "WaveNetStepper: a step on {} runs as one member, got {} threads",
        device_.str(), threads);
  team_.set_threads(threads);
  choose_fused();
}

Tensor WaveNetStepper::save(const Tensor& x) {
  if (!(x.defined() && x.dim() == 3 && x.size(1) == classes_ && x.size(0) >= 1))
    fail(fmt::format("WaveNetStepper::save: expected input (N, classes = {}, T), got {}", classes_,
                     x.defined() ? x.describe() : std::string("undefined")));
  if (!(x.dtype() == DType::F32)) fail(fmt::format("WaveNetStepper::save: step mode is float32, got {}", x.describe()));
  const int64_t N = x.size(0);
  device_api(device_).make_current();
  if (N != batch_ || !pos_.defined()) {  // (re)allocate every buffer for this batch size
    const Device d = device_;
    for (Layer& L : layers_) L.queue = step::f32_zeros({L.slots, N, R_}, d);
    h_ = step::f32_zeros({N, R_}, d);
    fg_ = step::f32_zeros({N, 2 * D_}, d);
    z_ = step::f32_zeros({N, int64_t(layers_.size()) * D_}, d);
    skip_ = step::f32_zeros({N, S_}, d);
    e1_ = step::f32_zeros({N, S_}, d);
    out_ = step::f32_zeros({N, classes_}, d);
    window_ = step::f32_zeros({N, K_ * R_}, d);
    x_ = step::f32_zeros({N, classes_}, d);
    ids_ = Tensor::zeros({N}, DType::I64, d);
    pos_ = Tensor::zeros({1}, DType::I64, d);
  }
  batch_ = 0;  // not ready until the queues are filled

  // Normal forward; every layer's input h (N, R, T_i) leaves its last d(K−1)+1 columns in its
  // queue, oldest in slot 0, newest in slot slots−1.
  // (On the model's device; each tail is then copied to the stepper's.)
  NoGradGuard no_grad;
  Variable y = model_->forward(Variable(x.to(param(*model_, "start_conv.weight").device())), [&](int64_t i,
                                                                                                 const Tensor& h) {
    Layer& L = layers_[size_t(i)];
    const int64_t T = h.size(2);
    check(T >= L.slots, "WaveNetStepper::save: layer {} input has {} steps, fewer than its queue {}", i, T, L.slots);
    L.queue.copy_(h.narrow(2, T - L.slots, L.slots).permute({2, 0, 1}));  // (slots, N, R)
  });
  // pos counts samples; layer i's newest entry is slot pos mod slots_i. After save it is
  // slots_i − 1 for every layer, i.e. pos ≡ −1.
  pos_.fill_(-1);
  batch_ = N;
  choose_fused();
  return y.data();
}

const Tensor& WaveNetStepper::step(const Tensor& x) {
  check(ready(), "WaveNetStepper::step: call save first");
  // (The message is built only on failure: a step must not allocate.)
  if (!(x.defined() && x.dim() == 2 && x.size(0) == batch_ && x.size(1) == classes_ && x.dtype() == DType::F32))
    fail(fmt::format("WaveNetStepper::step: expected a float32 column (N = {}, classes = {}), got {}", batch_, classes_,
                     x.defined() ? x.describe() : std::string("undefined")));
  // A contiguous column on the CPU is read in place (copying a Tensor copies its shape vectors).
  if (!device_.is_cpu()) device_api(device_).make_current();
  const float* src;
  if (device_.is_cpu() && x.device().is_cpu() && x.is_contiguous()) {
    src = x.data<float>();
  } else {
    x_.copy_(x);
    src = x_.data<float>();
  }
  ops_->tick(pos_.data<int64_t>(), 0);
  kernels_ = 1;
  team_.run([&](int tid, int nt) { step_column(tid, nt, src, nullptr); });
  return out_;
}

const Tensor& WaveNetStepper::step_indices(const int64_t* indices) {
  check(ready(), "WaveNetStepper::step_indices: call save first");
  for (int64_t n = 0; n < batch_; ++n)
    check(indices[n] >= 0 && indices[n] < classes_, "WaveNetStepper::step_indices: index {} of row {} outside [0, {})",
          indices[n], n, classes_);
  const int64_t* ids = indices;
  if (!device_.is_cpu()) {
    device_api(device_).make_current();
    device_api(device_).copy_from_host(ids_.data<int64_t>(), indices, size_t(batch_) * sizeof(int64_t));
    ids = ids_.data<int64_t>();
  }
  ops_->tick(pos_.data<int64_t>(), 0);
  kernels_ = 1;
  team_.run([&](int tid, int nt) { step_column(tid, nt, nullptr, ids); });
  return out_;
}

void WaveNetStepper::step_ids() {
  check(ready(), "WaveNetStepper::step_ids: call save first");
  ops_->tick(pos_.data<int64_t>(), 0);
  kernels_ = 1;
  team_.run([&](int tid, int nt) { step_column(tid, nt, nullptr, ids_.data<int64_t>()); });
}

WaveNetLoop WaveNetStepper::loop_args(Tensor& table) {
  const char* what = "WaveNetStepper: the persistent loop";
  check(ready(), "{}: call save first", what);
  check(weights_ == step::Weights::F32, "{}: the loop multiplies f32 weights only, got {}", what,
        step::weights_name(weights_));
  check(batch_ <= kWaveNetLoopMaxBatch, "{}: batch {} is above the loop's {} (use step::generate)", what, batch_,
        kWaveNetLoopMaxBatch);
  WaveNetLoop a;
  a.N = batch_, a.R = R_, a.D = D_, a.S = S_, a.C = classes_, a.layers = int64_t(layers_.size()), a.K = K_;
  std::vector<WaveNetLoopLayer> host(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& L = layers_[i];
    host[i] = {L.w_fg.data(),
               L.b_fg.data<float>(),
               L.w_res.defined() ? L.w_res.data() : nullptr,
               L.w_res.defined() ? L.b_res.data<float>() : nullptr,
               L.queue.data<float>(),
               L.slots,
               L.dilation};
  }
  // The table as bytes in an i64 tensor on the stepper's device (the kernel reads it there).
  const size_t bytes = host.size() * sizeof(WaveNetLoopLayer);
  table = Tensor::zeros({int64_t((bytes + 7) / 8)}, DType::I64, device_);
  device_api(device_).copy_from_host(table.data<int64_t>(), host.data(), bytes);
  a.layer = reinterpret_cast<const WaveNetLoopLayer*>(table.data<int64_t>());
  a.w_start = w_start_.data<float>(), a.b_start = b_start_.data<float>();
  a.w_skip = w_skip_.data(), a.b_skip = b_skip_.data<float>();
  a.w_end1 = w_end1_.data(), a.b_end1 = b_end1_.data<float>();
  a.w_end2 = w_end2_.data(), a.b_end2 = b_end2_.data<float>();
  a.h = h_.data<float>(), a.z = z_.data<float>(), a.skip = skip_.data<float>(), a.e1 = e1_.data<float>();
  a.logits = out_.data<float>(), a.ids = ids_.data<int64_t>(), a.pos = pos_.data<int64_t>();
  return a;
}

Tensor WaveNetStepper::generate_persistent(const Tensor& first, int64_t steps, double temperature, Generator& g,
                                           const std::function<void(int64_t)>& progress, int64_t grid_blocks,
                                           int64_t chunk) {
  const char* what = "WaveNetStepper::generate_persistent";
  check(ready(), "{}: call save first", what);
  step::detail::check_first(*this, first, steps, temperature, what);
  check(first.size(1) == classes_, "{}: expected {} logits per sequence, got {}", what, classes_, first.size(1));
  check(chunk >= 1, "{}: chunk must be >= 1, got {}", what, chunk);
  device_api(device_).make_current();
  Tensor table;
  WaveNetLoop a = loop_args(table);
  const int64_t N = batch_, C = classes_;
  Tensor history = Tensor::zeros({steps, N}, DType::I64, device_);
  const Tensor count = Tensor::zeros({1}, DType::I64, device_);  // the first draw is draw 0
  // The Philox blocks step::generate reserves (greedy reserves none).
  const uint64_t seed = g.state().seed, block = temperature > 0 ? g.reserve(uint64_t(steps) * uint64_t(N)) : 0;
  ops_->sample(N, C, first.data<float>(), C, temperature, seed, block, count.data<int64_t>(), ids_.data<int64_t>(), 1,
               history.data<int64_t>(), false);
  a.history = history.data<int64_t>(), a.temperature = temperature, a.seed = seed, a.first_block = block;
  a.grid_blocks = grid_blocks;
  for (int64_t s = 1; s < steps; s += chunk) {
    if (progress) progress(s);
    ops_->wavenet_loop(a, s, std::min(s + chunk, steps));
  }
  // A fault inside the kernel surfaces at the next wait; name the loop rather than the copy below.
  // (A CUDA fault leaves the GPU's context unusable: the process has to end. A failed launch
  // above leaves the stepper part-way: save again before generating.)
  try {
    device_api(device_).synchronize();
  } catch (const Error& e) {
    fail(fmt::format("{}: the loop kernel failed at batch {} on {}: {}", what, N, device_.str(), e.what()));
  }
  Tensor drawn = history.to(Device::cpu());
  if (progress) progress(steps);
  return drawn;
}

// Member `tid` of `nt` computes its share of every layer's output rows; sync() wherever a
// product needs a whole vector. *pos is the time index of the new sample (mod each ring length).
// On a GPU the team is one member and every call below queues a kernel.
void WaveNetStepper::step_column(int tid, int nt, const float* x, const int64_t* indices) {
  const int64_t N = batch_, LD = int64_t(layers_.size()) * D_;
  const auto [r0, r1] = step::share(R_, tid, nt);
  const auto [d0, d1] = step::share(D_, tid, nt);
  const auto [s0, s1] = step::share(S_, tid, nt);
  const auto [c0, c1] = step::share(classes_, tid, nt);
  const StepKernels& k = *ops_;
  float* h = h_.data<float>();
  float* fg = fg_.data<float>();
  float* z = z_.data<float>();
  float* skip = skip_.data<float>();
  float* win = window_.data<float>();
  const int64_t* pos = pos_.data<int64_t>();

  int64_t kernels = 0;  // (member 0's count: every member queues the same calls)
  // h = start_conv(x); for a one-hot column that is one weight column plus the bias.
  if (indices)
    k.lookup(N, r0, r1, 1, classes_, w_start_.data<float>(), classes_, indices, b_start_.data<float>(), h, R_, {});
  else
    k.affine(N, r1 - r0, classes_, x, classes_, w_start_.data<float>() + r0 * classes_, classes_,
             b_start_.data<float>() + r0, h + r0, R_, false);
  ++kernels;
  bool pushed = false;  // whether the last residual conv pushed h into this layer's queue already
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& L = layers_[i];
    // The new h enters the queue (the oldest drops out) and the K taps h(t − d(K−1−m)) are
    // gathered side by side: each member moves its own channels, so no barrier is needed before.
    if (!pushed) {
      k.ring_push_gather(N, R_, r0, r1, L.slots, L.dilation, K_, L.queue.data<float>(), pos, h, R_, win);
      ++kernels;
    }
    team_.sync();
    // [f; g] = W · window + b: the filter rows, then the matching gate rows (all 2D rows at once
    // when one member computes them all).
    const float* b = L.b_fg.data<float>();
    float* zi = z + int64_t(i) * D_;  // this layer's block of z_ (rows L·D apart)
    if (fused_ && d0 == 0 && d1 == D_) {  // product and gate in one kernel
      k.gated_affine(N, D_, K_ * R_, win, K_ * R_, L.w_fg.f32(), L.w_fg.cols(), b, nullptr, 0, zi, LD, {});
      ++kernels;
    } else {
      if (d0 == 0 && d1 == D_)
        L.w_fg.affine(N, 0, 2 * D_, 0, K_ * R_, win, K_ * R_, b, fg, 2 * D_, false);
      else
        for (int64_t row0 : {d0, D_ + d0})
          L.w_fg.affine(N, row0, d1 - d0, 0, K_ * R_, win, K_ * R_, b + row0, fg + row0, 2 * D_, false);
      k.gated(N, D_, d0, d1, fg, nullptr, 0, zi, LD);
      kernels += 2;
    }
    team_.sync();
    // h += W_r z + b_r (identity = the newest input). Fused, the same kernel then pushes the new h
    // into the next layer's queue and gathers its taps (the window is free again: this layer's
    // gated conv has read it).
    pushed = false;
    if (L.w_res.defined()) {
      Layer* next = i + 1 < layers_.size() ? &layers_[i + 1] : nullptr;
      if (fused_ && next && r0 == 0 && r1 == R_) {
        k.affine_ring(N, R_, D_, zi, LD, L.w_res.f32(), L.w_res.cols(), L.b_res.data<float>(), h, R_, true,
                      StepRing{next->queue.data<float>(), next->slots, next->dilation, K_, pos, win});
        pushed = true;
      } else {
        L.w_res.affine(N, r0, r1 - r0, 0, D_, zi, LD, L.b_res.data<float>() + r0, h + r0, R_, true);
      }
      ++kernels;
    }
  }
  // skip = W_skip · [z_0; …; z_L−1] + b_skip (every z_i is complete after the last layer's sync).
  w_skip_.affine(N, s0, s1 - s0, 0, LD, z, LD, b_skip_.data<float>() + s0, skip + s0, S_, false);
  // y = end_conv_2(relu(end_conv_1(relu(skip))))
  float* e1 = e1_.data<float>();
  k.relu(N, s0, s1, skip, S_, skip, S_);
  team_.sync();
  w_end1_.affine(N, s0, s1 - s0, 0, S_, skip, S_, b_end1_.data<float>() + s0, e1 + s0, S_, false);
  k.relu(N, s0, s1, e1, S_, e1, S_);
  team_.sync();
  w_end2_.affine(N, c0, c1 - c0, 0, S_, e1, S_, b_end2_.data<float>() + c0, out_.data<float>() + c0, classes_,
                 false);
  if (tid == 0) kernels_ += kernels + 5;  // the skip product, two relus, two end convs
}

}  // namespace seqnet
