// models/wavenet_step.cpp — WaveNet step mode (MODELS.md §9.1): per-layer queues, one column per step.
#include "models/wavenet_step.h"

#include <algorithm>
#include <cstring>

#include "autograd/variable.h"
#include "core/error.h"
#include "models/step_kernels.h"

namespace seqnet {

namespace {
const Tensor& param(const WaveNet& m, const std::string& key) { return m.params().get(key).data(); }
Tensor optional_param(const WaveNet& m, const std::string& key) {
  return m.params().contains(key) ? m.params().get(key).data() : Tensor();
}
}  // namespace

WaveNetStepper::WaveNetStepper(WaveNet& model) : model_(&model) {
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
    L.w_fg = step::f32_zeros({2 * D_, K_ * R_});
    L.b_fg = step::f32_zeros({2 * D_});
    step::pack_conv_taps(param(model, fmt::format("filter_convs.{}.weight", i)), all_taps, L.w_fg.data<float>(), 0);
    step::pack_conv_taps(param(model, fmt::format("gate_convs.{}.weight", i)), all_taps, L.w_fg.data<float>(), D_);
    step::pack_bias(optional_param(model, fmt::format("filter_convs.{}.bias", i)), D_, L.b_fg.data<float>(), 0);
    step::pack_bias(optional_param(model, fmt::format("gate_convs.{}.bias", i)), D_, L.b_fg.data<float>(), D_);
    // The last layer's residual output is never used: its packed matrix holds the skip conv only.
    const bool last = i + 1 == n;
    L.rs_skip_row0 = last ? 0 : R_;
    L.rs_rows = L.rs_skip_row0 + S_;
    L.w_rs = step::f32_zeros({L.rs_rows, D_});
    L.b_rs = step::f32_zeros({L.rs_rows});
    if (!last) {
      step::pack_conv_taps(param(model, fmt::format("residual_convs.{}.weight", i)), {0}, L.w_rs.data<float>(), 0);
      step::pack_bias(optional_param(model, fmt::format("residual_convs.{}.bias", i)), R_, L.b_rs.data<float>(), 0);
    }
    step::pack_conv_taps(param(model, fmt::format("skip_convs.{}.weight", i)), {0}, L.w_rs.data<float>(),
                         L.rs_skip_row0);
    step::pack_bias(optional_param(model, fmt::format("skip_convs.{}.bias", i)), S_, L.b_rs.data<float>(),
                    L.rs_skip_row0);
  }
  auto pack1x1 = [&](const std::string& name, int64_t c_out, int64_t c_in, Tensor& w, Tensor& b) {
    w = step::f32_zeros({c_out, c_in});
    b = step::f32_zeros({c_out});
    step::pack_conv_taps(param(model, name + ".weight"), {0}, w.data<float>(), 0);
    step::pack_bias(optional_param(model, name + ".bias"), c_out, b.data<float>(), 0);
  };
  pack1x1("start_conv", R_, classes_, w_start_, b_start_);
  pack1x1("end_conv_1", S_, S_, w_end1_, b_end1_);
  pack1x1("end_conv_2", classes_, S_, w_end2_, b_end2_);
}

void WaveNetStepper::reset() {
  batch_ = 0;
  pos_ = 0;
}

Tensor WaveNetStepper::save(const Tensor& x) {
  check(x.defined() && x.dim() == 3 && x.size(1) == classes_ && x.size(0) >= 1,
        "WaveNetStepper::save: expected input (N, classes = {}, T), got {}", classes_,
        x.defined() ? x.describe() : std::string("undefined"));
  check(x.dtype() == DType::F32, "WaveNetStepper::save: step mode is float32, got {}", x.describe());
  const int64_t N = x.size(0);
  if (N != batch_) {  // (re)allocate every buffer for this batch size
    for (Layer& L : layers_) L.queue = step::f32_zeros({L.slots, N, R_});
    x_ = step::f32_zeros({N, classes_});
    h_ = step::f32_zeros({N, R_});
    taps_ = step::f32_zeros({N, K_ * R_});
    fg_ = step::f32_zeros({N, 2 * D_});
    z_ = step::f32_zeros({N, D_});
    rs_ = step::f32_zeros({N, R_ + S_});
    skip_ = step::f32_zeros({N, S_});
    e1_ = step::f32_zeros({N, S_});
    out_ = step::f32_zeros({N, classes_});
  }
  batch_ = 0;  // not ready until the queues are filled

  // Normal forward; every layer's input h (N, R, T_i) leaves its last d(K−1)+1 columns in its
  // queue, oldest in slot 0, newest in slot slots−1.
  NoGradGuard no_grad;
  Variable y = model_->forward(Variable(x), [&](int64_t i, const Tensor& h) {
    Layer& L = layers_[size_t(i)];
    const int64_t T = h.size(2);
    check(T >= L.slots, "WaveNetStepper::save: layer {} input has {} steps, fewer than its queue {}", i, T, L.slots);
    const Tensor tail = h.narrow(2, T - L.slots, L.slots).permute({2, 0, 1}).contiguous();  // (slots, N, R)
    std::memcpy(L.queue.data<float>(), tail.data<float>(), size_t(tail.numel()) * sizeof(float));
  });
  // pos_ counts samples; layer i's newest entry is slot pos_ mod slots_i. After save it is
  // slots_i − 1 for every layer, i.e. pos_ ≡ −1.
  pos_ = -1;
  batch_ = N;
  return y.data();
}

