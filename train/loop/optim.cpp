#include "train/loop/optim.h"

#include <cmath>

#include "ops/backend.h"

namespace seqnet {

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
  for (size_t i = 0; i < params_.size(); ++i) {
    Variable& p = params_[i];
    if (!p.grad().defined()) continue;
    Tensor& w = p.data();
    const Tensor g = p.grad().contiguous();
    Tensor v = momentum_ != 0.0 ? velocity_[i] : Tensor();
    backend_for("SGD", w, g, v).optim.sgd_step(w, g, v, lr_, momentum_);
  }
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
  for (size_t i = 0; i < params_.size(); ++i) {
    Variable& p = params_[i];
    if (!p.grad().defined()) continue;
    Tensor& w = p.data();
    const Tensor g = p.grad().contiguous();
    backend_for("Adam", w, g, m_[i], v_[i]).optim.adam_step(w, g, m_[i], v_[i], s);
  }
}

// One sum_squares call per run of gradients on the same device (one for a model on one device):
// a GPU is waited for once per norm.
double grad_norm(const std::vector<Variable>& params) {
  double total = 0;
  std::vector<Tensor> run;
  const auto flush = [&] {
    if (!run.empty()) total = backend_for("grad_norm", run.front()).optim.sum_squares(run, total);
    run.clear();
  };
  for (const Variable& p : params) {
    if (!p.grad().defined()) continue;
    if (!run.empty() && p.grad().device() != run.front().device()) flush();
    run.push_back(p.grad().contiguous());
  }
  flush();
  return std::sqrt(total);
}

double clip_grad_norm(const std::vector<Variable>& params, double max_norm) {
  const double total = grad_norm(params);
  const double scale = max_norm / (total + 1e-6);
  if (scale < 1.0)
    for (const Variable& p : params)
      if (p.grad().defined()) {
        Tensor g = p.grad();
        Tensor c = g.contiguous();
        backend_for("clip_grad_norm", c).optim.scale(c, scale);
        if (!c.shares_storage(g)) g.copy_(c);
      }
  return total;
}

}  // namespace seqnet
