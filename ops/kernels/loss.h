// ops/kernels/loss.h — the loss family's kernel contract (softmax, cross-entropy, BCE, one-hot).
//
// Softmax-like kernels see a contiguous tensor as (outer, C, inner) (SoftmaxRows): the reduced
// axis has C entries, `inner` is the product of the dimensions after it (its stride), `outer` of
// those before it. Row (position) p = (o, i) lives at x[(o·C + c)·inner + i], c = 0 .. C−1.
//   softmax_forward         y := exp(x − m) / Σ exp(x − m)          (m = max of the row)
//                           log: y := x − m − log Σ exp(x − m)
//   softmax_backward        softmax: dx := y ⊙ (dy − Σ dy⊙y);  log: dx := dy − exp(y) · Σ dy
//   cross_entropy_forward   checks w_p ∈ {0, 1} and, where w_p = 1, 0 ≤ t_p < C (Error, first bad
//                           position); probs := softmax(x) along C;
//                           loss_p = w_p · (m + log Σ_c exp(x_c − m) − x_t)  (in double);
//                           out := loss (None, one per position, 0 where w_p = 0), Σ_p loss_p
//                           (Sum) or Σ_p loss_p / count (Mean; 0 when count = 0), 0-d;
//                           returns count = Σ_p w_p (number of counted positions)
//   cross_entropy_backward  dx_c := s_p · w_p · (probs_c − [c == t_p]), s_p = dy (Sum),
//                           dy / count (Mean; 0 when count = 0), dy_p (None)
//   bce_forward             l = max(x, 0) − x·y + log(1 + exp(−|x|)); out := l (None) or Σ l
//                           (Sum) or Σ l / n (Mean), sums in double, 0-d
//   bce_backward            dx := s · (σ(x) − y),  dy := −s · x  (s as above, n elements);
//                           dx or dy may be undefined (not wanted)
//   one_hot                 checks 0 ≤ id < C (Error naming `op`, first bad position);
//                           out[(a·C + id_k)·B + b] := 1 for ids viewed as (A, B), k = a·B + b
// Shapes: x, y, dy, dx, probs contiguous with the geometry's (outer, C, inner); targets (i64),
// weights (0/1 in the logits' dtype) and per-position outputs contiguous with outer·inner
// entries; BCE tensors contiguous, same shape and dtype; dy (the incoming gradient) contiguous
// with out's shape. Outputs are fully overwritten, except one_hot's `out` (f32, f64 or i64,
// shape (A, C, B)), which must be zero on entry: the kernel writes only the ones.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace seqnet {

enum class Reduction { None, Mean, Sum };

struct SoftmaxRows {
  int64_t outer = 1, C = 1, inner = 1;
};

struct LossKernels {
  void (*softmax_forward)(const Tensor& x, Tensor& y, const SoftmaxRows& R, bool log);
  void (*softmax_backward)(const Tensor& y, const Tensor& dy, Tensor& dx, const SoftmaxRows& R, bool log);
  // mask_desc: the user's mask as described in errors ("" without a mask).
  double (*cross_entropy_forward)(const Tensor& logits, const Tensor& targets, const Tensor& weights, Tensor& probs,
                                  Tensor& out, const SoftmaxRows& R, Reduction red, const char* mask_desc);
  void (*cross_entropy_backward)(const Tensor& probs, const Tensor& targets, const Tensor& weights,
                                 const Tensor& dy, Tensor& dx, const SoftmaxRows& R, Reduction red, double count);
  void (*bce_forward)(const Tensor& x, const Tensor& y, Tensor& out, Reduction red);
  void (*bce_backward)(const Tensor& x, const Tensor& y, const Tensor& g, Tensor& dx, Tensor& dy, Reduction red);
  void (*one_hot)(const char* op, const Tensor& ids, Tensor& out, int64_t C, int64_t B);
};

}  // namespace seqnet
