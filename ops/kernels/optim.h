// ops/kernels/optim.h — the optimiser family's kernel contract (train/loop/optim.cpp): in-place
// parameter updates and the pieces of gradient-norm clipping.
//
// Every kernel takes a list: all the parameters of a model (on one device, of one dtype) in one
// call, which a GPU backend runs as a few launches over a table of tensors rather than one launch
// per tensor (a model has 20–200 small tensors — biases, weight-norm gains — each of which would
// otherwise cost a launch; PyTorch's foreach optimisers do the same).
//   sgd_step     for each slot: momentum ≠ 0: v := momentum·v + g, then p −= lr·v;
//                momentum = 0: p −= lr·g (v may be undefined then); lr and momentum rounded to
//                p's dtype once
//   adam_step    for each slot: m := β1·m + (1−β1)·g,  v := β2·v + (1−β2)·g²,
//                p −= (lr/bc1) · m / (sqrt(v) / sqrt(bc2) + eps)    (bc_k = 1 − β_k^t; the scalars
//                lr/bc1, sqrt(bc2), β1, β2, eps are computed in double and rounded to p's dtype)
//   sum_squares  returns acc + Σ over the tensors gs in turn of Σ_i g_i², each g_i widened to
//                double (the CPU: added to the running double total in row-major order; a GPU:
//                a fixed order of its own, so a rerun is bitwise identical); one call for all the
//                gradients, so a GPU waits once per norm, not once per tensor
//   scale        g *= factor for each g of gs  (factor rounded to g's dtype once)
// Within a slot, p, g, m, v, velocity: same shape, contiguous; all tensors of one call: the same
// dtype (f32 or f64) and device; what a call writes (p, m, v, velocity; scale's gs) shared by no two
// slots (a GPU updates all the slots at once; it refuses a list that breaks this). Updated in place; every element's
// arithmetic is the per-tensor formula above, so the result does not depend on how a backend groups the tensors.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace seqnet {

struct AdamStep {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double bias_correction1 = 1, bias_correction2 = 1;  // 1 − β1^t, 1 − β2^t
};

// One parameter's tensors (handles: the kernels update the storage they share with the model).
struct SgdSlot {
  Tensor p, g, velocity;
};
struct AdamSlot {
  Tensor p, g, m, v;
};

struct OptimKernels {
  void (*sgd_step)(const std::vector<SgdSlot>& slots, double lr, double momentum);
  void (*adam_step)(const std::vector<AdamSlot>& slots, const AdamStep& s);
  double (*sum_squares)(const std::vector<Tensor>& gs, double acc);
  void (*scale)(const std::vector<Tensor>& gs, double factor);
};

}  // namespace seqnet
