// models/step/head_step.cpp — the task heads around the backbone step modes.
#include "models/step/head_step.h"

#include <cstring>

#include "autograd/variable.h"
#include "core/device_api.h"
#include "core/error.h"
#include "ops/backend.h"

namespace seqnet {

// ---- BackboneStepper -----------------------------------------------------------------------------

BackboneStepper::BackboneStepper(TCN* tcn, Sequnet* sequnet, step::Weights weights, Device device) {
  check((tcn != nullptr) != (sequnet != nullptr), "BackboneStepper: give exactly one backbone (a TCN or a Seq-U-Net)");
  if (tcn)
    tcn_.emplace(*tcn, weights, device);
  else
    sequnet_.emplace(*sequnet, weights, device);
}

Tensor BackboneStepper::save(const Tensor& x) { return tcn_ ? tcn_->save(x) : sequnet_->save(x); }
const Tensor& BackboneStepper::step(const Tensor& x) {
  if (!tcn_) return sequnet_->step(x);
  return tcn_->step(x);  // (reads a contiguous float32 column on its device in place)
}
void BackboneStepper::set_team_threads(int threads) {
  if (tcn_) tcn_->set_team_threads(threads);
  else sequnet_->set_team_threads(threads);
}
double BackboneStepper::step_weight_bytes() const {
  return tcn_ ? tcn_->step_weight_bytes() : sequnet_->step_weight_bytes();
}
int64_t BackboneStepper::cycles() const { return tcn_ ? 1 : sequnet_->cycles(); }
int64_t BackboneStepper::phase() const { return tcn_ ? 0 : sequnet_->phase(); }
const Tensor& BackboneStepper::output() const { return tcn_ ? tcn_->output() : sequnet_->output(); }
void BackboneStepper::skip_step() {
  if (sequnet_) sequnet_->skip_step();
}

namespace {

// A parameter as a contiguous float32 tensor on the host (checkpoints may hold f64 models; the
// model may live on a GPU).
Tensor f32(const Variable& v) { return v.data().to(Device::cpu()).to(DType::F32).contiguous(); }

// The newest column (N, C) of y (N, C, T), copied into a contiguous tensor.
Tensor last_column(const Tensor& y) { return y.select(2, y.size(2) - 1).contiguous(); }

}  // namespace

// ---- LanguageModelStepper ------------------------------------------------------------------------

LanguageModelStepper::LanguageModelStepper(LanguageModel& lm, step::Weights weights, Device device)
    : device_(device), backbone_(lm.tcn(), lm.sequnet(), weights, device) {
  const LanguageModelConfig& cfg = lm.config();
  vocab_ = cfg.vocab, emsize_ = cfg.emsize;
  emb_ = f32(lm.params().get("encoder.weight"));
  const Tensor D = f32(lm.params().get("decoder.weight"));
  if (!(emb_.shape() == Shape({vocab_, emsize_}) && D.shape() == Shape({vocab_, emsize_})))
    fail(fmt::format("LanguageModelStepper: encoder / decoder weights must be ({}, {}), got {} / {}", vocab_, emsize_,
                     shape_str(emb_.shape()), shape_str(D.shape())));
  dec_ = step::Matrix(vocab_, emsize_);
  std::memcpy(dec_.data(), D.data<float>(), sizeof(float) * size_t(vocab_ * emsize_));
  dec_.store_as(weights, "decoder.weight");
  dec_b_ = f32(lm.params().get("decoder.bias"));
  if (!device.is_cpu()) emb_t_ = emb_.transpose(0, 1).contiguous().to(device);  // (the CPU copies rows of emb_)
  dec_.to(device, "decoder.weight");
  dec_b_ = dec_b_.to(device);
}

double LanguageModelStepper::step_weight_bytes() const { return backbone_.step_weight_bytes() + double(dec_.bytes()); }

void LanguageModelStepper::decode(const Tensor& h) {
  // Single-threaded, like the steppers' own products: an OpenMP BLAS would wake its pool for this
  // product, and on a busy machine a step then waits a scheduler tick (measured: 8 ms) for it.
  step::SingleThreadedBlas solo;
  dec_.affine(batch_, 0, vocab_, 0, emsize_, h.data<float>(), emsize_, dec_b_.data<float>(), logits_.data<float>(),
              vocab_, /*accumulate=*/false);
}

const Tensor& LanguageModelStepper::save(const Tensor& tokens) {
  if (!(tokens.dtype() == DType::I64 && tokens.dim() == 2 && tokens.size(0) >= 1 && tokens.size(1) >= 1))
    fail(fmt::format("LanguageModelStepper::save: expected token ids i64 (N, T) with N, T >= 1, got {}",
                     tokens.describe()));
  const int64_t N = tokens.size(0), T = tokens.size(1);
  const Tensor ids = tokens.contiguous();
  const int64_t* p = ids.data<int64_t>();
  Tensor x = Tensor::empty({N, emsize_, T}, DType::F32);  // embeddings, channels first
  float* px = x.data<float>();
  const float* E = emb_.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t id = p[n * T + t];
      check(id >= 0 && id < vocab_, "LanguageModelStepper::save: token id {} at ({}, {}) is outside [0, {})", id, n, t,
            vocab_);
      for (int64_t c = 0; c < emsize_; ++c) px[(n * emsize_ + c) * T + t] = E[id * emsize_ + c];
    }
  NoGradGuard ng;
  device_api(device_).make_current();
  const Tensor h = last_column(backbone_.save(x));
  batch_ = N;
  col_ = step::f32_zeros({N, emsize_}, device_);
  logits_ = step::f32_zeros({N, vocab_}, device_);
  ids_ = Tensor::zeros({N}, DType::I64, device_);
  decode(h.to(device_).to(DType::F32).contiguous());
  return logits_;
}

