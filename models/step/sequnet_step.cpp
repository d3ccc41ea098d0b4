// models/step/sequnet_step.cpp — clocked step mode of the basic Seq-U-Net (MODELS.md §7, §9.2).
#include "models/step/sequnet_step.h"

#include <algorithm>
#include <array>

#include "autograd/variable.h"
#include "core/device_api.h"
#include "core/error.h"
#include "models/planning.h"
#include "ops/activation.h"
#include "ops/conv.h"
#include "ops/time.h"

namespace seqnet {

namespace {

constexpr double kSlope = 0.01;  // LeakyReLU negative slope (MODELS.md §2), as Sequnet::forward uses it
constexpr float kSlopeF = float(kSlope);

std::vector<int64_t> iota_taps(int64_t K) {
  std::vector<int64_t> t(static_cast<size_t>(K));
  for (int64_t m = 0; m < K; ++m) t[size_t(m)] = m;
  return t;
}

// Copies the last `rows` time steps of x (N, width, T) (f32 or f64) into window (N, rows, width),
// oldest first; missing rows (the sequence, or the padded conv's zero padding, before them) are zeros.
// (Tensor copies: x lives on the model's device, the window on the stepper's.)
void fill_window(Tensor& window, const Tensor& x, const std::string& name) {
  const int64_t N = window.size(0), rows = window.size(1), width = window.size(2), T = x.size(2);
  if (!(x.dim() == 3 && x.size(0) == N && x.size(1) == width))
    fail(fmt::format("SequnetStepper::save: layer {}: input {} does not fit its window (N {}, width {})", name,
                     x.describe(), N, width));
  const int64_t have = std::min(rows, T), skip = rows - have;
  window.fill_(0);
  window.narrow(1, skip, have).copy_(x.narrow(2, T - have, have).to(DType::F32).permute({0, 2, 1}));
}

float* f32(const Tensor& t) { return static_cast<float*>(t.raw_data()); }  // no per-call message building

}  // namespace

SequnetStepper::SequnetStepper(Sequnet& model, step::Weights weights, Device device)
    : model_(&model), device_(device), ops_(&backend(device, "SequnetStepper").step), weights_(weights) {
  if (!device.is_cpu() && weights != step::Weights::F32)
    fail(fmt::format("SequnetStepper: {} weights are multiplied on the CPU only; use f32 weights on {}",
                     step::weights_name(weights), device.str()));
  const SequnetConfig& c = model.config();
  padded_ = model.padded();
  K_ = c.kernel_size, n_ = int64_t(c.num_channels.size()) - 1, num_inputs_ = c.num_inputs,
  num_outputs_ = c.num_outputs, c0_ = c.num_channels[0];
  check(n_ >= 1 && n_ < 63, "SequnetStepper: between 2 and 63 levels, got {}", n_ + 1);
  cycles_ = int64_t(1) << n_;
  const std::vector<int64_t>& C = c.num_channels;
  const ParameterSet& ps = model.params();
  auto p = [&](const std::string& key) -> const Tensor& { return ps.get(key).data(); };
  const std::string pre = model.prefix(), blk = padded_ ? ".block.1" : ".block.0";

  auto conv_layer = [&](const std::string& name, Kind kind, int64_t cycles, int64_t width, int64_t c_out) {
    Layer L;
    L.name = name, L.kind = kind, L.cycles = cycles, L.width = width, L.c_out = c_out;
    const Tensor& W = p(name + ".weight");
    if (!(W.dim() == 3 && W.size(0) == c_out && W.size(1) == width && W.size(2) == K_))
      fail(fmt::format("SequnetStepper: {}.weight is {}, expected [{}, {}, {}]", name, W.describe(), c_out, width, K_));
    L.w = step::Matrix(c_out, K_ * width);
    step::pack_conv_taps(W, iota_taps(K_), L.w.data(), 0);
    L.w.store_as(weights, name);
    L.b = step::f32_zeros({c_out});
    step::pack_bias(p(name + ".bias"), c_out, f32(L.b), 0);
    return L;
  };

  for (int64_t i = 0; i < n_; ++i) {
    const std::string d = fmt::format("{}downsampling_blocks.{}.", pre, i);
    const int64_t a = i == 0 ? num_inputs_ : C[size_t(i - 1)];
    layers_.push_back(conv_layer(d + "conv1" + blk, Kind::Conv, int64_t(1) << i, a, C[size_t(i)]));
    layers_.push_back(conv_layer(d + "conv2" + blk, Kind::Strided, int64_t(1) << (i + 1), C[size_t(i)], C[size_t(i)]));
  }
  layers_.push_back(conv_layer(pre + "bottleneck_conv" + blk, Kind::Conv, cycles_, C[size_t(n_ - 1)], C[size_t(n_)]));
  for (int64_t i = n_; i-- > 0;) {
    const std::string u = fmt::format("{}upsampling_blocks.{}.", pre, i);
    const int64_t ch = C[size_t(i + 1)];
    Layer T;
    T.name = u + "conv1.block.0", T.kind = Kind::Transposed, T.cycles = int64_t(1) << i, T.width = ch, T.c_out = ch;
    const Tensor& W = p(T.name + ".weight");
    if (!(W.dim() == 3 && W.size(0) == ch && W.size(1) == ch && W.size(2) == K_))
      fail(fmt::format("SequnetStepper: {}.weight is {}, expected [{}, {}, {}]", T.name, W.describe(), ch, ch, K_));
    // ConvTranspose1d stride 2: high-res position 2s gets tap m = 2q from low-res sample s − q
    // (the even taps), position 2s + 1 the odd taps m = 2q + 1. The newest q_even (q_odd) window
    // rows are used, oldest first, so row r of them carries tap 2(q − 1 − r) (+1).
    T.q_even = (K_ + 1) / 2, T.q_odd = (K_ - 1) / 2;
    std::vector<int64_t> even, odd;
    for (int64_t q = 0; q < T.q_even; ++q) even.push_back(2 * (T.q_even - 1 - q));
    for (int64_t q = 0; q < T.q_odd; ++q) odd.push_back(2 * (T.q_odd - 1 - q) + 1);
    T.w = step::Matrix(ch, T.q_even * ch);
    step::pack_transposed_taps(W, even, T.w.data(), 0);
    T.w.store_as(weights, T.name + " (even taps)");
    if (T.q_odd > 0) {  // K = 1: the odd positions are the bias alone
      T.w_odd = step::Matrix(ch, T.q_odd * ch);
      step::pack_transposed_taps(W, odd, T.w_odd.data(), 0);
      T.w_odd.store_as(weights, T.name + " (odd taps)");
    }
    T.b = step::f32_zeros({ch});
    step::pack_bias(p(T.name + ".bias"), ch, f32(T.b), 0);
    layers_.push_back(std::move(T));
    // conv2 on [upsampled (C_{i+1} rows), shortcut_i (C_i rows)]: upsampled first (MODELS.md §7).
    layers_.push_back(conv_layer(u + "conv2" + blk, Kind::UpConv, int64_t(1) << i, ch + C[size_t(i)], C[size_t(i)]));
  }
  const std::string oname = pre + "output_conv.block.0";
  w_out_ = step::Matrix(num_outputs_, c0_);
  step::pack_conv_taps(p(oname + ".weight"), {0}, w_out_.data(), 0);
  w_out_.store_as(weights, oname);
  b_out_ = step::f32_zeros({num_outputs_});
  step::pack_bias(p(oname + ".bias"), num_outputs_, f32(b_out_), 0);
  if (!device.is_cpu()) {  // packed on the host, then moved
    for (Layer& L : layers_) {
      L.w.to(device, L.name);
      if (L.w_odd.defined()) L.w_odd.to(device, L.name + " (odd taps)");
      L.b = L.b.to(device);
    }
    w_out_.to(device, oname);
    b_out_ = b_out_.to(device);
  }
}

void SequnetStepper::set_team_threads(int threads) {
  check(device_.is_cpu() || threads == 1, "SequnetStepper: a step on {} runs as one member, got {} threads",
        device_.str(), threads);
  team_.set_threads(threads);
}

int64_t SequnetStepper::phase() const {
  int64_t level = 0;  // the largest j ≤ n + 1 with 2^j dividing the clock (t = 0: every level)
  while (level <= n_ && (clock_ == 0 || clock_ % (int64_t(1) << level) == 0)) ++level;
  return level;
}

double SequnetStepper::step_weight_bytes() const {
  double bytes = double(w_out_.bytes());
  for (const Layer& L : layers_) {
    if (L.kind == Kind::Transposed)  // both tap sets once per new low-res sample (every 2^(i+1) steps)
      bytes += double(L.w.bytes() + (L.w_odd.defined() ? L.w_odd.bytes() : 0)) / (2.0 * double(L.cycles));
    else
      bytes += double(L.w.bytes()) / double(L.cycles);
  }
  return bytes;
}

void SequnetStepper::reset() {
  batch_ = 0;
  clock_ = 1;
}

Tensor SequnetStepper::save(const Tensor& x) {
  if (!(x.defined() && x.dim() == 3 && x.size(0) >= 1 && x.size(1) == num_inputs_ && x.size(2) >= 1))
    fail(fmt::format("SequnetStepper::save: expected input (N, num_inputs = {}, T), got {}", num_inputs_,
                     x.defined() ? x.describe() : std::string("undefined")));
  if (!(x.dtype() == DType::F32 || x.dtype() == DType::F64))
    fail(fmt::format("SequnetStepper::save: input must be f32 or f64, got {}", x.describe()));
  const int64_t N = x.size(0), T = x.size(2), levels = n_ + 1;
  if (!padded_)
    if (!(T == model_->input_size()))
      fail(fmt::format(
          "SequnetStepper::save (valid mode): input length must be exactly the planned input_size() = {} steps, "
          "got {} ({})",
          model_->input_size(), T, x.describe()));
  device_api(device_).make_current();
  if (N != batch_) {  // (re)allocate every buffer for this batch size
    const Device d = device_;
    for (Layer& L : layers_) {
      L.window = step::f32_zeros({N, K_, L.width}, d);
      L.out = step::f32_zeros({N, L.c_out}, d);
      if (L.kind == Kind::Transposed) L.next = step::f32_zeros({N, L.c_out}, d);
    }
    in_ = step::f32_zeros({N, num_inputs_}, d);
    out_ = step::f32_zeros({N, num_outputs_}, d);
  }
  batch_ = 0;  // not ready until the windows are filled

  // The model's forward (eval: no dropout), op for op as Sequnet::forward, keeping each layer's
  // input in its window.
  NoGradGuard no_grad;
  const ParameterSet& ps = model_->params();
  const std::string pre = model_->prefix();
  const Tensor& w0 = ps.get(pre + "output_conv.block.0.weight").data();
  const DType dt = w0.dtype();
  const int64_t P = padded_ ? K_ - 1 : 0;
  Variable h(x.to(w0.device()).to(dt));
  if (padded_) {
    const BasicPlan plan = plan_basic_sequnet(K_, levels, T, /*padded=*/true);
    if (plan.input_size > T) h = pad_time(h, plan.input_size - T);
  }
  size_t li = 0;
  auto conv_block = [&](const Variable& in, int64_t stride) {
    Layer& L = layers_[li++];
    fill_window(L.window, in.data(), L.name);
    return leaky_relu(conv1d(in, ps.get(L.name + ".weight"), ps.get(L.name + ".bias"), stride, 1, P, 0), kSlope);
  };
  std::vector<Variable> shortcuts(static_cast<size_t>(n_));
  for (int64_t i = 0; i < n_; ++i) {
    shortcuts[size_t(i)] = conv_block(h, 1);
    h = conv_block(shortcuts[size_t(i)], 2);
  }
  h = conv_block(h, 1);
  for (int64_t i = n_; i-- > 0;) {
    Layer& U = layers_[li++];
    fill_window(U.window, h.data(), U.name);
    Variable u = conv_transpose1d(h, ps.get(U.name + ".weight"), ps.get(U.name + ".bias"), 2);
    check(u.size(2) - (K_ - 1 - P) - (K_ - 1) >= 1, "SequnetStepper::save: upsampling block {} produces no samples",
          i);
    u = leaky_relu(crop_front_back(u, K_ - 1 - P, K_ - 1), kSlope);
    h = conv_block(concat({u, crop(shortcuts[size_t(i)], u.size(2))}, 1), 1);
  }
  Variable y = conv1d(h, ps.get(pre + "output_conv.block.0.weight"), ps.get(pre + "output_conv.block.0.bias"));
  if (padded_) y = crop(y, T);

  // next_output of every transposed layer: the odd-tap value one high-resolution step past the
  // newest saved sample (the position the back crop removed).
  batch_ = N;
  for (Layer& L : layers_)
    if (L.kind == Kind::Transposed) fire_transposed(L, 0, 1);
  clock_ = 1;
  return y.data();
}

void SequnetStepper::push(Layer& L, const float* x, int64_t ldx, int64_t cx, const float* y, int64_t ldy) {
  ops_->window_push(batch_, K_, L.width, f32(L.window), x, ldx, cx, y, ldy);
}

// out[:, r0:r1] = LeakyReLU(W · window + b) for this member's rows (stride 1 and strided alike: the
// window ends at the current grid point).
void SequnetStepper::fire(Layer& L, int tid, int nt) {
  const auto [r0, r1] = step::share(L.c_out, tid, nt);
  if (r1 <= r0) return;
  const int64_t ld = K_ * L.width;
  float* out = f32(L.out);
  L.w.affine(batch_, r0, r1 - r0, 0, ld, f32(L.window), ld, f32(L.b) + r0, out + r0, L.c_out, false);
  ops_->leaky_relu(batch_, r0, r1, out, L.c_out, out, L.c_out, kSlopeF);
}

// The transposed conv at the newest low-res sample s: position 2s (even taps) → out, position
// 2s + 1 (odd taps) → next, both through LeakyReLU.
void SequnetStepper::fire_transposed(Layer& L, int tid, int nt) {
  const auto [r0, r1] = step::share(L.c_out, tid, nt);
  if (r1 <= r0) return;
  const int64_t ld = K_ * L.width;
  const float* win = f32(L.window);
  const float* b = f32(L.b);
  float* out = f32(L.out);
  float* next = f32(L.next);
  L.w.affine(batch_, r0, r1 - r0, 0, L.q_even * L.width, win + (K_ - L.q_even) * L.width, ld, b + r0, out + r0,
             L.c_out, false);
  ops_->leaky_relu(batch_, r0, r1, out, L.c_out, out, L.c_out, kSlopeF);
  if (L.q_odd > 0)
    L.w_odd.affine(batch_, r0, r1 - r0, 0, L.q_odd * L.width, win + (K_ - L.q_odd) * L.width, ld, b + r0, next + r0,
                   L.c_out, false);
  else  // K = 1: the bias alone (a product over no columns)
    ops_->affine(batch_, r1 - r0, 0, win, ld, b, 0, b + r0, next + r0, L.c_out, false);
  ops_->leaky_relu(batch_, r0, r1, next, L.c_out, next, L.c_out, kSlopeF);
}

const Tensor& SequnetStepper::step(const Tensor& x) {
  if (!ready()) fail("SequnetStepper::step: call save first");
  // (Messages are built only on failure: a step must not allocate.)
  if (!(x.defined() && x.dim() == 2 && x.size(0) == batch_ && x.size(1) == num_inputs_ &&
        (x.dtype() == DType::F32 || x.dtype() == DType::F64)))
    fail(fmt::format("SequnetStepper::step: expected an f32 or f64 column (N = {}, num_inputs = {}), got {}", batch_,
                     num_inputs_, x.defined() ? x.describe() : std::string("undefined")));
  if (device_.is_cpu() && x.device().is_cpu()) {
    // The column → in_ (f32), read through its strides (no copy tensor).
    float* in = f32(in_);
    const int64_t s0 = x.stride(0), s1 = x.stride(1);
    if (x.dtype() == DType::F32) {
      const float* src = static_cast<const float*>(x.raw_data());
      for (int64_t n = 0; n < batch_; ++n)
        for (int64_t c = 0; c < num_inputs_; ++c) in[n * num_inputs_ + c] = src[n * s0 + c * s1];
    } else {
      const double* src = static_cast<const double*>(x.raw_data());
      for (int64_t n = 0; n < batch_; ++n)
        for (int64_t c = 0; c < num_inputs_; ++c) in[n * num_inputs_ + c] = float(src[n * s0 + c * s1]);
    }
    src_ = in;
  } else if (x.device() == device_ && x.dtype() == DType::F32 && x.is_contiguous()) {
    if (!device_.is_cpu()) device_api(device_).make_current();
    src_ = static_cast<const float*>(x.raw_data());  // read in place (a device-side loop's column)
  } else {
    device_api(device_).make_current();
    in_.copy_(x.dtype() == DType::F32 ? x : x.to(DType::F32));
    src_ = f32(in_);
  }
  team_.run([&](int tid, int nt) { run_step(tid, nt); });
  return out_;
}

// Member `tid` of `nt` threads: every member walks the same layers with the same clock and computes
// its own rows of each value; sync() after every window push and every produced value.
void SequnetStepper::run_step(int tid, int nt) {
  const int64_t t = clock_, N = batch_;
  const std::vector<int64_t>& C = model_->config().num_channels;
  size_t li = 0;
  const float* cur = src_;  // the newest value flowing forward, if `have`
  bool have = true;
  std::array<const float*, 64> shortcuts{};  // per down block: its shortcut value this step (or null)
  // A layer that receives a value appends it to its window; it produces one when t mod cycles = 0.
  auto plain = [&](Layer& L) {
    if (have) {
      if (tid == 0) push(L, cur, L.width, L.width, nullptr, 0);
      team_.sync();
    }
    have = t % L.cycles == 0;
    if (have) {
      fire(L, tid, nt);
      team_.sync();
      cur = f32(L.out);
    }
  };
  for (int64_t i = 0; i < n_; ++i) {
    plain(layers_[li++]);  // conv1: the shortcut
    shortcuts[size_t(i)] = have ? cur : nullptr;
    plain(layers_[li++]);  // conv2 (stride 2): window advances every 2^i steps, fires every 2^(i+1)
  }
  plain(layers_[li++]);  // bottleneck
  for (int64_t i = n_; i-- > 0;) {
    Layer& U = layers_[li++];
    Layer& V = layers_[li++];
    const float* u = nullptr;
    if (have) {  // a new low-res sample: current position from the even taps, the next from the odd
      if (tid == 0) push(U, cur, U.width, U.width, nullptr, 0);
      team_.sync();
      fire_transposed(U, tid, nt);
      team_.sync();
      u = f32(U.out);
    } else if (t % U.cycles == 0) {
      u = f32(U.next);
    }
    have = u != nullptr;
    if (!have) continue;
    const float* s = shortcuts[size_t(i)];  // present exactly when t mod 2^i = 0, as u is
    if (tid == 0) push(V, u, U.c_out, U.c_out, s, C[size_t(i)]);
    team_.sync();
    fire(V, tid, nt);
    team_.sync();
    cur = f32(V.out);
  }
  // y = output_conv(h) (1×1, no activation); the top up block produces at every step.
  const auto [o0, o1] = step::share(num_outputs_, tid, nt);
  if (o1 > o0)
    w_out_.affine(N, o0, o1 - o0, 0, c0_, cur, c0_, f32(b_out_) + o0, f32(out_) + o0, num_outputs_, false);
  team_.sync();
  if (tid == 0) clock_ = (t + 1) % cycles_;
}

}  // namespace seqnet
