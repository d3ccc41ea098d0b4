// models/step/tcn_step.cpp — TCN step mode: one queue per conv, one column per step.
#include "models/step/tcn_step.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/variable.h"
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
// slot; the slots before them (T < slots) are zeros, exactly the causal front padding.
void fill_queue(Tensor& q, const Tensor& in, const char* what, int64_t level) {
  const int64_t slots = q.size(0), N = q.size(1), C = q.size(2);
  if (!(in.dim() == 3 && in.size(0) == N && in.size(1) == C))
    fail(fmt::format("TcnStepper::save: level {} {} input {} does not fit its queue (N {}, C {})", level, what,
                     in.describe(), N, C));
  const int64_t T = in.size(2), n = std::min(T, slots);
  float* dst = q.data<float>();
  std::memset(dst, 0, size_t(q.numel()) * sizeof(float));
  const Tensor tail = in.narrow(2, T - n, n).permute({2, 0, 1}).contiguous().to(DType::F32).contiguous();
  std::memcpy(dst + (slots - n) * N * C, tail.data<float>(), size_t(tail.numel()) * sizeof(float));
}

// Channels [c0, c1) of the new column src (N, C), rows `ld` floats apart, into the ring's newest
// slot `p`; then the K tapped columns (tap m is (K−1−m)·d steps old) of those channels into the
// contiguous tap-major window dst (N, K·C).
void push_and_gather(float* q, int64_t slots, int64_t N, int64_t C, int64_t K, int64_t d, int64_t p,
                     const float* src, int64_t ld, int64_t c0, int64_t c1, float* dst) {
  const size_t bytes = size_t(c1 - c0) * sizeof(float);
  if (bytes == 0) return;
  for (int64_t n = 0; n < N; ++n) std::memcpy(q + (p * N + n) * C + c0, src + n * ld + c0, bytes);
  for (int64_t m = 0; m < K; ++m) {
    const int64_t slot = (p - (K - 1 - m) * d + slots) % slots;  // (K−1−m)d ≤ slots − 1
    for (int64_t n = 0; n < N; ++n) std::memcpy(dst + n * K * C + m * C + c0, q + (slot * N + n) * C + c0, bytes);
  }
}

void relu_rows(float* y, int64_t N, int64_t ld, int64_t o0, int64_t o1) {
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = o0; o < o1; ++o) y[n * ld + o] = std::max(y[n * ld + o], 0.0f);
}

}  // namespace

TcnStepper::TcnStepper(TCN& model, step::Weights weights) : model_(&model), weights_(weights) {
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
}

size_t TcnStepper::step_weight_bytes() const {
  size_t bytes = 0;
  for (const Level& L : levels_) bytes += L.w1.bytes() + L.w2.bytes() + (L.wd.defined() ? L.wd.bytes() : 0);
  return bytes;
}

void TcnStepper::reset() {
  batch_ = 0;
  pos_ = 0;
}

Tensor TcnStepper::save(const Tensor& x) {
  if (!(x.defined() && x.dim() == 3 && x.size(0) >= 1 && x.size(1) == num_inputs_ && x.size(2) >= 1))
    fail(fmt::format("TcnStepper::save: expected input (N, num_inputs = {}, T ≥ 1), got {}", num_inputs_,
                     x.defined() ? x.describe() : std::string("undefined")));
  if (!(x.dtype() == DType::F32))
    fail(fmt::format("TcnStepper::save: step mode takes float32 input, got {}", x.describe()));
  const int64_t N = x.size(0);
  if (N != batch_) {  // (re)allocate every buffer for this batch size
    for (Level& L : levels_) {
      L.q1 = step::f32_zeros({L.slots, N, L.c_in});
      L.q2 = step::f32_zeros({L.slots, N, L.c_out});
      L.x1 = step::f32_zeros({N, K_ * L.c_in});
      L.x2 = step::f32_zeros({N, K_ * L.c_out});
      L.h = step::f32_zeros({N, L.c_out});
      L.out = step::f32_zeros({N, L.c_out});
    }
  }
  batch_ = 0;  // not ready until the queues are filled

  // The normal forward in eval semantics (no dropout); every conv's input leaves its last
  // (K−1)d+1 columns in its queue, oldest in slot 0, newest in slot slots−1.
  NoGradGuard no_grad;
  const bool was_training = model_->training();
  model_->set_training(false);
  Variable y;
  try {
    y = model_->forward(Variable(x.to(model_dtype_)), [&](int64_t i, int conv, const Tensor& in) {
      Level& L = levels_[size_t(i)];
      fill_queue(conv == 1 ? L.q1 : L.q2, in, conv == 1 ? "conv1" : "conv2", i);
    });
  } catch (...) {
    model_->set_training(was_training);
    throw;
  }
  model_->set_training(was_training);
  // pos_ counts steps; a level's newest entry is slot pos_ mod slots. After save it is slots − 1
  // for every queue, i.e. pos_ ≡ −1.
  pos_ = -1;
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
  // A contiguous column is read in place (copying a Tensor copies its shape vectors).
  Tensor copy;
  if (!x.is_contiguous()) copy = x.contiguous();
  const float* src = copy.defined() ? copy.data<float>() : x.data<float>();
  ++pos_;
  team_.run([&](int tid, int nt) { step_column(tid, nt, src); });
  return levels_.back().out;
}

// Member `tid` of `nt` computes its share of every conv's output rows. The share of a level's
// input channels is the share of the previous level's output rows (the same step::share), so a
// member pushes and gathers only what it computed itself; sync() where a product needs a whole
// window.
void TcnStepper::step_column(int tid, int nt, const float* x) {
  const int64_t N = batch_, K = K_;
  const float* cur = x;  // the block input (N, c_in)
  for (Level& L : levels_) {
    const int64_t p = pos_ % L.slots;
    const auto [a0, a1] = step::share(L.c_in, tid, nt);
    const auto [o0, o1] = step::share(L.c_out, tid, nt);
    float* x1 = L.x1.data<float>();
    float* x2 = L.x2.data<float>();
    float* h = L.h.data<float>();
    float* out = L.out.data<float>();
    // conv1: h = relu(W1 · window1 + b1)
    push_and_gather(L.q1.data<float>(), L.slots, N, L.c_in, K, L.dilation, p, cur, L.c_in, a0, a1, x1);
    team_.sync();
    L.w1.affine(N, o0, o1 - o0, 0, K * L.c_in, x1, K * L.c_in, L.b1.data<float>() + o0, h + o0, L.c_out, false);
    relu_rows(h, N, L.c_out, o0, o1);
    // conv2: out = relu(W2 · window2 + b2)
    push_and_gather(L.q2.data<float>(), L.slots, N, L.c_out, K, L.dilation, p, h, L.c_out, o0, o1, x2);
    team_.sync();
    L.w2.affine(N, o0, o1 - o0, 0, K * L.c_out, x2, K * L.c_out, L.b2.data<float>() + o0, out + o0, L.c_out,
                false);
    relu_rows(out, N, L.c_out, o0, o1);
    // out = relu(out + residual), the residual from the newest input column only.
    if (L.wd.defined()) {
      L.wd.affine(N, o0, o1 - o0, 0, L.c_in, cur, L.c_in, L.bd.data<float>() + o0, out + o0, L.c_out, true);
    } else {
      for (int64_t n = 0; n < N; ++n)
        for (int64_t o = o0; o < o1; ++o) out[n * L.c_out + o] += cur[n * L.c_in + o];
    }
    relu_rows(out, N, L.c_out, o0, o1);
    cur = out;
  }
}

}  // namespace seqnet
