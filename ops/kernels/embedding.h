// ops/kernels/embedding.h — the embedding family's kernel contract (row lookup in a table).
//
//   forward   y[k, :] := E[ids[k], :]                      (gather rows)
//             throws seqnet::Error "embedding: id {id} at position {k} is out of range for a
//             vocabulary of {V} (weight {E.describe()})" for the first id outside [0, V),
//             before writing anything
//   backward  dE := 0, then dE[ids[k], :] += dy[k, :] for every k, in order of k
//             (scatter-add: positions sharing an id add into the same row)
// Shapes: ids (n) i64; E, dE (V, D); y, dy (n, D) — i.e. ids' shape with D appended, flattened.
// All tensors contiguous; outputs (y, dE) are fully overwritten.
#pragma once
#include "core/tensor.h"

namespace seqnet {

struct EmbeddingKernels {
  void (*forward)(const Tensor& ids, const Tensor& E, Tensor& y);
  void (*backward)(const Tensor& ids, const Tensor& dy, Tensor& dE);
};

}  // namespace seqnet
