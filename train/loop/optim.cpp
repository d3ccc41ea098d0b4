#include "train/loop/optim.h"

#include <cmath>

#include "ops/backend.h"

namespace seqnet {

namespace {
// Calls kernel(run) for each maximal run of consecutive items whose tensors share a device and a
// dtype (the list kernels' precondition), so a model on one device is one call.
template <class Item, class Key, class Kernel>
void for_each_run(const std::vector<Item>& items, Key key, Kernel kernel) {
  std::vector<Item> run;
  for (const Item& item : items) {
    const Tensor& t = key(item);
    const Tensor& first = run.empty() ? t : key(run.front());
    if (t.device() != first.device() || t.dtype() != first.dtype()) {
      kernel(run);
      run.clear();
    }
    run.push_back(item);
  }
  if (!run.empty()) kernel(run);
}
}  // namespace

void Optimizer::zero_grad() {
  for (Variable& p : params_) p.zero_grad();
}

SGD::SGD(std::vector<Variable> params, double lr, double momentum) : Optimizer(std::move(params)), momentum_(momentum) {
  lr_ = lr;
  // v starts at 0, so the first update v = momentum·0 + g = g matches PyTorch's buf = g.clone().
  if (momentum_ != 0.0)
    for (const Variable& p : params_) velocity_.push_back(zeros_like(p.data()));
}

std::vector<std::string> SGD::state_slots() const {
  if (momentum_ == 0.0) return {};
  return {"momentum_buffer"};
}

Tensor& SGD::state(const std::string& slot, size_t i) {
  check(momentum_ != 0.0 && slot == "momentum_buffer" && i < velocity_.size(),
        "SGD: no state '{}' for parameter {} (momentum {})", slot, i, momentum_);
  return velocity_[i];
}

Tensor& Adam::state(const std::string& slot, size_t i) {
  check(i < m_.size() && (slot == "exp_avg" || slot == "exp_avg_sq"), "Adam: no state '{}' for parameter {}", slot, i);
  return slot == "exp_avg" ? m_[i] : v_[i];
}

void SGD::step() {
  NoGradGuard ng;
  std::vector<SgdSlot> slots;
  for (size_t i = 0; i < params_.size(); ++i) {
    Variable& p = params_[i];
    if (!p.grad().defined()) continue;
    SgdSlot slot{p.data(), p.grad().contiguous(), momentum_ != 0.0 ? velocity_[i] : Tensor()};
    backend_for("SGD", slot.p, slot.g, slot.velocity);  // one device per slot, or a clear error
    slots.push_back(std::move(slot));
  }
  for_each_run(
      slots, [](const SgdSlot& s) -> const Tensor& { return s.p; },
      [&](const std::vector<SgdSlot>& run) { backend_for("SGD", run.front().p).optim.sgd_step(run, lr_, momentum_); });
}

Adam::Adam(std::vector<Variable> params, double lr, double beta1, double beta2, double eps)
    : Optimizer(std::move(params)), b1_(beta1), b2_(beta2), eps_(eps) {
  lr_ = lr;
  for (const Variable& p : params_) {
    check(p.data().is_contiguous(), "Adam: parameter {} is not contiguous", p.data().describe());
    m_.push_back(zeros_like(p.data()));
    v_.push_back(zeros_like(p.data()));
  }
}

void Adam::step() {
  NoGradGuard ng;
  ++t_;
  const double bc1 = 1.0 - std::pow(b1_, double(t_));
  const double bc2 = 1.0 - std::pow(b2_, double(t_));
  const AdamStep s{.lr = lr_, .beta1 = b1_, .beta2 = b2_, .eps = eps_, .bias_correction1 = bc1, .bias_correction2 = bc2};
  std::vector<AdamSlot> slots;
  for (size_t i = 0; i < params_.size(); ++i) {
    Variable& p = params_[i];
    if (!p.grad().defined()) continue;
    AdamSlot slot{p.data(), p.grad().contiguous(), m_[i], v_[i]};
    backend_for("Adam", slot.p, slot.g, slot.m, slot.v);  // one device per slot, or a clear error
    slots.push_back(std::move(slot));
  }
  for_each_run(
      slots, [](const AdamSlot& a) -> const Tensor& { return a.p; },
      [&](const std::vector<AdamSlot>& run) { backend_for("Adam", run.front().p).optim.adam_step(run, s); });
}

// One sum_squares call per run of gradients on one device with one dtype (one for a model on one
// device): a GPU is waited for once per norm.
double grad_norm(const std::vector<Variable>& params) {
  std::vector<Tensor> gs;
  for (const Variable& p : params)
    if (p.grad().defined()) gs.push_back(p.grad().contiguous());
  double total = 0;
  for_each_run(
      gs, [](const Tensor& g) -> const Tensor& { return g; },
      [&](const std::vector<Tensor>& run) {
        total = backend_for("grad_norm", run.front()).optim.sum_squares(run, total);
      });
  return std::sqrt(total);
}

double clip_grad_norm(const std::vector<Variable>& params, double max_norm) {
  const double total = grad_norm(params);
  const double scale = max_norm / (total + 1e-6);
  if (scale >= 1.0) return total;
  std::vector<Tensor> gs, cs;  // each gradient and its contiguous form (the same tensor when it is)
  for (const Variable& p : params)
    if (p.grad().defined()) {
      gs.push_back(p.grad());
      cs.push_back(gs.back().contiguous());
    }
  for_each_run(
      cs, [](const Tensor& c) -> const Tensor& { return c; },
      [&](const std::vector<Tensor>& run) { backend_for("clip_grad_norm", run.front()).optim.scale(run, scale); });
  for (size_t i = 0; i < gs.size(); ++i)
    if (!cs[i].shares_storage(gs[i])) gs[i].copy_(cs[i]);
  return total;
}

}  // namespace seqnet
