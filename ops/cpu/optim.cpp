// ops/cpu/optim.cpp — the CPU optimiser kernels (contract: ops/kernels/optim.h): one pass each.
#include <cmath>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

// v = momentum·v + g;  p −= lr·v   (momentum 0: p −= lr·g), slot by slot
void optim_sgd_step(const std::vector<SgdSlot>& slots, double lr, double momentum) {
  for (const SgdSlot& slot : slots)
    dispatch_float(slot.p.dtype(), "SGD", [&]<typename T>() {
      T* w = slot.p.data<T>();
      const T* gp = slot.g.data<T>();
      const int64_t n = slot.p.numel();
      if (momentum != 0.0) {
        T* v = slot.velocity.data<T>();
        for (int64_t k = 0; k < n; ++k) v[k] = T(momentum) * v[k] + gp[k];
        gp = slot.velocity.data<T>();
      }
      for (int64_t k = 0; k < n; ++k) w[k] -= T(lr) * gp[k];
    });
}

namespace {
// Elements [0, n) of one Adam update. The arrays never overlap; __restrict lets the compiler
// vectorise the loop, sqrt and division included (with -fno-math-errno).
template <typename T>
void adam_range(T* __restrict w, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t n, T b1, T b2,
                T step, T sq, T eps) {
  const T c1 = T(1) - b1, c2 = T(1) - b2;
  for (int64_t k = 0; k < n; ++k) {
    const T gk = g[k];
    const T mk = b1 * m[k] + c1 * gk;
    const T vk = b2 * v[k] + c2 * gk * gk;
    m[k] = mk;
    v[k] = vk;
    w[k] -= step * mk / (std::sqrt(vk) / sq + eps);
  }
}
}  // namespace

void optim_adam_step(const std::vector<AdamSlot>& slots, const AdamStep& s) {
  for (const AdamSlot& slot : slots)
    dispatch_float(slot.p.dtype(), "Adam", [&]<typename T>() {
      // One pass over the four arrays; large tensors split over the threads (elementwise, so the
      // result does not depend on the split).
      T* w = slot.p.data<T>();
      const T* gp = slot.g.data<T>();
      T* m = slot.m.data<T>();
      T* v = slot.v.data<T>();
      const T b1 = T(s.beta1), b2 = T(s.beta2), step = T(s.lr / s.bias_correction1),
              sq = T(std::sqrt(s.bias_correction2)), eps = T(s.eps);
      parallel_range(slot.p.numel(), kGrainCheap, [&](int64_t lo, int64_t hi) {
        adam_range<T>(w + lo, gp + lo, m + lo, v + lo, hi - lo, b1, b2, step, sq, eps);
      });
    });
}

// total += x² for x = double(g_k), tensor by tensor, in order
double optim_sum_squares(const std::vector<Tensor>& gs, double total) {
  for (const Tensor& g : gs)
    dispatch_float(g.dtype(), "clip_grad_norm", [&]<typename T>() {
      const T* d = g.data<T>();
      const int64_t n = g.numel();
      for (int64_t k = 0; k < n; ++k) {
        const double x = double(d[k]);
        total += x * x;
      }
    });
  return total;
}

void optim_scale(const std::vector<Tensor>& gs, double scale) {
  for (const Tensor& g : gs)
    dispatch_float(g.dtype(), "clip_grad_norm", [&]<typename T>() {
      T* d = g.data<T>();
      const int64_t n = g.numel();
      const T f = T(scale);
      for (int64_t k = 0; k < n; ++k) d[k] *= f;
    });
}

OptimKernels optim_kernels() {
  return {.sgd_step = optim_sgd_step,
          .adam_step = optim_adam_step,
          .sum_squares = optim_sum_squares,
          .scale = optim_scale};
}

}  // namespace seqnet::cpu
