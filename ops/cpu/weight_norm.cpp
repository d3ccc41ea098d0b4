// ops/cpu/weight_norm.cpp — the CPU weight-norm kernels: one serial pass per output channel.
//
// The contract (ops/kernels/weight_norm.h) says what forward and backward compute.
#include <cmath>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

// norms[o] = ‖v[o]‖, W[o] = g[o] · v[o] / norms[o]
void weight_norm_forward(const Tensor& g, const Tensor& v, Tensor& norms, Tensor& W) {
  const char* op = "weight_norm";
  const int64_t C = v.size(0);
  const int64_t R = C > 0 ? v.numel() / C : 0;  // elements per output channel
  dispatch_float(v.dtype(), op, [&]<typename T>() {
    const T* pg = g.data<T>();
    const T* pv = v.data<T>();
    T* pn = norms.data<T>();
    T* pw = W.data<T>();
    for (int64_t o = 0; o < C; ++o) {
      double ss = 0;
      for (int64_t k = 0; k < R; ++k) ss += double(pv[o * R + k]) * double(pv[o * R + k]);
      check(ss > 0, "{}: v[{}] has norm 0 (v {}); W would be NaN", op, o, v.describe());
      pn[o] = T(std::sqrt(ss));
      const T scale = pg[o] / pn[o];
      for (int64_t k = 0; k < R; ++k) pw[o * R + k] = scale * pv[o * R + k];
    }
  });
}

// s[o] = Σ dW[o] ⊙ v[o]:  dg[o] = s[o] / n,  dv[o] = (g[o] / n) · (dW[o] − s[o] · v[o] / n²)
void weight_norm_backward(const Tensor& g, const Tensor& v, const Tensor& norms, const Tensor& dW, Tensor& dg,
                          Tensor& dv) {
  const char* op = "weight_norm";
  const int64_t C = v.size(0);
  const int64_t R = C > 0 ? v.numel() / C : 0;
  const bool need_g = dg.defined(), need_v = dv.defined();
  dispatch_float(v.dtype(), op, [&]<typename T>() {
    const T* pg = g.data<T>();
    const T* pv = v.data<T>();
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
}

WeightNormKernels weight_norm_kernels() { return {.forward = weight_norm_forward, .backward = weight_norm_backward}; }

}  // namespace seqnet::cpu
