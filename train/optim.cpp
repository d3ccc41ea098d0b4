#include "train/optim.h"

#include <cmath>

#include "ops/dispatch.h"

namespace seqnet {

void Optimizer::zero_grad() {
  for (Variable& p : params_) p.zero_grad();
}

SGD::SGD(std::vector<Variable> params, double lr, double momentum) : Optimizer(std::move(params)), momentum_(momentum) {
  lr_ = lr;
  // v starts at 0, so the first update v = momentum·0 + g = g matches PyTorch's buf = g.clone().
  if (momentum_ != 0.0)
    for (const Variable& p : params_) velocity_.push_back(Tensor::zeros(p.shape(), p.dtype()));
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
    dispatch_float(p.dtype(), "SGD", [&]<typename T>() {
      Tensor g = p.grad().contiguous();
      T* w = p.data().data<T>();
      const T* gp = g.data<T>();
      const int64_t n = p.numel();
      if (momentum_ != 0.0) {
        T* v = velocity_[i].data<T>();
        for (int64_t k = 0; k < n; ++k) v[k] = T(momentum_) * v[k] + gp[k];
        gp = velocity_[i].data<T>();
      }
      for (int64_t k = 0; k < n; ++k) w[k] -= T(lr_) * gp[k];
    });
  }
}

Adam::Adam(std::vector<Variable> params, double lr, double beta1, double beta2, double eps)
    : Optimizer(std::move(params)), b1_(beta1), b2_(beta2), eps_(eps) {
  lr_ = lr;
  for (const Variable& p : params_) {
    check(p.data().is_contiguous(), "Adam: parameter {} is not contiguous", p.data().describe());
    m_.push_back(Tensor::zeros(p.shape(), p.dtype()));
    v_.push_back(Tensor::zeros(p.shape(), p.dtype()));
  }
}

void Adam::step() {
  NoGradGuard ng;
  ++t_;
  const double bc1 = 1.0 - std::pow(b1_, double(t_));
  const double bc2 = 1.0 - std::pow(b2_, double(t_));
  for (size_t i = 0; i < params_.size(); ++i) {
    Variable& p = params_[i];
    if (!p.grad().defined()) continue;
    dispatch_float(p.dtype(), "Adam", [&]<typename T>() {
      Tensor g = p.grad().contiguous();
      T* w = p.data().data<T>();
      const T* gp = g.data<T>();
      T* m = m_[i].data<T>();
      T* v = v_[i].data<T>();
      const T b1 = T(b1_), b2 = T(b2_), step = T(lr_ / bc1), sq = T(std::sqrt(bc2)), eps = T(eps_);
      for (int64_t k = 0; k < p.numel(); ++k) {
        m[k] = b1 * m[k] + (T(1) - b1) * gp[k];
        v[k] = b2 * v[k] + (T(1) - b2) * gp[k] * gp[k];
        w[k] -= step * m[k] / (std::sqrt(v[k]) / sq + eps);
      }
    });
  }
}

double clip_grad_norm(const std::vector<Variable>& params, double max_norm) {
  double total = 0;
  for (const Variable& p : params) {
    if (!p.grad().defined()) continue;
    for (double x : p.grad().to_vector<double>()) total += x * x;
  }
  total = std::sqrt(total);
  const double scale = max_norm / (total + 1e-6);
  if (scale < 1.0)
    for (const Variable& p : params)
      if (p.grad().defined()) {
        Tensor g = p.grad();
        dispatch_float(g.dtype(), "clip_grad_norm", [&]<typename T>() {
          Tensor c = g.contiguous();
          T* d = c.data<T>();
          for (int64_t k = 0; k < c.numel(); ++k) d[k] *= T(scale);
          if (!c.shares_storage(g)) g.copy_(c);
        });
      }
  return total;
}

}  // namespace seqnet
