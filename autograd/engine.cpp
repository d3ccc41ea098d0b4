// autograd/engine.cpp — the backward pass: topological order, closures, accumulation.
#include <algorithm>
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

Variable::Variable(Tensor data, bool requires_grad) : h_(std::make_shared<Handle>()) {
  h_->impl = std::make_shared<VariableImpl>();
  h_->impl->data = std::move(data);
  set_requires_grad(requires_grad);
}

// The last handle of an intermediate result is gone: nothing can read its value any more except
// the closures that captured it, so the graph's reference to it goes (leaves keep theirs).
Variable::Handle::~Handle() {
  if (impl && impl->grad_fn && !impl->retains_grad) impl->data = Tensor();
}

Variable& Variable::set_requires_grad(bool r) {
  check(h_ != nullptr, "set_requires_grad: undefined Variable");
  VariableImpl* v = h_->impl.get();
  check(is_leaf(), "set_requires_grad: only leaves can change requires_grad (this Variable was made by '{}'); use detach()",
        v->grad_fn ? v->grad_fn->name : "");
  if (!(!r || is_floating(v->data.dtype())))
    fail(fmt::format("set_requires_grad: only floating tensors can require grad, got {}", v->data.describe()));
  v->requires_grad = r;
  return *this;
}

void Variable::zero_grad() {
  if (checked()->grad.defined()) checked()->grad.fill_(0.0);
}

void Variable::retain_grad() {
  check(requires_grad(), "retain_grad: the Variable does not require grad");
  checked()->retains_grad = true;
}

Variable Variable::detach() const { return Variable(checked()->data, false); }

Variable make_result(const char* name, Tensor out, std::vector<Variable> inputs, BackwardFn backward) {
  Variable v(std::move(out));
  if (!grad_enabled()) return v;
  bool any = false;
  for (const Variable& in : inputs) any = any || in.requires_grad();
  if (!any) return v;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs.reserve(inputs.size());
  for (const Variable& in : inputs) {
    node->inputs.push_back(Edge{in.h_->impl, in.shape()});
    if (const auto& f = in.h_->impl->grad_fn) node->depth = std::max(node->depth, f->depth + 1);
  }
  node->backward = std::move(backward);
  v.impl()->requires_grad = true;
  v.impl()->grad_fn = std::move(node);
  return v;
}

void Variable::backward(bool retain_graph) {
  check(defined(), "backward: undefined Variable");
  if (!(numel() == 1))
    fail(
        fmt::format("backward: the output has shape {} ({} elements); backward() without a gradient needs a scalar — "
                    "pass grad_output of the same shape",
                    shape_str(shape()), numel()));
  backward(Tensor::ones(shape(), dtype(), data().device()), retain_graph);
}

