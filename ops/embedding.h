// ops/embedding.h — row lookup into an embedding matrix.
//
// The char / word tasks share one matrix E between the input embedding and the output decoder
// (`linear(h, E)`, MODELS.md §2): pass the same Variable to both and autograd sums the two
// gradients into E.grad.
#pragma once
#include "autograd/variable.h"

namespace seqnet {

// ids: i64 of any shape, values in [0, vocab);  E: (vocab, dim) f32/f64  →  (..., dim)
//   y[k, :] = E[ids[k], :];   dE[v, :] = Σ_{k : ids[k] = v} dy[k, :]   (repeated ids accumulate)
Variable embedding(const Tensor& ids, const Variable& E);

}  // namespace seqnet