const Tensor& WaveNetStepper::step(const Tensor& x) {
  check(ready(), "WaveNetStepper::step: call save first");
  // (The message is built only on failure: a step must not allocate.)
  if (!(x.defined() && x.dim() == 2 && x.size(0) == batch_ && x.size(1) == classes_ && x.dtype() == DType::F32))
    fail(fmt::format("WaveNetStepper::step: expected a float32 column (N = {}, classes = {}), got {}", batch_, classes_,
                     x.defined() ? x.describe() : std::string("undefined")));
  // h = start_conv(x)
  // A contiguous column is read in place (copying a Tensor copies its shape vectors).
  Tensor copy;
  if (!x.is_contiguous()) copy = x.contiguous();
  const float* src = copy.defined() ? copy.data<float>() : x.data<float>();
  step::affine_rows(batch_, R_, classes_, src, classes_, w_start_.data<float>(), b_start_.data<float>(),
                    h_.data<float>());
  step_column();
  return out_;
}

const Tensor& WaveNetStepper::step_indices(const int64_t* indices) {
  check(ready(), "WaveNetStepper::step_indices: call save first");
  // start_conv of a one-hot column is one weight column plus the bias: h[n, o] = W[o, idx_n] + b[o].
  const float* w = w_start_.data<float>();
  const float* b = b_start_.data<float>();
  float* h = h_.data<float>();
  for (int64_t n = 0; n < batch_; ++n) {
    const int64_t idx = indices[n];
    check(idx >= 0 && idx < classes_, "WaveNetStepper::step_indices: index {} of row {} outside [0, {})", idx, n,
          classes_);
    for (int64_t o = 0; o < R_; ++o) h[n * R_ + o] = w[o * classes_ + idx] + b[o];
  }
  step_column();
  return out_;
}

void WaveNetStepper::step_column() {
  const int64_t N = batch_;
  float* h = h_.data<float>();
  float* taps = taps_.data<float>();
  float* fg = fg_.data<float>();
  float* z = z_.data<float>();
  float* rs = rs_.data<float>();
  float* skip = skip_.data<float>();
  ++pos_;  // the time index of the new sample (mod each layer's ring length)
  const size_t col_bytes = size_t(R_) * sizeof(float);
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& L = layers_[i];
    float* q = L.queue.data<float>();
    const int64_t head = pos_ % L.slots;
    std::memcpy(q + head * N * R_, h, size_t(N) * col_bytes);  // the oldest entry drops out
    // Gather the K taps h(t − d(K−1−m)), m = 0..K−1, into rows (N, K·R).
    for (int64_t m = 0; m < K_; ++m) {
      const int64_t slot = ((pos_ - L.dilation * (K_ - 1 - m)) % L.slots + L.slots) % L.slots;
      for (int64_t n = 0; n < N; ++n) std::memcpy(taps + n * K_ * R_ + m * R_, q + (slot * N + n) * R_, col_bytes);
    }
    step::affine_rows(N, 2 * D_, K_ * R_, taps, K_ * R_, L.w_fg.data<float>(), L.b_fg.data<float>(), fg);
    step::gated_rows(N, D_, fg, nullptr, 0, z);
    // [residual; skip] = W_rs z + b_rs; h += residual (identity = newest input); skip (+)= its part.
    step::affine_rows(N, L.rs_rows, D_, z, D_, L.w_rs.data<float>(), L.b_rs.data<float>(), rs);
    for (int64_t n = 0; n < N; ++n) {
      const float* r = rs + n * L.rs_rows;
      if (L.rs_skip_row0 > 0)
        for (int64_t o = 0; o < R_; ++o) h[n * R_ + o] += r[o];
      float* s = skip + n * S_;
      const float* sr = r + L.rs_skip_row0;
      if (i == 0) std::memcpy(s, sr, size_t(S_) * sizeof(float));
      else
        for (int64_t o = 0; o < S_; ++o) s[o] += sr[o];
    }
  }
  // y = end_conv_2(relu(end_conv_1(relu(skip))))
  float* e1 = e1_.data<float>();
  for (int64_t k = 0; k < N * S_; ++k) skip[k] = std::max(skip[k], 0.0f);
  step::affine_rows(N, S_, S_, skip, S_, w_end1_.data<float>(), b_end1_.data<float>(), e1);
  for (int64_t k = 0; k < N * S_; ++k) e1[k] = std::max(e1[k], 0.0f);
  step::affine_rows(N, classes_, S_, e1, S_, w_end2_.data<float>(), b_end2_.data<float>(), out_.data<float>());
}

}  // namespace seqnet