namespace {

// 1. Topological order of every Variable reachable from the root that requires grad
//    (iterative DFS; post-order, so inputs come before the Variables computed from them).
std::vector<VariableImpl*> topological_order(VariableImpl* root) {
  std::vector<VariableImpl*> order;
  std::unordered_set<VariableImpl*> seen;
  std::vector<std::pair<VariableImpl*, size_t>> stack{{root, 0}};
  seen.insert(root);
  while (!stack.empty()) {
    auto& [v, next] = stack.back();
    Node* node = v->grad_fn.get();
    if (node && next < node->inputs.size()) {
      VariableImpl* in = node->inputs[next++].var.get();
      if (in->requires_grad && seen.insert(in).second) stack.push_back({in, 0});
      continue;
    }
    order.push_back(v);
    stack.pop_back();
  }
  // Run the deepest nodes first (depth = 1 + the deepest input's; leaves 0). That is a
  // topological order too, and it walks back through the forward roughly layer by layer, so each
  // layer's saved tensors are freed (below) before the next layer's gradients pile up. The plain
  // post-order would follow one path (e.g. a WaveNet's skip sums) down to the input first and
  // hold a gradient for every layer at once.
  auto depth = [](const VariableImpl* v) { return v->grad_fn ? v->grad_fn->depth : int64_t(0); };
  std::stable_sort(order.begin(), order.end(),
                   [&](const VariableImpl* a, const VariableImpl* b) { return depth(a) < depth(b); });
  return order;
}

// A pending gradient may alias a tensor a closure returned (add's backward returns its
// input gradient unchanged, to both inputs), so it is copied before the first += into it.
struct Pending {
  Tensor grad;
  bool owned = false;
};
using PendingGrads = std::unordered_map<VariableImpl*, Pending>;

// Runs one node's closure on the gradient of its output and adds one gradient to each input.
void run_node(Node* node, const Tensor& g, PendingGrads& pending, bool retain_graph) {
  check(!node->released,
        "backward: the graph through '{}' was already freed by an earlier backward(); "
        "call the first backward with retain_graph = true to backpropagate twice",
        node->name);
  std::vector<Tensor> grads = node->backward(g);
  check(grads.size() == node->inputs.size(), "backward of '{}': returned {} gradients for {} inputs", node->name,
        grads.size(), node->inputs.size());
  for (size_t i = 0; i < grads.size(); ++i) {
    VariableImpl* in = node->inputs[i].var.get();
    if (!in->requires_grad || !grads[i].defined()) continue;
    if (grads[i].shape() != node->inputs[i].shape)  // (not check(): it would format describe() every time)
      fail(fmt::format("backward of '{}': gradient {} for input {} of shape {}", node->name, grads[i].describe(), i,
                       shape_str(node->inputs[i].shape)));
    if (!in->grad_fn) {  // a leaf (a parameter): into its .grad at once, as PyTorch's AccumulateGrad
      // does, so a layer's weight gradient is freed as soon as it is made; leaves run last in
      // `order`, and holding them pending would keep every parameter's gradient twice at the end.
      // (So, as in PyTorch, a backward that throws half-way leaves some .grad already updated.)
      if (!in->grad.defined())
        in->grad = grads[i].clone();  // .grad owns its buffer
      else
        in->grad.add_(grads[i]);
      continue;
    }
    auto slot = pending.find(in);
    if (slot == pending.end()) {
      pending.emplace(in, Pending{grads[i], false});
    } else {
      Pending& p = slot->second;
      if (!p.owned) p.grad = p.grad.clone(), p.owned = true;
      p.grad.add_(grads[i]);
    }
  }
  // This node has run (each runs once): its closure and the tensors it saved can go now rather
  // than at the end, so the backward's peak is not all saved activations plus all gradients.
  // (Its edges stay until step 3: they keep alive the VariableImpls that `order` points to.)
  if (!retain_graph) {
    node->backward = nullptr;
    node->released = true;
  }
}

// 2. Walk from the root towards the leaves, summing gradients per Variable.
void run_backward(const std::vector<VariableImpl*>& order, VariableImpl* root, const Tensor& grad_output,
                  bool retain_graph) {
  PendingGrads pending;
  pending[root] = {grad_output, false};
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    VariableImpl* v = *it;
    auto found = pending.find(v);
    if (found == pending.end()) continue;  // no gradient reached it (e.g. unused branch)
    Tensor g = std::move(found->second.grad);
    pending.erase(found);
    if (!v->grad_fn || v->retains_grad) {  // a non-leaf that retains its grad, or a leaf root
      if (!v->grad.defined())
        v->grad = g.clone();  // .grad owns its buffer
      else v->grad.add_(g);
    }
    if (Node* node = v->grad_fn.get()) run_node(node, g, pending, retain_graph);
  }
}

// 3. Free the rest of the graph (nodes no gradient reached): closures hold saved tensors.
void release_graph(const std::vector<VariableImpl*>& order) {
  for (VariableImpl* v : order)
    if (v->grad_fn) {
      v->grad_fn->backward = nullptr;
      v->grad_fn->inputs.clear();
      v->grad_fn->released = true;
    }
}

}  // namespace

void Variable::backward(const Tensor& grad_output, bool retain_graph) {
  check(defined(), "backward: undefined Variable");
  check(requires_grad(), "backward: the Variable does not require grad (no input of its graph has requires_grad)");
  if (!(grad_output.shape() == shape() && grad_output.dtype() == dtype()))
    fail(fmt::format("backward: grad_output is {} but the output is {}", grad_output.describe(), data().describe()));
  if (!(grad_output.device() == data().device()))
    fail(fmt::format("backward: grad_output is on {} but the output is on {}", grad_output.device().str(),
                     data().device().str()));
  VariableImpl* root = checked();
  const std::vector<VariableImpl*> order = topological_order(root);
  run_backward(order, root, grad_output, retain_graph);
  if (!retain_graph) release_graph(order);
}

}  // namespace seqnet
