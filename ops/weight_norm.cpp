// ops/weight_norm.cpp — W = g · v / ‖v‖ per output channel; forward and backward side by side
// (the weight-norm kernels, ops/kernels/weight_norm.h).
#include "ops/weight_norm.h"

#include "ops/backend.h"
#include "ops/dispatch.h"

namespace seqnet {

// W[o] = g[o] · v[o] / ‖v[o]‖, with s[o] = Σ dW[o] ⊙ v[o]:
//   dg[o] = s[o] / ‖v[o]‖
//   dv[o] = (g[o] / ‖v[o]‖) · (dW[o] − s[o] · v[o] / ‖v[o]‖²)
Variable weight_norm(const Variable& g, const Variable& v) {
  const char* op = "weight_norm";
  check(g.defined() && v.defined(), "{}: g or v is undefined", op);
  const Tensor& G = g.data();
  const Tensor& V = v.data();
  const Backend* be = &backend_for(op, G, V);
  if (!(is_floating(V.dtype()))) fail(fmt::format("{}: v must be f32 or f64, got {}", op, V.describe()));
  check_same_dtype(G, V, op);
  if (!(V.dim() >= 2)) fail(fmt::format("{}: v must be (C_out, C_in, ...) with rank >= 2, got {}", op, V.describe()));
  const int64_t C = V.size(0);
  bool g_ok = G.dim() == 1 && G.size(0) == C;
  if (G.dim() == V.dim() && G.size(0) == C) {
    g_ok = true;
    for (int d = 1; d < G.dim(); ++d) g_ok = g_ok && G.size(d) == 1;
  }
  if (!(g_ok))
    fail(fmt::format("{}: g {} does not match v {} (expected g of shape ({}) or ({}, 1, ..., 1))", op, G.describe(),
                     V.describe(), C, C));

  Tensor Gc = G.contiguous(), Vc = V.contiguous();
  Tensor norms = Tensor::empty({C}, V.dtype(), V.device());
  Tensor W = empty_like(Vc);
  be->weight_norm.forward(Gc, Vc, norms, W);  // throws for a channel of norm 0

  const bool need_g = g.requires_grad(), need_v = v.requires_grad();
  return make_result(op, W, {g, v}, [Gc, Vc, norms, need_g, need_v, be](const Tensor& grad) {
    Tensor dW = grad.contiguous();
    Tensor dg = need_g ? empty_like(Gc) : Tensor();
    Tensor dv = need_v ? empty_like(Vc) : Tensor();
    be->weight_norm.backward(Gc, Vc, norms, dW, dg, dv);
    return std::vector<Tensor>{dg, dv};
  });
}

}  // namespace seqnet
