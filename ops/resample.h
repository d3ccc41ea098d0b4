// ops/resample.h — changing the time resolution by an integer factor f.
//
// x is (N, C, T) — or any tensor of dim >= 1 — and the ops act on the last axis.
// Upsampling gives length T·f and matches PyTorch's F.interpolate(x, scale_factor=f, mode=...).
#pragma once
#include "autograd/variable.h"

namespace seqnet {

// y[j] = x[floor(j / f)]   (each step repeated f times);  F.interpolate(mode="nearest").
Variable upsample_nearest(const Variable& x, int64_t factor);

// F.interpolate(mode="linear", align_corners=False): for output step j,
//   src = max((j + 0.5) / f − 0.5, 0),  i0 = floor(src),  i1 = min(i0 + 1, T − 1),  λ = src − i0,
//   y[j] = (1 − λ)·x[i0] + λ·x[i1].
Variable upsample_linear(const Variable& x, int64_t factor);

// y = x[..., start::f]  (0 <= start < f, start < T): decimation by striding. A view.
Variable downsample(const Variable& x, int64_t factor, int64_t start = 0);

}  // namespace seqnet
