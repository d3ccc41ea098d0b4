// ops/weight_norm.h — weight normalisation (Salimans & Kingma 2016) as used by the TCN.
#pragma once
#include "autograd/variable.h"

namespace seqnet {

// W[o] = g[o] · v[o] / ‖v[o]‖₂, the norm taken per output channel o over all other axes.
//   g: (C_out, 1, 1) (PyTorch's weight_g; any (C_out, 1, ..., 1) of v's rank) or (C_out)
//   v: (C_out, C_in, K) (weight_v; any rank ≥ 2)                              → W: v's shape
// A channel with ‖v[o]‖ = 0 → Error (W would be NaN).
Variable weight_norm(const Variable& g, const Variable& v);

}  // namespace seqnet