const Tensor& LanguageModelStepper::step(const int64_t* ids) {
  check(batch_ > 0, "LanguageModelStepper::step: call save first");
  for (int64_t n = 0; n < batch_; ++n)
    check(ids[n] >= 0 && ids[n] < vocab_, "LanguageModelStepper::step: token id {} of sequence {} is outside [0, {})",
          ids[n], n, vocab_);
  if (device_.is_cpu()) {
    std::memcpy(ids_.data<int64_t>(), ids, sizeof(int64_t) * size_t(batch_));
  } else {
    device_api(device_).make_current();
    device_api(device_).copy_from_host(ids_.data<int64_t>(), ids, sizeof(int64_t) * size_t(batch_));
  }
  step_ids();
  return logits_;
}

void LanguageModelStepper::step_ids() {
  check(batch_ > 0, "LanguageModelStepper::step: call save first");
  // col[n, :] = E[ids[n], :], the embedding row: on the CPU a row copy, on a GPU the lookup kernel
  // reading one weight column of Eᵀ per sequence.
  if (device_.is_cpu()) {
    const int64_t* ids = ids_.data<int64_t>();
    for (int64_t n = 0; n < batch_; ++n)
      std::memcpy(col_.data<float>() + n * emsize_, emb_.data<float>() + ids[n] * emsize_,
                  sizeof(float) * size_t(emsize_));
  } else {
    backend(device_, "LanguageModelStepper")
        .step.lookup(batch_, 0, emsize_, 1, vocab_, emb_t_.data<float>(), vocab_, ids_.data<int64_t>(), nullptr,
                     col_.data<float>(), emsize_, {});
  }
  decode(backbone_.step(col_));
}

// ---- PolyMusicStepper ----------------------------------------------------------------------------

PolyMusicStepper::PolyMusicStepper(PolyMusicModel& model, step::Weights weights, Device device)
    : device_(device), backbone_(model.tcn(), model.sequnet(), weights, device) {
  const PolyMusicConfig& cfg = model.config();
  keys_ = cfg.input_size;
  check(cfg.output_size == keys_, "PolyMusicStepper: the model's output size {} differs from its input size {}",
        cfg.output_size, keys_);
  if (model.tcn()) {
    const Tensor W = f32(model.params().get("linear.weight"));
    lin_ = step::Matrix(W.size(0), W.size(1));
    std::memcpy(lin_.data(), W.data<float>(), sizeof(float) * size_t(W.numel()));
    lin_.store_as(weights, "linear.weight");
    lin_.to(device, "linear.weight");
    lin_b_ = f32(model.params().get("linear.bias")).to(device);
  }
}

double PolyMusicStepper::step_weight_bytes() const {
  return backbone_.step_weight_bytes() + (lin_.defined() ? double(lin_.bytes()) : 0.0);
}

const Tensor& PolyMusicStepper::head(const Tensor& h) {
  if (!lin_.defined()) return h;  // the Seq-U-Net outputs the logits itself
  step::SingleThreadedBlas solo;  // as in decode: never wake BLAS's thread pool for one column
  lin_.affine(batch_, 0, keys_, 0, lin_.cols(), h.data<float>(), lin_.cols(), lin_b_.data<float>(),
              lin_out_.data<float>(), keys_, /*accumulate=*/false);
  return lin_out_;
}

const Tensor& PolyMusicStepper::save(const Tensor& roll) {
  if (!(roll.dim() == 3 && roll.size(0) >= 1 && roll.size(1) >= 1 && roll.size(2) == keys_))
    fail(fmt::format("PolyMusicStepper::save: expected a piano roll (N, T, {}) with N, T >= 1, got {}", keys_,
                     roll.describe()));
  NoGradGuard ng;
  device_api(device_).make_current();
  const Tensor x = roll.to(DType::F32).permute({0, 2, 1}).contiguous();  // (N, keys, T)
  batch_ = roll.size(0);
  lin_out_ = step::f32_zeros({batch_, keys_}, device_);
  frame_ = step::f32_zeros({batch_, keys_}, device_);
  save_h_ = last_column(backbone_.save(x)).to(device_).to(DType::F32).contiguous();
  return head(save_h_);
}

const Tensor& PolyMusicStepper::step(const Tensor& frame) {
  check(batch_ > 0, "PolyMusicStepper::step: call save first");
  if (!(frame.dim() == 2 && frame.size(0) == batch_ && frame.size(1) == keys_))
    fail(fmt::format("PolyMusicStepper::step: expected a frame ({}, {}), got {}", batch_, keys_, frame.describe()));
  return head(backbone_.step(frame));
}

void PolyMusicStepper::step_frame() {
  check(batch_ > 0, "PolyMusicStepper::step_frame: call save first");
  head(backbone_.step(frame_));
}

}  // namespace seqnet
