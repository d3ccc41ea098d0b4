// ops/loss.h — softmax, log-softmax and the training losses (cross-entropy, BCE with logits).
//
// Layout conventions (as PyTorch): cross_entropy takes logits with the class axis at
// `class_dim` (default 1, so (N, C) or (N, C, T)) and int64 class ids of the same shape with
// that axis removed ((N) or (N, T)). Losses return a 0-d tensor (shape []) for Mean / Sum and
// one value per position for None.
//
// Which positions count ("any set of positions", e.g. only the last validseqlen steps of a
// window, or padding) is given by an optional 0/1 `mask` with the targets' shape; Mean divides
// by the number of positions whose mask is 1. Masked-out positions are never read for range
// checks, so padding targets may hold any value there (e.g. −1).
#pragma once
#include "autograd/variable.h"
#include "ops/kernels/loss.h"  // Reduction

namespace seqnet {

// y = exp(x − max) / Σ exp(x − max) along `dim` (any axis; negative counts from the end).
Variable softmax(const Variable& x, int dim);
// y = x − max − log Σ exp(x − max) along `dim`.
Variable log_softmax(const Variable& x, int dim);

// Mean (or Sum, or per-position None) of −log softmax(logits)[target] over the positions.
//   logits  f32/f64, any rank ≥ 1, classes on `class_dim`
//   targets i64, logits' shape without class_dim, values in [0, C)
//   mask    (second overload) targets' shape, f32/f64/i64 holding only 0 and 1; Mean divides by
//           Σ mask (a mask with no 1s gives loss 0 and a zero gradient, not NaN); None returns
//           0 at masked-out positions.
Variable cross_entropy(const Variable& logits, const Tensor& targets, Reduction r = Reduction::Mean,
                       int class_dim = 1);
Variable cross_entropy(const Variable& logits, const Tensor& targets, const Tensor& mask,
                       Reduction r = Reduction::Mean, int class_dim = 1);

// Binary cross-entropy on raw logits, elementwise then reduced (Mean over all elements):
//   l = max(x, 0) − x·y + log(1 + exp(−|x|))      (stable; = −y·log σ(x) − (1−y)·log(1−σ(x)))
// targets: same shape and dtype as logits (values usually in [0, 1]); both may require grad.
Variable bce_with_logits(const Variable& logits, const Variable& targets, Reduction r = Reduction::Mean);

// One-hot encoding (not differentiable): ids i64 of any shape → (..., C) with 1 at the id.
Tensor one_hot(const Tensor& ids, int64_t num_classes, DType dtype = DType::F32);
// Channel-first variant for sequence inputs: ids (N, T...) → (N, C, T...), e.g. one-hot audio
// (N, 256, T) for WaveNet / the residual Seq-U-Net. ids must have rank ≥ 1.
Tensor one_hot_channels_first(const Tensor& ids, int64_t num_classes, DType dtype = DType::F32);

}  // namespace seqnet
