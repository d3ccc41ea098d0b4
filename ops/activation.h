// ops/activation.h — pointwise non-linearities.
#pragma once
#include "autograd/variable.h"

namespace seqnet {

Variable tanh(const Variable& x);
Variable sigmoid(const Variable& x);
Variable relu(const Variable& x);
Variable leaky_relu(const Variable& x, double negative_slope = 0.01);

// y = relu(a + b) as one op (one pass forward, one backward; the sum is never stored): the residual
// join of the TCN block. da = db = dy · [y > 0]. a and b must have the same shape and dtype.
Variable add_relu(const Variable& a, const Variable& b);

// The gated unit of WaveNet and the residual Seq-U-Net (MODELS.md §2):
//   y = tanh(filter) ⊙ sigmoid(gate), one fused op (one pass forward, one pass backward).
// filter and gate must have the same shape and dtype.
Variable gated(const Variable& filter, const Variable& gate);

}  // namespace seqnet
