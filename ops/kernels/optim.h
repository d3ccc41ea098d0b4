// ops/kernels/optim.h — the optimiser family's kernel contract (train/loop/optim.cpp): in-place
// parameter updates and the pieces of gradient-norm clipping.
//
//   sgd_step     momentum ≠ 0: v := momentum·v + g, then p −= lr·v;  momentum = 0: p −= lr·g
//                (v may be undefined then); lr and momentum rounded to p's dtype once
//   adam_step    m := β1·m + (1−β1)·g,  v := β2·v + (1−β2)·g²,
//                p −= (lr/bc1) · m / (sqrt(v) / sqrt(bc2) + eps)    (bc_k = 1 − β_k^t; the scalars
//                lr/bc1, sqrt(bc2), β1, β2, eps are computed in double and rounded to p's dtype)
//   sum_squares  returns acc + Σ over the tensors gs in turn of Σ_i g_i², each g_i widened to
//                double and added to the running double total in row-major order (all of gs on
//                one device; one call for all the gradients, so a GPU waits once per norm, not
//                once per tensor)
//   scale        g *= factor  (factor rounded to g's dtype once)
// p, g, m, v, velocity: same shape and dtype (f32 or f64), contiguous; updated in place.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace seqnet {

struct AdamStep {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double bias_correction1 = 1, bias_correction2 = 1;  // 1 − β1^t, 1 − β2^t
};

struct OptimKernels {
  void (*sgd_step)(Tensor& p, const Tensor& g, Tensor& velocity, double lr, double momentum);
  void (*adam_step)(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, const AdamStep& s);
  double (*sum_squares)(const std::vector<Tensor>& gs, double acc);
  void (*scale)(Tensor& g, double factor);
};

}  // namespace seqnet
