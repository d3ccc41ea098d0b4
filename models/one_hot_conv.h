// models/one_hot_conv.h — a convolution of one-hot input, computed as table lookups.
//
// The raw-audio models start with a convolution over the one-hot µ-law codes: the WaveNet's 1×1
// start_conv, the residual Seq-U-Net's K-tap input_conv (stride 1, no padding). With
// onehot(ids[n, t])[c] = [c == ids[n, t]],
//   y[n, o, t] = b[o] + Σ_m Σ_c W[o, c, m] · onehot(ids[n, t + m])[c] = b[o] + Σ_m W[o, ids[n, t + m], m].
// Done as a conv, the (N, classes, T) one-hot input is built and kept for the weight gradient
// (34 MiB per window of 34 000 samples at 256 classes; 604 MiB for a batch of 16 such windows) and
// the GEMM multiplies by 255 zeros per output. As lookups (one embedding per tap m, on the table
// W[:, :, m]ᵀ) only the ids are kept, and dW[o, c, m] = Σ_{t: ids[n, t + m] = c} dy[n, o, t] is each
// embedding's scatter-add. The forward adds the same nonzero terms (every other term is 0 · W) in
// another order; the weight gradient sums the same terms in another order.
#pragma once
#include "autograd/variable.h"

namespace seqnet {

// ids (N, T) i64 in [0, C_in); w (C_out, C_in, K) with K <= T; b (C_out) or undefined →
// (N, C_out, T − K + 1): conv1d(onehot(ids), w, b) with stride 1, dilation 1 and no padding.
Variable one_hot_conv1d(const Tensor& ids, const Variable& w, const Variable& b);

}  // namespace seqnet
