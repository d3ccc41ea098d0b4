// autograd/engine.cpp — the backward pass: topological order, closures, accumulation.
#include <unordered_map>
#include <unordered_set>

#include "autograd/variable.h"

namespace seqnet {

namespace {
thread_local bool t_grad_enabled = true;
}

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : prev_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = prev_; }

Variable::Variable(Tensor data, bool requires_grad) : impl_(std::make_shared<VariableImpl>()) {
  impl_->data = std::move(data);
  set_requires_grad(requires_grad);
}

Variable& Variable::set_requires_grad(bool r) {
  check(impl_ != nullptr, "set_requires_grad: undefined Variable");
  check(is_leaf(), "set_requires_grad: only leaves can change requires_grad (this Variable was made by '{}'); use detach()",
        impl_->grad_fn ? impl_->grad_fn->name : "");
  check(!r || is_floating(impl_->data.dtype()), "set_requires_grad: only floating tensors can require grad, got {}",
        impl_->data.describe());
  impl_->requires_grad = r;
  return *this;
}

void Variable::zero_grad() {
  if (impl_->grad.defined()) impl_->grad.fill_(0.0);
}

void Variable::retain_grad() {
  check(requires_grad(), "retain_grad: the Variable does not require grad");
  impl_->retains_grad = true;
}

Variable Variable::detach() const { return Variable(impl_->data, false); }

Variable make_result(const char* name, Tensor out, std::vector<Variable> inputs, BackwardFn backward) {
  Variable v(std::move(out));
  if (!grad_enabled()) return v;
  bool any = false;
  for (const Variable& in : inputs) any = any || in.requires_grad();
  if (!any) return v;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  v.impl()->requires_grad = true;
  v.impl()->grad_fn = std::move(node);
  return v;
}

void Variable::backward(bool retain_graph) {
  check(defined(), "backward: undefined Variable");
  check(numel() == 1,
        "backward: the output has shape {} ({} elements); backward() without a gradient needs a scalar — "
        "pass grad_output of the same shape",
        shape_str(shape()), numel());
  backward(Tensor::ones(shape(), dtype()), retain_graph);
}

void Variable::backward(const Tensor& grad_output, bool retain_graph) {
  check(defined(), "backward: undefined Variable");
  check(requires_grad(), "backward: the Variable does not require grad (no input of its graph has requires_grad)");
  check(grad_output.shape() == shape() && grad_output.dtype() == dtype(),
        "backward: grad_output is {} but the output is {}", grad_output.describe(), data().describe());

  // 1. Topological order of every Variable reachable from the root that requires grad
  //    (iterative DFS; post-order, so inputs come before the Variables computed from them).
  std::vector<VariableImpl*> order;
  std::unordered_set<VariableImpl*> seen;
  std::vector<std::pair<VariableImpl*, size_t>> stack{{impl_.get(), 0}};
  seen.insert(impl_.get());
  while (!stack.empty()) {
    auto& [v, next] = stack.back();
    Node* node = v->grad_fn.get();
    if (node && next < node->inputs.size()) {
      VariableImpl* in = node->inputs[next++].impl();
      if (in->requires_grad && seen.insert(in).second) stack.push_back({in, 0});
      continue;
    }
    order.push_back(v);
    stack.pop_back();
  }

  // 2. Walk from the root towards the leaves, summing gradients per Variable.
  // A pending gradient may alias a tensor a closure returned (add's backward returns its
  // input gradient unchanged, to both inputs), so it is copied before the first += into it.
  struct Pending {
    Tensor grad;
    bool owned = false;
  };
  std::unordered_map<VariableImpl*, Pending> pending;
  pending[impl_.get()] = {grad_output, false};
  auto accumulate_into = [](Tensor& slot, const Tensor& g) {
    if (!slot.defined()) slot = g.clone();  // .grad owns its buffer
    else slot.add_(g);
  };
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    VariableImpl* v = *it;
    auto found = pending.find(v);
    if (found == pending.end()) continue;  // no gradient reached it (e.g. unused branch)
    Tensor g = std::move(found->second.grad);
    const bool owned = found->second.owned;
    pending.erase(found);
    if (!v->grad_fn || v->retains_grad) {
      // A privately summed gradient of a leaf can be handed over as is; anything else is copied.
      if (!v->grad.defined() && owned && !v->grad_fn) v->grad = g;
      else accumulate_into(v->grad, g);
    }
    Node* node = v->grad_fn.get();
    if (!node) continue;
    check(!node->released,
          "backward: the graph through '{}' was already freed by an earlier backward(); "
          "call the first backward with retain_graph = true to backpropagate twice",
          node->name);
    std::vector<Tensor> grads = node->backward(g);
    check(grads.size() == node->inputs.size(), "backward of '{}': returned {} gradients for {} inputs", node->name,
          grads.size(), node->inputs.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      VariableImpl* in = node->inputs[i].impl();
      if (!in->requires_grad || !grads[i].defined()) continue;
      check(grads[i].shape() == in->data.shape(), "backward of '{}': gradient {} for input {} of shape {}",
            node->name, grads[i].describe(), i, shape_str(in->data.shape()));
      auto slot = pending.find(in);
      if (slot == pending.end()) {
        pending.emplace(in, Pending{grads[i], false});
      } else {
        Pending& p = slot->second;
        if (!p.owned) p.grad = p.grad.clone(), p.owned = true;
        p.grad.add_(grads[i]);
      }
    }
  }

  // 3. Free the graph: closures hold saved tensors, which is most of a step's memory.
  if (!retain_graph)
    for (VariableImpl* v : order)
      if (v->grad_fn) {
        v->grad_fn->backward = nullptr;
        v->grad_fn->inputs.clear();
        v->grad_fn->released = true;
      }
}

}  // namespace seqnet
