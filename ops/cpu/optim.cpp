// ops/cpu/optim.cpp — the CPU optimiser kernels (contract: ops/kernels/optim.h): serial loops.
#include <cmath>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

// v = momentum·v + g;  p −= lr·v   (momentum 0: p −= lr·g)
void optim_sgd_step(Tensor& p, const Tensor& g, Tensor& velocity, double lr, double momentum) {
  dispatch_float(p.dtype(), "SGD", [&]<typename T>() {
    T* w = p.data<T>();
    const T* gp = g.data<T>();
    const int64_t n = p.numel();
    if (momentum != 0.0) {
      T* v = velocity.data<T>();
      for (int64_t k = 0; k < n; ++k) v[k] = T(momentum) * v[k] + gp[k];
      gp = velocity.data<T>();
    }
    for (int64_t k = 0; k < n; ++k) w[k] -= T(lr) * gp[k];
  });
}

void optim_adam_step(Tensor& p, const Tensor& g, Tensor& mt, Tensor& vt, const AdamStep& s) {
  dispatch_float(p.dtype(), "Adam", [&]<typename T>() {
    T* w = p.data<T>();
    const T* gp = g.data<T>();
    T* m = mt.data<T>();
    T* v = vt.data<T>();
    const T b1 = T(s.beta1), b2 = T(s.beta2), step = T(s.lr / s.bias_correction1),
            sq = T(std::sqrt(s.bias_correction2)), eps = T(s.eps);
    for (int64_t k = 0; k < p.numel(); ++k) {
      m[k] = b1 * m[k] + (T(1) - b1) * gp[k];
      v[k] = b2 * v[k] + (T(1) - b2) * gp[k] * gp[k];
      w[k] -= step * m[k] / (std::sqrt(v[k]) / sq + eps);
    }
  });
}

// total += x² for x = double(g_k), in order
double optim_sum_squares(const Tensor& g, double total) {
  dispatch_float(g.dtype(), "clip_grad_norm", [&]<typename T>() {
    const T* d = g.data<T>();
    for (int64_t k = 0; k < g.numel(); ++k) {
      const double x = double(d[k]);
      total += x * x;
    }
  });
  return total;
}

void optim_scale(Tensor& g, double scale) {
  dispatch_float(g.dtype(), "clip_grad_norm", [&]<typename T>() {
    T* d = g.data<T>();
    for (int64_t k = 0; k < g.numel(); ++k) d[k] *= T(scale);
  });
}

OptimKernels optim_kernels() {
  return {.sgd_step = optim_sgd_step,
          .adam_step = optim_adam_step,
          .sum_squares = optim_sum_squares,
          .scale = optim_scale};
}

}  // namespace seqnet::cpu
