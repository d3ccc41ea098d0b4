// ops/activation.cpp — pointwise non-linearities: each op's forward and backward math side by
// side; the loops are the activation kernels (ops/kernels/activation.h, ops/cpu/activation.cpp).
#include "ops/activation.h"

#include "ops/backend.h"
#include "ops/dispatch.h"

namespace seqnet {

namespace {

// Runs the forward kernel on a contiguous copy of x; the backward closure runs the backward
// kernel on `saved`, which is the output (save_output) or the input.
Variable unary_op(const char* name, Activation act, const Variable& v, bool save_output, double slope = 0.0) {
  if (!v.defined()) fail(fmt::format("{}: input is undefined", name));
  Tensor x = v.data().contiguous();
  const Backend* be = &backend_for(name, x);
  Tensor y = empty_like(x);
  be->activation.forward(act, x, y, slope);
  Tensor saved = save_output ? y : x;
  return make_result(name, y, {v}, [be, act, saved, slope](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dx = empty_like(saved);
    be->activation.backward(act, saved, gc, dx, slope);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

// y = tanh(x):  dx = dy · (1 − y²)
Variable tanh(const Variable& x) { return unary_op("tanh", Activation::Tanh, x, true); }

// y = σ(x):  dx = dy · y · (1 − y)
Variable sigmoid(const Variable& x) { return unary_op("sigmoid", Activation::Sigmoid, x, true); }

// y = max(x, 0):  dx = dy · [x > 0] = dy · [y > 0]   (the output is kept, as PyTorch does: the
// input is then free as soon as the forward moves on, one activation-sized tensor per ReLU)
Variable relu(const Variable& x) { return unary_op("relu", Activation::LeakyRelu, x, true, 0.0); }

// y = x > 0 ? x : slope·x:  dx = dy · (x > 0 ? 1 : slope); for slope ≥ 0, x > 0 ⟺ y > 0, so the
// output is kept (a negative slope flips the sign, and then the input is)
Variable leaky_relu(const Variable& x, double slope) {
  return unary_op("leaky_relu", Activation::LeakyRelu, x, slope >= 0.0, slope);
}

// y = relu(a + b):  da = db = dy · [y > 0]   (the sum a + b is made and used in one pass)
Variable add_relu(const Variable& a, const Variable& b) {
  check(a.defined() && b.defined(), "add_relu: an input is undefined");
  if (!(a.shape() == b.shape()))
    fail(fmt::format("add_relu: a {} and b {} must have the same shape", a.data().describe(), b.data().describe()));
  check_same_dtype(a.data(), b.data(), "add_relu");
  Tensor ta = a.data().contiguous(), tb = b.data().contiguous();
  const Backend* be = &backend_for("add_relu", ta, tb);
  Tensor y = empty_like(ta);
  be->activation.add_relu_forward(ta, tb, y);
  return make_result("add_relu", y, {a, b}, [be, y](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dx = empty_like(y);
    be->activation.backward(Activation::LeakyRelu, y, gc, dx, 0.0);
    return std::vector<Tensor>{dx, dx};  // the engine copies before accumulating into a shared gradient
  });
}

// y = tanh(f) · σ(g):  df = dy·s·(1 − t²),  dg = dy·t·s·(1 − s)   with t = tanh(f), s = σ(g)
Variable gated(const Variable& filter, const Variable& gate) {
  check(filter.defined() && gate.defined(), "gated: filter or gate is undefined");
  if (!(filter.shape() == gate.shape()))
    fail(fmt::format("gated: filter {} and gate {} must have the same shape", filter.data().describe(),
                     gate.data().describe()));
  check_same_dtype(filter.data(), gate.data(), "gated");
  Tensor f = filter.data().contiguous(), g = gate.data().contiguous();
  const Backend* be = &backend_for("gated", f, g);
  // tanh(f) and σ(g) are all the backward needs; keep them instead of the inputs.
  Tensor y = empty_like(f), t = empty_like(f), s = empty_like(f);
  be->activation.gated_forward(f, g, y, t, s);
  return make_result("gated", y, {filter, gate}, [be, t, s](const Tensor& gy) {
    Tensor dy = gy.contiguous();
    Tensor df = empty_like(t), dg = empty_like(t);
    be->activation.gated_backward(t, s, dy, df, dg);
    return std::vector<Tensor>{df, dg};
  });
}

}  // namespace seqnet
