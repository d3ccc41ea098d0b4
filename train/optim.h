// train/optim.h — optimisers with PyTorch's update rules.
//
// An optimiser holds references to parameter Variables and updates their data in place from
// their .grad, under NoGradGuard. State (momentum buffers, Adam moments, step count) lives in
// plain Tensors so a checkpoint can save and restore it.
#pragma once
#include <vector>

#include "autograd/variable.h"

namespace seqnet {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Variable> params) : params_(std::move(params)) {}
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }
  const std::vector<Variable>& params() const { return params_; }

 protected:
  std::vector<Variable> params_;
  double lr_ = 1e-3;
};

// p ← p − lr·v,  v ← momentum·v + g   (PyTorch SGD; no dampening, no Nesterov)
class SGD final : public Optimizer {
 public:
  SGD(std::vector<Variable> params, double lr, double momentum = 0.0);
  void step() override;

 private:
  double momentum_;
  std::vector<Tensor> velocity_;
};

// Adam (Kingma & Ba) exactly as torch.optim.Adam: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
// p ← p − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + eps)
class Adam final : public Optimizer {
 public:
  Adam(std::vector<Variable> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);
  void step() override;
  int64_t steps() const { return t_; }

 private:
  double b1_, b2_, eps_;
  int64_t t_ = 0;
  std::vector<Tensor> m_, v_;
};

// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm
// before clipping (torch.nn.utils.clip_grad_norm_).
double clip_grad_norm(const std::vector<Variable>& params, double max_norm);

}  // namespace seqnet
