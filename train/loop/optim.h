// train/loop/optim.h — optimisers with PyTorch's update rules.
//
// An optimiser holds references to parameter Variables and updates their data in place from
// their .grad, under NoGradGuard. State (momentum buffers, Adam moments, step count) lives in
// plain Tensors so a checkpoint can save and restore it.
#pragma once
#include <string>
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

  // Checkpointing: every state buffer by (slot, parameter index), plus the step count. The
  // slot names are PyTorch's ("exp_avg", "exp_avg_sq", "momentum_buffer"); all buffers exist
  // from construction on (zeros), so a checkpoint written before the first step is complete.
  virtual std::string kind() const = 0;
  virtual std::vector<std::string> state_slots() const = 0;
  virtual Tensor& state(const std::string& slot, size_t param_index) = 0;
  virtual int64_t step_count() const { return 0; }
  virtual void set_step_count(int64_t) {}

 protected:
  std::vector<Variable> params_;
  double lr_ = 1e-3;
};

// p ← p − lr·v,  v ← momentum·v + g   (PyTorch SGD; no dampening, no Nesterov)
class SGD final : public Optimizer {
 public:
  SGD(std::vector<Variable> params, double lr, double momentum = 0.0);
  void step() override;
  std::string kind() const override { return "sgd"; }
  std::vector<std::string> state_slots() const override;
  Tensor& state(const std::string& slot, size_t param_index) override;

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
  std::string kind() const override { return "adam"; }
  std::vector<std::string> state_slots() const override { return {"exp_avg", "exp_avg_sq"}; }
  Tensor& state(const std::string& slot, size_t param_index) override;
  int64_t step_count() const override { return t_; }
  void set_step_count(int64_t t) override { t_ = t; }

 private:
  double b1_, b2_, eps_;
  int64_t t_ = 0;
  std::vector<Tensor> m_, v_;
};

// The global L2 norm of all gradients (parameters without a gradient count as zero).
double grad_norm(const std::vector<Variable>& params);

// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm
// before clipping (torch.nn.utils.clip_grad_norm_).
double clip_grad_norm(const std::vector<Variable>& params, double max_norm);

}  // namespace seqnet
