// ops/kernels/weight_norm.h — the weight-norm family's kernel contract: W = g · v / ‖v‖ per
// output channel o (v viewed as C rows of R = numel / C elements).
//
//   forward   norms[o] := ‖v[o]‖ (sum of squares accumulated in double),  W[o] := (g[o] / norms[o]) · v[o]
//             throws seqnet::Error "weight_norm: v[{o}] has norm 0 (v {v.describe()}); W would be
//             NaN" for the first channel whose sum of squares is not > 0
//   backward  s[o] := Σ dW[o] ⊙ v[o] (accumulated in double),  n = norms[o]:
//             dg[o] := s[o] / n
//             dv[o] := (g[o] / n) · (dW[o] − (s[o] / n²) · v[o])
//             dg or dv may be undefined Tensors, meaning "not needed" (not computed).
// Shapes: v, W, dW, dv (C, ...); g, dg (C) or (C, 1, ..., 1); norms (C), the dtype of v.
// All tensors contiguous; outputs (norms, W, dg, dv) are fully overwritten.
#pragma once
#include "core/tensor.h"

namespace seqnet {

struct WeightNormKernels {
  void (*forward)(const Tensor& g, const Tensor& v, Tensor& norms, Tensor& W);
  void (*backward)(const Tensor& g, const Tensor& v, const Tensor& norms, const Tensor& dW, Tensor& dg, Tensor& dv);
};

}  // namespace seqnet
