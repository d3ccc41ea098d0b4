// models/step/sequnet_res_step.cpp — clocked step mode of the residual Seq-U-Net (MODELS.md §9.2).
#include "models/step/sequnet_res_step.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "autograd/variable.h"
#include "core/device_api.h"
#include "core/error.h"
#include "models/step/step_kernels.h"

namespace seqnet {

namespace {
std::vector<int64_t> iota_taps(int64_t K) {
  std::vector<int64_t> t(static_cast<size_t>(K));
  for (int64_t m = 0; m < K; ++m) t[size_t(m)] = m;
  return t;
}

// Copies the last `rows` time steps of x (N, cx, T) (and cond (N, cc, T), if defined) into
// window (N, rows, cx + cc) as [x, cond] rows, oldest first; missing (t < 0) rows become zeros.
// (Tensor copies: x may live on the model's device and the window on the stepper's.)
void fill_window(Tensor& window, const Tensor& x, const Tensor& cond, const std::string& name) {
  const int64_t N = window.size(0), rows = window.size(1), width = window.size(2);
  const int64_t cx = x.size(1), cc = cond.defined() ? cond.size(1) : 0, T = x.size(2);
  if (!(x.dim() == 3 && x.size(0) == N && cx + cc == width && (!cond.defined() || cond.size(2) == T)))
    fail(fmt::format("SequnetResStepper::save: layer {}: input {} (cond {}) does not fit its window (N {}, width {})",
                     name, x.describe(), cond.defined() ? cond.describe() : std::string("none"), N, width));
  if (!(x.dtype() == DType::F32))
    fail(fmt::format("SequnetResStepper::save: layer {}: step mode is float32, got {}", name, x.describe()));
  const int64_t have = std::min(rows, T), skip = rows - have;
  window.fill_(0);
  Tensor rows_now = window.narrow(1, skip, have);  // (N, have, width)
  rows_now.narrow(2, 0, cx).copy_(x.narrow(2, T - have, have).permute({0, 2, 1}));
  if (cc > 0) rows_now.narrow(2, cx, cc).copy_(cond.narrow(2, T - have, have).permute({0, 2, 1}));
}
}  // namespace

SequnetResStepper::SequnetResStepper(SequnetRes& model, step::Weights weights, Device device)
    : model_(&model), device_(device), ops_(&backend(device, "SequnetResStepper").step), weights_(weights) {
  if (!device.is_cpu() && weights != step::Weights::F32)
    fail(fmt::format("SequnetResStepper: {} weights are multiplied on the CPU only; use f32 weights on {}",
                     step::weights_name(weights), device.str()));
  const SequnetResConfig& c = model.config();
  C_ = c.num_channels, K_ = c.kernel_size, n_ = c.num_levels - 1, depth_ = c.depth, num_inputs_ = c.num_inputs,
  num_outputs_ = c.num_outputs, cycles_ = model.cycles();
  const ParameterSet& ps = model.params();
  auto p = [&](const std::string& key) -> const Tensor& { return ps.get(key).data(); };

  const ResLayout lay = make_res_layout(c, model.prefix());
  std::vector<ResLayer> order;  // forward order
  for (int64_t i = 0; i < n_; ++i) {
    for (const ResLayer& l : lay.down_convs[size_t(i)]) order.push_back(l);
    order.push_back(lay.downconv[size_t(i)]);
  }
  for (const ResLayer& l : lay.bottlenecks) order.push_back(l);
  for (int64_t i = n_; i-- > 0;) {
    order.push_back(lay.upconv[size_t(i)]);
    for (const ResLayer& l : lay.up_convs[size_t(i)]) order.push_back(l);
  }

  for (const ResLayer& rl : order) {
    Layer L;
    L.name = rl.name, L.kind = rl.kind, L.cycles = rl.cycles, L.width = rl.in_channels;
    L.b = step::f32_zeros({2 * C_});
    step::pack_bias(p(rl.name + "filter.bias"), C_, L.b.data<float>(), 0);
    step::pack_bias(p(rl.name + "gate.bias"), C_, L.b.data<float>(), C_);
    if (rl.kind == ResLayerKind::Upsample) {
      // Output at the newest low-res position 2s uses the even taps m = 2q of samples s − q; the one
      // after it (2s + 1) the odd taps 2q + 1. Columns run over the window rows oldest first.
      L.q_even = (K_ + 1) / 2, L.q_odd = (K_ - 1) / 2;
      std::vector<int64_t> even, odd;
      for (int64_t q = 0; q < L.q_even; ++q) even.push_back(2 * (L.q_even - 1 - q));
      for (int64_t q = 0; q < L.q_odd; ++q) odd.push_back(2 * (L.q_odd - 1 - q) + 1);
      L.w = step::Matrix(2 * C_, L.q_even * C_);
      L.w_odd = step::Matrix(2 * C_, std::max<int64_t>(L.q_odd, 1) * C_);
      step::pack_transposed_taps(p(rl.name + "filter.weight"), even, L.w.data(), 0);
      step::pack_transposed_taps(p(rl.name + "gate.weight"), even, L.w.data(), C_);
      if (L.q_odd > 0) {
        step::pack_transposed_taps(p(rl.name + "filter.weight"), odd, L.w_odd.data(), 0);
        step::pack_transposed_taps(p(rl.name + "gate.weight"), odd, L.w_odd.data(), C_);
      }
      L.w_odd.store_as(weights, rl.name + " (odd taps)");
    } else {
      L.w = step::Matrix(2 * C_, K_ * L.width);
      step::pack_conv_taps(p(rl.name + "filter.weight"), iota_taps(K_), L.w.data(), 0);
      step::pack_conv_taps(p(rl.name + "gate.weight"), iota_taps(K_), L.w.data(), C_);
    }
    L.w.store_as(weights, rl.name);
    index_[L.name] = layers_.size();
    layers_.push_back(std::move(L));
  }
  const std::string pre = model.prefix();
  w_in_ = step::f32_zeros({C_, K_ * num_inputs_});
  b_in_ = step::f32_zeros({C_});
  step::pack_conv_taps(p(pre + "input_conv.weight"), iota_taps(K_), w_in_.data<float>(), 0);
  step::pack_bias(p(pre + "input_conv.bias"), C_, b_in_.data<float>(), 0);
  w_out_ = step::Matrix(num_outputs_, C_);
  b_out_ = step::f32_zeros({num_outputs_});
  step::pack_conv_taps(p(pre + "output_conv.1.weight"), {0}, w_out_.data(), 0);
  step::pack_bias(p(pre + "output_conv.1.bias"), num_outputs_, b_out_.data<float>(), 0);
  w_out_.store_as(weights, pre + "output_conv.1");
  check(n_ < 64, "SequnetResStepper: at most 64 levels, got {}", n_ + 1);
  if (!device.is_cpu()) {  // packed on the host, then moved
    for (Layer& L : layers_) {
      L.w.to(device, L.name);
      if (L.kind == ResLayerKind::Upsample) L.w_odd.to(device, L.name + " (odd taps)");
      L.b = L.b.to(device);
    }
    w_out_.to(device, pre + "output_conv.1");
    for (Tensor* t : {&w_in_, &b_in_, &b_out_}) *t = t->to(device);
  }
}

double SequnetResStepper::step_weight_bytes() const {
  double bytes = double(w_out_.bytes());
  for (const Layer& L : layers_) {
    // An upsampling layer evaluates both tap sets when a new low-res sample arrives (every 2·cycles steps).
    const double every = L.kind == ResLayerKind::Upsample ? 2.0 * double(L.cycles) : double(L.cycles);
    bytes += double(L.w.bytes() + (L.kind == ResLayerKind::Upsample ? L.w_odd.bytes() : 0)) / every;
  }
  return bytes;
}

void SequnetResStepper::set_fused_gates(bool on) {
  fused_request_ = on ? 1 : 0;
  choose_fused();
}

void SequnetResStepper::choose_fused() {
  fused_ = step::use_fused_gates(fused_request_, device_, batch_, weights_, team_.wanted());
}

void SequnetResStepper::set_team_threads(int threads) {
  check(device_.is_cpu() || threads == 1, "SequnetResStepper: a step on {} runs as one member, got {} threads",
        device_.str(), threads);
  team_.set_threads(threads);
  choose_fused();
}

void SequnetResStepper::reset() {
  pending_ = PendingGate{};
  batch_ = 0;
  clock_ = 1;
  choose_fused();
}

Tensor SequnetResStepper::save(const Tensor& x) {
  if (!(x.defined() && x.dim() == 3 && x.size(0) >= 1 && x.size(1) == num_inputs_))
    fail(fmt::format("SequnetResStepper::save: expected input (N, num_inputs = {}, T), got {}", num_inputs_,
                     x.defined() ? x.describe() : std::string("undefined")));
  if (!(x.dtype() == DType::F32))
    fail(fmt::format("SequnetResStepper::save: step mode is float32, got {}", x.describe()));
  const int64_t N = x.size(0);
  device_api(device_).make_current();
  pending_ = PendingGate{};  // (a step that failed half-way may have left a launch held back)
  if (N != batch_) {  // (re)allocate every buffer for this batch size
    const Device d = device_;
    for (Layer& L : layers_) {
      L.window = step::f32_zeros({N, K_, L.width}, d);
      L.out = step::f32_zeros({N, C_}, d);
      if (L.kind == ResLayerKind::Upsample) L.next = step::f32_zeros({N, C_}, d);
    }
    in_window_ = step::f32_zeros({N, K_, num_inputs_}, d);
    in_ids_ = Tensor::zeros({N, K_}, DType::I64, d);
    h0_ = step::f32_zeros({N, C_}, d);
    relu_ = step::f32_zeros({N, C_}, d);
    fg_ = step::f32_zeros({N, 2 * C_}, d);
    out_ = step::f32_zeros({N, num_outputs_}, d);
    ids_ = Tensor::zeros({N}, DType::I64, d);
    x_ = step::f32_zeros({N, num_inputs_}, d);
  }
  batch_ = 0;  // not ready until the windows are filled

  // Normal forward; each layer's window takes the last K steps of its input (and conditioning).
  NoGradGuard no_grad;
  const std::string in_name = model_->prefix() + "input_conv.";
  const Device model_device = model_->params().get(in_name + "weight").data().device();
  Variable y =
      model_->forward(Variable(x.to(model_device)), [&](const std::string& name, const Tensor& in, const Tensor& cond) {
        if (name == in_name) return fill_window(in_window_, in, cond, name);
        auto it = index_.find(name);
        check(it != index_.end(), "SequnetResStepper::save: the model reported an unknown layer '{}'", name);
        fill_window(layers_[it->second].window, in, cond, name);
      });
  // next_output of every upsampling layer: its odd-tap output one high-resolution step past the
  // newest saved sample (the save call's extra output, cropped from what it returns).
  batch_ = N;
  choose_fused();
  for (Layer& L : layers_)
    if (L.kind == ResLayerKind::Upsample) fire_upsampling(L, 0, C_, true);
  flush();
  // Which input rows are one-hot (their index) or not (−1), worked out on the host once.
  const Tensor host_window = in_window_.to(Device::cpu());
  Tensor host_ids = Tensor::zeros({N, K_}, DType::I64);
  const float* win = host_window.data<float>();
  int64_t* ids = host_ids.data<int64_t>();
  for (int64_t r = 0; r < N * K_; ++r) {
    int64_t id = -1, ones = 0, others = 0;
    for (int64_t c = 0; c < num_inputs_; ++c) {
      const float v = win[r * num_inputs_ + c];
      if (v == 1.0f) id = c, ++ones;
      else if (v != 0.0f) ++others;
    }
    ids[r] = ones == 1 && others == 0 ? id : -1;
  }
  in_ids_.copy_(host_ids);
  // The newest rows that are one-hot in every sequence.
  one_hot_rows_ = 0;
  for (int64_t m = K_; m-- > 0;) {
    bool all = true;
    for (int64_t n = 0; n < N; ++n) all = all && ids[n * K_ + m] >= 0;
    if (!all) break;
    ++one_hot_rows_;
  }
  in_window_stale_ = false;
  clock_ = 1;
  return y.data();
}

void SequnetResStepper::push(Layer& L, const float* x, const float* cond) {
  const int64_t cx = cond ? L.width / 2 : L.width;
  // Ride along in the held-back gated conv: its output is x or cond, or both were made before it
  // (gated_affine reads src after its own product); its window is not L's; enough pushes left.
  PendingGate& p = pending_;
  if (fused_ && p.active && cx == C_ && L.window.data<float>() != p.window && K_ <= kMaxPushRows &&
      p.pushes.count + (cond ? 2 : 1) <= kMaxStepPushes) {
    float* win = L.window.data<float>();
    p.pushes.push[p.pushes.count++] = StepPush{win, K_, L.width, 0, x, C_};
    if (cond) p.pushes.push[p.pushes.count++] = StepPush{win, K_, L.width, C_, cond, C_};
    return;
  }
  flush();
  ops_->window_push(batch_, K_, L.width, L.window.data<float>(), x, C_, cx, cond, C_);
  ++kernels_;
}

void SequnetResStepper::gate(const float* window, int64_t K, const float* X, int64_t ldx, const step::Matrix& w,
                             const float* bias, const float* id, int64_t ld_id, float* out) {
  flush();
  pending_ = PendingGate{true, K, ldx, w.cols(), ld_id, X, w.f32(), bias, id, window, out, {}};
}

void SequnetResStepper::flush() {
  PendingGate& p = pending_;
  if (!p.active) return;
  p.active = false;
  ops_->gated_affine(batch_, C_, p.K, p.X, p.ldx, p.W, p.ldw, p.bias, p.id, p.ld_id, p.out, C_, p.pushes);
  ++kernels_;
}

// out[c0:c1] = tanh(W_f·window + b_f) ⊙ σ(W_g·window + b_g) + newest input, for the channels
// [c0, c1) (stride 1 and decimating alike: the window ends at the current grid point and the
// identity keeps the newest sample).
void SequnetResStepper::fire(Layer& L, int64_t c0, int64_t c1, bool lead) {
  const int64_t ld = K_ * L.width;
  const float* win = L.window.data<float>();
  if (fused_ && c0 == 0 && c1 == C_) {  // product and gate in one kernel, launched with the next push
    gate(win, ld, win, ld, L.w, L.b.data<float>(), win + (K_ - 1) * L.width, ld, L.out.data<float>());
    return;
  }
  float* fg = fg_.data<float>();
  const bool whole = c0 == 0 && c1 == C_;
  if (whole)  // all 2C rows in one product
    L.w.affine(batch_, 0, 2 * C_, 0, ld, win, ld, L.b.data<float>(), fg, 2 * C_, false);
  else
    for (int64_t row0 : {c0, C_ + c0})  // filter rows, then the matching gate rows
      L.w.affine(batch_, row0, c1 - c0, 0, ld, win, ld, L.b.data<float>() + row0, fg + row0, 2 * C_, false);
  ops_->gated(batch_, C_, c0, c1, fg, win + (K_ - 1) * L.width, ld, L.out.data<float>(), C_);
  if (lead) kernels_ += whole ? 2 : 3;
}

// The transposed gated conv at the newest low-res sample s: output 2s (even taps) → out, output
// 2s + 1 (odd taps) → next; the duplicated identity is the newest sample for both.
void SequnetResStepper::fire_upsampling(Layer& L, int64_t c0, int64_t c1, bool lead) {
  const int64_t ld = K_ * C_;
  const float* win = L.window.data<float>();
  const float* newest = win + (K_ - 1) * C_;
  float* fg = fg_.data<float>();
  for (bool odd : {false, true}) {
    const int64_t q = odd ? L.q_odd : L.q_even;
    const step::Matrix& w = odd ? L.w_odd : L.w;
    if (fused_ && c0 == 0 && c1 == C_) {
      gate(win, q * C_, win + (K_ - q) * C_, ld, w, L.b.data<float>(), newest, ld,
           odd ? L.next.data<float>() : L.out.data<float>());
      continue;
    }
    const bool whole = c0 == 0 && c1 == C_;
    if (whole)
      w.affine(batch_, 0, 2 * C_, 0, q * C_, win + (K_ - q) * C_, ld, L.b.data<float>(), fg, 2 * C_, false);
    else
      for (int64_t row0 : {c0, C_ + c0})
        w.affine(batch_, row0, c1 - c0, 0, q * C_, win + (K_ - q) * C_, ld, L.b.data<float>() + row0, fg + row0, 2 * C_,
                 false);
    ops_->gated(batch_, C_, c0, c1, fg, newest, ld, odd ? L.next.data<float>() : L.out.data<float>(), C_);
    if (lead) kernels_ += whole ? 2 : 3;
  }
}

const Tensor& SequnetResStepper::step(const Tensor& x) {
  check(ready(), "SequnetResStepper::step: call save first");
  // (The message is built only on failure: a step must not allocate.)
  if (!(x.defined() && x.dim() == 2 && x.size(0) == batch_ && x.size(1) == num_inputs_ && x.dtype() == DType::F32))
    fail(fmt::format("SequnetResStepper::step: expected a float32 column (N = {}, num_inputs = {}), got {}", batch_,
                     num_inputs_, x.defined() ? x.describe() : std::string("undefined")));
  // A contiguous column on the CPU is read in place (copying a Tensor copies its shape vectors).
  if (!device_.is_cpu()) device_api(device_).make_current();
  const float* src;
  if (device_.is_cpu() && x.device().is_cpu() && x.is_contiguous()) {
    src = x.data<float>();
  } else {
    x_.copy_(x);
    src = x_.data<float>();
  }
  run(src, nullptr);
  return out_;
}

const Tensor& SequnetResStepper::step_indices(const int64_t* indices) {
  check(ready(), "SequnetResStepper::step_indices: call save first");
  for (int64_t n = 0; n < batch_; ++n)
    check(indices[n] >= 0 && indices[n] < num_inputs_,
          "SequnetResStepper::step_indices: index {} of row {} outside [0, {})", indices[n], n, num_inputs_);
  const int64_t* ids = indices;
  if (!device_.is_cpu()) {
    device_api(device_).make_current();
    device_api(device_).copy_from_host(ids_.data<int64_t>(), indices, size_t(batch_) * sizeof(int64_t));
    ids = ids_.data<int64_t>();
  }
  run(nullptr, ids);
  return out_;
}

void SequnetResStepper::step_ids() {
  check(ready(), "SequnetResStepper::step_ids: call save first");
  run(nullptr, nullptr);
}

int64_t SequnetResStepper::phase() const {
  int64_t level = 0;  // the largest j ≤ n + 1 with 2^j dividing the clock (t = 0: every level)
  while (level <= n_ && (clock_ == 0 || clock_ % (int64_t(1) << level) == 0)) ++level;
  const bool lookup = std::min(K_, one_hot_rows_ + 1) >= K_;  // after this step's one-hot push
  return 2 * level + (lookup ? 1 : 0);
}

void SequnetResStepper::skip_step() {  // what step_ids does on the host
  one_hot_rows_ = std::min(K_, one_hot_rows_ + 1);
  if (one_hot_rows_ >= K_) in_window_stale_ = true;
  clock_ = (clock_ + 1) % cycles_;
}

void SequnetResStepper::run(const float* x, const int64_t* indices) {
  kernels_ = 0;
  push_input(x, indices);
  team_.run([&](int tid, int nt) { run_step(tid, nt); });
}

// Appends the new column to the input window (and its index to the index window). x: a dense
// column; indices: N indices to push; neither: step_ids, whose draw pushed the newest index into
// in_ids_ already. Then, once all K rows are one-hot, the input conv takes the lookup, which reads
// in_ids_ alone: the float window's push is skipped (a kernel fewer per generated sample) and the
// window rebuilt from in_ids_ when a dense column next needs its rows.
void SequnetResStepper::push_input(const float* x, const int64_t* indices) {
  float* window = in_window_.data<float>();
  int64_t* ids = in_ids_.data<int64_t>();
  if (x) {
    if (in_window_stale_) {  // K pushes of the K indices, oldest first: the rows they stand for
      for (int64_t m = 0; m < K_; ++m) ops_->one_hot_push(batch_, K_, num_inputs_, window, nullptr, ids + m, K_);
      kernels_ += K_;
      in_window_stale_ = false;
    }
    ops_->window_push(batch_, K_, num_inputs_, window, x, num_inputs_, num_inputs_, nullptr, 0);
    one_hot_rows_ = 0;
  } else if (indices) {
    ops_->one_hot_push(batch_, K_, num_inputs_, window, ids, indices, 1);
    one_hot_rows_ = std::min(K_, one_hot_rows_ + 1);
  } else {
    one_hot_rows_ = std::min(K_, one_hot_rows_ + 1);
    if (one_hot_rows_ >= K_) {
      in_window_stale_ = true;
      return;
    }
    ops_->one_hot_push(batch_, K_, num_inputs_, window, nullptr, ids + (K_ - 1), K_);
  }
  ++kernels_;
}

// Member `tid` of `nt` threads: every member walks the same layers with the same clock and
// computes its own channels [c0, c1) of each value; sync() after every window push and every
// produced value, because the next product needs the whole vector.
void SequnetResStepper::run_step(int tid, int nt) {
  const int64_t t = clock_, N = batch_, KI = K_ * num_inputs_;
  const auto [c0, c1] = step::share(C_, tid, nt);
  const auto [o0, o1] = step::share(num_outputs_, tid, nt);
  const StepKernels& k = *ops_;
  // h0 = input_conv(window); for one-hot rows Σ_m W[:, m, id_m] + b (K weight columns).
  float* h0 = h0_.data<float>();
  // On the fused path the lookup also pushes h0 into the first conv's window (which always takes
  // it): one kernel fewer per generated sample.
  Layer& first = layers_.front();
  const bool lookup = one_hot_rows_ >= K_;
  const bool lookup_pushes = lookup && fused_ && K_ <= kMaxPushRows && first.width == C_;
  if (lookup) {
    StepPushes pushes;
    if (lookup_pushes) pushes.count = 1, pushes.push[0] = StepPush{first.window.data<float>(), K_, C_, 0, h0, C_};
    k.lookup(N, c0, c1, K_, num_inputs_, w_in_.data<float>(), KI, in_ids_.data<int64_t>(), b_in_.data<float>(), h0, C_,
             pushes);
  } else
    k.affine(N, c1 - c0, KI, in_window_.data<float>(), KI, w_in_.data<float>() + c0 * KI, KI, b_in_.data<float>() + c0,
             h0 + c0, C_, false);
  if (tid == 0) ++kernels_;
  team_.sync();

  size_t li = 0;
  const float* cur = h0;  // the newest value flowing forward, if `have`
  bool have = true;
  std::array<const float*, 64> shortcuts{};  // per down block: its skip value this step (or null)
  // A layer that receives a value appends it to its window; it produces one when t mod cycles = 0.
  auto plain = [&](Layer& L, const float* cond) {
    if (have && !(lookup_pushes && &L == &first)) {
      if (tid == 0) push(L, cur, cond);
      team_.sync();
    }
    have = t % L.cycles == 0;
    if (have) {
      fire(L, c0, c1, tid == 0);
      team_.sync();
      cur = L.out.data<float>();
    }
  };
  for (int64_t i = 0; i < n_; ++i) {
    for (int64_t j = 0; j < depth_; ++j) plain(layers_[li++], nullptr);
    shortcuts[size_t(i)] = have ? cur : nullptr;
    plain(layers_[li++], nullptr);  // downconv: window advances every 2^i steps, fires every 2^(i+1)
  }
  for (int64_t j = 0; j < depth_; ++j) plain(layers_[li++], nullptr);
  for (int64_t i = n_; i-- > 0;) {
    Layer& U = layers_[li++];
    const float* u = nullptr;
    if (have) {  // a new low-res sample: evaluate the transposed conv, keep the odd output for later
      if (tid == 0) push(U, cur, nullptr);
      team_.sync();
      fire_upsampling(U, c0, c1, tid == 0);
      team_.sync();
      u = U.out.data<float>();
    } else if (t % U.cycles == 0) {
      u = U.next.data<float>();
    }
    have = u != nullptr;
    if (!have) {
      li += size_t(depth_);
      continue;
    }
    cur = shortcuts[size_t(i)];  // the residual stream of the up block is the skip path
    check(cur != nullptr, "SequnetResStepper: up block {} ticks at clock {} without a skip value", i, t);
    for (int64_t j = 0; j < depth_; ++j) plain(layers_[li++], u);
  }
  // y = output_conv(relu(h)); the top up block produces at every step.
  // On the fused path (a team of one) the relu rides in the last conv's kernel as one more push.
  float* r = relu_.data<float>();
  bool relu_done = false;
  if (tid == 0) {
    PendingGate& p = pending_;
    if (p.active && p.out == cur && p.pushes.count < kMaxStepPushes) {
      p.pushes.push[p.pushes.count++] = StepPush{r, 1, C_, 0, cur, C_, true};
      relu_done = true;
    }
    flush();
  }
  if (!relu_done) {
    k.relu(N, c0, c1, cur, C_, r, C_);
    if (tid == 0) ++kernels_;
    team_.sync();
  }
  w_out_.affine(N, o0, o1 - o0, 0, C_, r, C_, b_out_.data<float>() + o0, out_.data<float>() + o0, num_outputs_,
                false);
  if (tid == 0) ++kernels_;
  team_.sync();
  if (tid == 0) clock_ = (t + 1) % cycles_;
}

}  // namespace seqnet
