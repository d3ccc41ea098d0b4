// models/one_hot_conv.h — a 1×1 convolution of one-hot input, computed as a table lookup.
//
// The raw-audio models (WaveNet, residual Seq-U-Net) start with a 1×1 conv over the one-hot µ-law
// codes: y[n, o, t] = b[o] + Σ_c W[o, c] · onehot(ids[n, t])[c] = b[o] + W[o, ids[n, t]]. Done as a
// conv, the (N, classes, T) one-hot input is built and kept for the weight gradient (34 MiB per
// window of 34 000 samples at 256 classes) and the GEMM multiplies by 255 zeros per output. As a
// lookup (the embedding op on Wᵀ) only the ids are kept, and dW[o, c] = Σ_{t: ids = c} dy[o, t]
// is the embedding's scatter-add. The forward is exact (every other term is 0 · W); the weight
// gradient sums the same terms in another order.
#pragma once
#include "autograd/variable.h"

namespace seqnet {

// ids (N, T) i64 in [0, C_in); w (C_out, C_in, 1); b (C_out) or undefined → (N, C_out, T).
Variable one_hot_conv1x1(const Tensor& ids, const Variable& w, const Variable& b);

}  // namespace seqnet
