// ops/weight_norm.cpp — W = g · v / ‖v‖ per output channel; forward and backward side by side.
#include "ops/weight_norm.h"

#include <cmath>

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
  check_cpu(V, op);
  check(is_floating(V.dtype()), "{}: v must be f32 or f64, got {}", op, V.describe());
  check_same_dtype(G, V, op);
  check(V.dim() >= 2, "{}: v must be (C_out, C_in, ...) with rank >= 2, got {}", op, V.describe());
  const int64_t C = V.size(0);
  const int64_t R = C > 0 ? V.numel() / C : 0;  // elements per output channel
  bool g_ok = G.dim() == 1 && G.size(0) == C;
  if (G.dim() == V.dim() && G.size(0) == C) {
    g_ok = true;
    for (int d = 1; d < G.dim(); ++d) g_ok = g_ok && G.size(d) == 1;
  }
  check(g_ok, "{}: g {} does not match v {} (expected g of shape ({}) or ({}, 1, ..., 1))", op, G.describe(),
        V.describe(), C, C);

  Tensor Gc = G.contiguous(), Vc = V.contiguous();
  Tensor norms = Tensor::empty({C}, V.dtype());
  Tensor W = Tensor::empty(V.shape(), V.dtype());
  dispatch_float(V.dtype(), op, [&]<typename T>() {
    const T* pg = Gc.data<T>();
    const T* pv = Vc.data<T>();
    T* pn = norms.data<T>();
    T* pw = W.data<T>();
    for (int64_t o = 0; o < C; ++o) {
      double ss = 0;
      for (int64_t k = 0; k < R; ++k) ss += double(pv[o * R + k]) * double(pv[o * R + k]);
      check(ss > 0, "{}: v[{}] has norm 0 (v {}); W would be NaN", op, o, V.describe());
      pn[o] = T(std::sqrt(ss));
      const T scale = pg[o] / pn[o];
      for (int64_t k = 0; k < R; ++k) pw[o * R + k] = scale * pv[o * R + k];
    }
  });

  const bool need_g = g.requires_grad(), need_v = v.requires_grad();
  return make_result(op, W, {g, v}, [Gc, Vc, norms, C, R, need_g, need_v, op](const Tensor& grad) {
    Tensor dW = grad.contiguous();
    Tensor dg = need_g ? Tensor::empty(Gc.shape(), Gc.dtype()) : Tensor();
    Tensor dv = need_v ? Tensor::empty(Vc.shape(), Vc.dtype()) : Tensor();
    dispatch_float(Vc.dtype(), op, [&]<typename T>() {
      const T* pg = Gc.data<T>();
      const T* pv = Vc.data<T>();
      const T* pn = norms.data<T>();
      const T* pd = dW.data<T>();
      for (int64_t o = 0; o < C; ++o) {
        double s = 0;
        for (int64_t k = 0; k < R; ++k) s += double(pd[o * R + k]) * double(pv[o * R + k]);
        const T n = pn[o];
        if (need_g) dg.data<T>()[o] = T(s) / n;
        if (need_v) {
          T* pdv = dv.data<T>();
          const T a = pg[o] / n, b = T(s) / (n * n);
          for (int64_t k = 0; k < R; ++k) pdv[o * R + k] = a * (pd[o * R + k] - b * pv[o * R + k]);
        }
      }
    });
    return std::vector<Tensor>{dg, dv};
  });
}

}  // namespace seqnet
