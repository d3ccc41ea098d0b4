// autograd/variable.h — reverse-mode automatic differentiation in one small file pair.
//
// A Variable is a Tensor plus what autograd needs: `requires_grad`, the accumulated `grad`,
// and `grad_fn`, the Node that produced it (null for leaves: parameters and inputs). A Node
// holds its input edges (the Variables it was computed from, and their shapes) and a backward
// closure that maps the gradient of its output to one gradient per input:
//
//     y = tanh(x)   →   Node{ inputs = {x}, backward = [y](gy) { return {gy * (1 - y²)}; } }
//
// Ops (ops/*.cpp) build these nodes with make_result(). backward() walks the graph from the
// root in reverse topological order, runs each closure once, sums (+=) the gradients of every
// Variable used more than once, stores the totals of leaves in .grad, and frees the graph.
// See docs/architecture.md for a traced example.
//
// Memory: the graph keeps the Variables it passes through, but not their values. Once no
// Variable handle of an intermediate result is left (the model's forward moved on), its tensor
// is dropped; what backward needs lives in the closures, which capture exactly the tensors they
// use (an input, an output, a mask). Otherwise every intermediate of a forward would stay
// alive until backward.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace seqnet {

struct Node;

struct VariableImpl {
  Tensor data;
  Tensor grad;                     // accumulated gradient (leaves, or non-leaves with retain_grad)
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<Node> grad_fn;   // null for leaves
};

// Backward closure: gradient w.r.t. the node's output → one gradient per input (an undefined
// Tensor where an input needs none).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

class Variable {
 public:
  Variable() = default;
  explicit Variable(Tensor data, bool requires_grad = false);

  bool defined() const { return h_ != nullptr; }
  const Tensor& data() const { return checked()->data; }
  Tensor& data() { return checked()->data; }
  const Shape& shape() const { return checked()->data.shape(); }
  int64_t size(int d) const { return checked()->data.size(d); }
  int dim() const { return checked()->data.dim(); }
  DType dtype() const { return checked()->data.dtype(); }
  int64_t numel() const { return checked()->data.numel(); }
  double item() const { return checked()->data.item(); }

  bool requires_grad() const { return h_ && h_->impl->requires_grad; }
  Variable& set_requires_grad(bool r);  // leaves only
  bool is_leaf() const { return checked()->grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return checked()->grad_fn; }

  const Tensor& grad() const { return checked()->grad; }  // undefined until a backward reaches it
  void set_grad(Tensor g) { checked()->grad = std::move(g); }
  void zero_grad();    // fills an existing .grad with zeros (keeps its buffer)
  void retain_grad();  // ask a non-leaf to keep its .grad too

  // Backpropagate from this Variable. Without `grad_output` it must hold exactly one element
  // (a loss); otherwise pass the gradient of the objective w.r.t. this Variable.
  void backward(bool retain_graph = false);
  void backward(const Tensor& grad_output, bool retain_graph = false);

  Variable detach() const;  // same data, no history, requires_grad = false
  VariableImpl* impl() const { return h_ ? h_->impl.get() : nullptr; }

 private:
  friend Variable make_result(const char* name, Tensor out, std::vector<Variable> inputs, BackwardFn backward);
  VariableImpl* checked() const {
    if (!h_) throw Error("use of an undefined Variable (default-constructed; pass a tensor or check defined())");
    return h_->impl.get();
  }
  // All copies of a Variable share one Handle; graph edges point at the VariableImpl itself.
  // When the last Handle goes, a non-leaf drops its tensor (see "Memory" above).
  struct Handle {
    std::shared_ptr<VariableImpl> impl;
    ~Handle();
  };
  std::shared_ptr<Handle> h_;
};


// An input of a Node: the Variable it was computed from (its grad, grad_fn and flags; its
// tensor may already be gone) and the shape its gradient must have.
struct Edge {
  std::shared_ptr<VariableImpl> var;
  Shape shape;
};

struct Node {
  std::string name;          // the op, for error messages ("conv1d", "tanh", ...)
  std::vector<Edge> inputs;  // one per input of the op, in order
  BackwardFn backward;
  int64_t depth = 1;         // 1 + the largest depth among the inputs' nodes (leaves count 0)
  bool released = false;     // set when backward() frees the graph
};

// Wraps an op's output tensor. If grad mode is on and any input requires grad, attaches a Node
// with `backward`; otherwise returns a plain Variable (and the closure is dropped unused).
Variable make_result(const char* name, Tensor out, std::vector<Variable> inputs, BackwardFn backward);

// Whether ops record graphs on this thread. NoGradGuard turns recording off for its scope
// (evaluation, generation, optimiser updates).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace seqnet
