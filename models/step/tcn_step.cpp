// models/step/tcn_step.cpp — TCN step mode: one queue per conv, one column per step.
#include "models/step/tcn_step.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/variable.h"
#include "core/device_api.h"
#include "core/error.h"

namespace seqnet {

namespace {

// Parameters by their key without the model's prefix.
const Tensor& param(const TCN& m, const std::string& key) { return m.params().get(m.prefix() + key).data(); }

// The effective weight W = g·v/‖v‖ (norm per output channel over (C_in, K)), computed in double:
// (C_out, C_in, K) f64, which the packing rounds to float once.
Tensor effective_weight(const Tensor& g, const Tensor& v, const std::string& what) {
  if (!(v.dim() == 3 && g.numel() == v.size(0)))
    fail(fmt::format("TcnStepper: {}: weight_g {} does not match weight_v {}", what, g.describe(), v.describe()));
  const int64_t C = v.size(0), R = v.numel() / C;
  const std::vector<double> vv = v.to_vector<double>(), gv = g.to_vector<double>();
  Tensor W = Tensor::empty(v.shape(), DType::F64);
  double* w = W.data<double>();
  for (int64_t o = 0; o < C; ++o) {
    double ss = 0;
    for (int64_t k = 0; k < R; ++k) ss += vv[size_t(o * R + k)] * vv[size_t(o * R + k)];
    check(ss > 0, "TcnStepper: {}: weight_v of output channel {} is all zeros (weight norm undefined)", what, o);
    const double s = gv[size_t(o)] / std::sqrt(ss);
    for (int64_t k = 0; k < R; ++k) w[o * R + k] = s * vv[size_t(o * R + k)];
  }
  return W;
}

// The queue (slots, N, C) ← the last min(T, slots) columns of `in` (N, C, T), newest in the last
// slot; the slots before them (T < slots) are zeros, exactly the causal front padding. (Tensor
// copies: `in` lives on the model's device, the queue on the stepper's.)
void fill_queue(Tensor& q, const Tensor& in, const char* what, int64_t level) {
  const int64_t slots = q.size(0), N = q.size(1), C = q.size(2);
  if (!(in.dim() == 3 && in.size(0) == N && in.size(1) == C))
    fail(fmt::format("TcnStepper::save: level {} {} input {} does not fit its queue (N {}, C {})", level, what,
                     in.describe(), N, C));
  const int64_t T = in.size(2), n = std::min(T, slots);
  q.fill_(0);
  q.narrow(0, slots - n, n).copy_(in.narrow(2, T - n, n).permute({2, 0, 1}));
}
}  // namespace

TcnStepper::TcnStepper(TCN& model, step::Weights weights, Device device)
    : model_(&model), device_(device), ops_(&backend(device, "TcnStepper").step), weights_(weights) {
  if (!device.is_cpu() && weights != step::Weights::F32)
    fail(fmt::format("TcnStepper: {} weights are multiplied on the CPU only; use f32 weights on {}",
                     step::weights_name(weights), device.str()));
  const TCNConfig& c = model.config();
  num_inputs_ = c.num_inputs, K_ = c.kernel_size;
  model_dtype_ = param(model, "network.0.conv1.weight_v").dtype();
  std::vector<int64_t> all_taps(static_cast<size_t>(K_));
  for (int64_t m = 0; m < K_; ++m) all_taps[size_t(m)] = m;
  levels_.resize(c.num_channels.size());
  for (size_t i = 0; i < levels_.size(); ++i) {
    Level& L = levels_[i];
    L.c_in = i == 0 ? c.num_inputs : c.num_channels[i - 1];
    L.c_out = c.num_channels[i];
    L.dilation = int64_t(1) << i;
    L.slots = (K_ - 1) * L.dilation + 1;
    auto pack_conv = [&](int conv, int64_t c_in, step::Matrix& w, Tensor& b) {
      const std::string key = fmt::format("network.{}.conv{}.", i, conv);
      w = step::Matrix(L.c_out, K_ * c_in);
      b = step::f32_zeros({L.c_out});
      step::pack_conv_taps(effective_weight(param(model, key + "weight_g"), param(model, key + "weight_v"), key),
                           all_taps, w.data(), 0);
      step::pack_bias(param(model, key + "bias"), L.c_out, b.data<float>(), 0);
      w.store_as(weights, model.prefix() + key + "weight");
    };
    pack_conv(1, L.c_in, L.w1, L.b1);
    pack_conv(2, L.c_out, L.w2, L.b2);
    const std::string ds = fmt::format("network.{}.downsample.", i);
    if (model.params().contains(model.prefix() + ds + "weight")) {
      L.wd = step::Matrix(L.c_out, L.c_in);
      L.bd = step::f32_zeros({L.c_out});
      step::pack_conv_taps(param(model, ds + "weight"), {0}, L.wd.data(), 0);
      step::pack_bias(param(model, ds + "bias"), L.c_out, L.bd.data<float>(), 0);
      L.wd.store_as(weights, model.prefix() + ds + "weight");
    } else {
      check(L.c_in == L.c_out, "TcnStepper: level {} maps {} to {} channels but has no {}weight", i, L.c_in,
            L.c_out, model.prefix() + ds);
    }
  }
  if (!device.is_cpu())  // packed on the host, then moved
    for (size_t i = 0; i < levels_.size(); ++i) {
      Level& L = levels_[i];
      L.w1.to(device, fmt::format("level {} conv1", i));
      L.w2.to(device, fmt::format("level {} conv2", i));
      L.b1 = L.b1.to(device), L.b2 = L.b2.to(device);
      if (L.wd.defined()) L.wd.to(device, fmt::format("level {} downsample", i)), L.bd = L.bd.to(device);
    }
}

size_t TcnStepper::step_weight_bytes() const {
  size_t bytes = 0;
  for (const Level& L : levels_) bytes += L.w1.bytes() + L.w2.bytes() + (L.wd.defined() ? L.wd.bytes() : 0);
  return bytes;
}

void TcnStepper::reset() { batch_ = 0; }

void TcnStepper::set_team_threads(int threads) {
  check(device_.is_cpu() || threads == 1, "TcnStepper: a step on {} runs as one member, got {} threads", device_.str(),
        threads);
  team_.set_threads(threads);
}

Tensor TcnStepper::save(const Tensor& x) {
  if (!(x.defined() && x.dim() == 3 && x.size(0) >= 1 && x.size(1) == num_inputs_ && x.size(2) >= 1))
    fail(fmt::format("TcnStepper::save: expected input (N, num_inputs = {}, T ≥ 1), got {}", num_inputs_,
                     x.defined() ? x.describe() : std::string("undefined")));
  if (!(x.dtype() == DType::F32))
    fail(fmt::format("TcnStepper::save: step mode takes float32 input, got {}", x.describe()));
  const int64_t N = x.size(0);
  device_api(device_).make_current();
  if (N != batch_ || !pos_.defined()) {  // (re)allocate every buffer for this batch size
    const Device d = device_;
    for (Level& L : levels_) {
      L.q1 = step::f32_zeros({L.slots, N, L.c_in}, d);
      L.q2 = step::f32_zeros({L.slots, N, L.c_out}, d);
      L.x1 = step::f32_zeros({N, K_ * L.c_in}, d);
      L.x2 = step::f32_zeros({N, K_ * L.c_out}, d);
      L.h = step::f32_zeros({N, L.c_out}, d);
      L.out = step::f32_zeros({N, L.c_out}, d);
    }
    x_ = step::f32_zeros({N, num_inputs_}, d);
    pos_ = Tensor::zeros({1}, DType::I64, d);
  }
  batch_ = 0;  // not ready until the queues are filled

  // The normal forward in eval semantics (no dropout); every conv's input leaves its last
  // (K−1)d+1 columns in its queue, oldest in slot 0, newest in slot slots−1.
  NoGradGuard no_grad;
  const bool was_training = model_->training();
  model_->set_training(false);
  Variable y;
  try {
    const Device model_device = param(*model_, "network.0.conv1.weight_v").device();
    y = model_->forward(Variable(x.to(model_dtype_).to(model_device)), [&](int64_t i, int conv, const Tensor& in) {
      Level& L = levels_[size_t(i)];
      fill_queue(conv == 1 ? L.q1 : L.q2, in, conv == 1 ? "conv1" : "conv2", i);
    });
  } catch (...) {
    model_->set_training(was_training);
    throw;
  }
  model_->set_training(was_training);
  // pos counts steps; a level's newest entry is slot pos mod slots. After save it is slots − 1
  // for every queue, i.e. pos ≡ −1.
  pos_.fill_(-1);
  batch_ = N;
  return y.data();
}

const Tensor& TcnStepper::step(const Tensor& x) {
  check(ready(), "TcnStepper::step: call save first");
  // (The message is built only on failure: a step must not allocate.)
  if (!(x.defined() && x.dim() == 2 && x.size(0) == batch_ && x.size(1) == num_inputs_ && x.dtype() == DType::F32))
    fail(fmt::format(
        "TcnStepper::step: expected a float32 column (N = {} as in the last save, num_inputs = {}), got {}{}", batch_,
        num_inputs_, x.defined() ? x.describe() : std::string("undefined"),
        x.defined() && x.dim() == 2 && x.size(0) != batch_ ? " (a new batch size needs a new save)" : ""));
  // A contiguous column on the stepper's device is read in place (copying a Tensor copies its
  // shape vectors).
  if (!device_.is_cpu()) device_api(device_).make_current();
  if (x.device() == device_ && x.is_contiguous()) {
    step_device(x.data<float>());
  } else {
    x_.copy_(x);
    step_device(x_.data<float>());
  }
  return levels_.back().out;
}

void TcnStepper::step_device(const float* x) {
  check(ready(), "TcnStepper::step: call save first");
  ops_->tick(pos_.data<int64_t>(), 0);
  team_.run([&](int tid, int nt) { step_column(tid, nt, x); });
}

// Member `tid` of `nt` computes its share of every conv's output rows. The share of a level's
// input channels is the share of the previous level's output rows (the same step::share), so a
// member pushes and gathers only what it computed itself; sync() where a product needs a whole
// window.
void TcnStepper::step_column(int tid, int nt, const float* x) {
  const int64_t N = batch_, K = K_;
  const StepKernels& k = *ops_;
  const int64_t* pos = pos_.data<int64_t>();
  const float* cur = x;  // the block input (N, c_in)
  for (Level& L : levels_) {
    const auto [a0, a1] = step::share(L.c_in, tid, nt);
    const auto [o0, o1] = step::share(L.c_out, tid, nt);
    float* x1 = L.x1.data<float>();
    float* x2 = L.x2.data<float>();
    float* h = L.h.data<float>();
    float* out = L.out.data<float>();
    // conv1: h = relu(W1 · window1 + b1)
    k.ring_push_gather(N, L.c_in, a0, a1, L.slots, L.dilation, K, L.q1.data<float>(), pos, cur, L.c_in, x1);
    team_.sync();
    L.w1.affine(N, o0, o1 - o0, 0, K * L.c_in, x1, K * L.c_in, L.b1.data<float>() + o0, h + o0, L.c_out, false);
    k.relu(N, o0, o1, h, L.c_out, h, L.c_out);
    // conv2: out = relu(W2 · window2 + b2)
    k.ring_push_gather(N, L.c_out, o0, o1, L.slots, L.dilation, K, L.q2.data<float>(), pos, h, L.c_out, x2);
    team_.sync();
    L.w2.affine(N, o0, o1 - o0, 0, K * L.c_out, x2, K * L.c_out, L.b2.data<float>() + o0, out + o0, L.c_out,
                false);
    k.relu(N, o0, o1, out, L.c_out, out, L.c_out);
    // out = relu(out + residual), the residual from the newest input column only.
    if (L.wd.defined()) {
      L.wd.affine(N, o0, o1 - o0, 0, L.c_in, cur, L.c_in, L.bd.data<float>() + o0, out + o0, L.c_out, true);
    } else {
      k.add(N, o0, o1, cur, L.c_in, out, L.c_out);
    }
    k.relu(N, o0, o1, out, L.c_out, out, L.c_out);
    cur = out;
  }
}

}  // namespace seqnet
