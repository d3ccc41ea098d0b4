// ops/time.h — time-axis plumbing: padding, cropping, concatenation, decimation, interleaving.
//
// Sequences are (N, C, T) with time on the LAST axis (index 0 = oldest step). Every op here
// works on any tensor of dim ≥ 1 and acts on its last axis (concat: on the axis you name), so
// (C, T) or (N, C, T) both work. See /work/shared/spec/MODELS.md §2–3 for where each is used.
//
// Views: the crops, decimate, to_nct / to_ntc return views of the input's storage (no copy);
// pad_time, concat and interleave / duplicate allocate their output. All ops are differentiable
// and throw seqnet::Error naming the op and the shapes on a bad argument.
#pragma once
#include <vector>

#include "autograd/variable.h"

namespace seqnet {

// Zero padding of the last axis: `front` zeros before step 0 (causal padding), `back` after the
// last step. Length T → front + T + back. front, back ≥ 0.
Variable pad_time(const Variable& x, int64_t front, int64_t back = 0);

// Crop1d "front": keeps the LAST target_len steps (drops T − target_len at the front). The models
// crop only this way, so every tensor stays end-aligned (MODELS.md §3). View.
Variable crop(const Variable& x, int64_t target_len);
// crop(x, target.size(-1)): crop x to the time length of `target`.
Variable crop(const Variable& x, const Variable& target);
// Crop1d "both": drops (T − target_len)/2 at each end; the difference must be even. View.
Variable crop_both(const Variable& x, int64_t target_len);
// Crop1d "back": keeps the FIRST target_len steps (drops the tail). View.
Variable crop_back(const Variable& x, int64_t target_len);
// Crop1dFrontBack: drops `front` steps at the front and `back` at the back (either may be 0). View.
Variable crop_front_back(const Variable& x, int64_t front, int64_t back);

// Concatenation along `dim` (channels: dim 1 of (N, C, T); negative dims count from the end).
// All inputs must agree on every other dimension and on dtype. Order is kept: [xs[0], xs[1], ...].
Variable concat(const std::vector<Variable>& xs, int dim);

// x[..., start::2] (start 0 or 1): every other step. Strided view.
Variable decimate(const Variable& x, int64_t start);
// decimate(x, (T − 1) mod 2): the phase that always keeps the newest step (MODELS.md §2).
Variable decimate_causal(const Variable& x);

// interleave(x, y), x (..., L), y (..., L − 1):  x0, y0, x1, y1, …, y_{L−2}, x_{L−1}   (length 2L − 1)
// exactly as MODELS.md §2. Also accepted (an extension the spec does not name, used by step
// mode): y (..., L) gives x0, y0, …, x_{L−1}, y_{L−1} (length 2L). Leading dims must match.
Variable interleave(const Variable& x, const Variable& y);
// duplicate(x) = interleave(x, x[..., :−1]) = x0, x0, x1, x1, …, x_{L−2}, x_{L−2}, x_{L−1}  (2L − 1).
// With append_last = true (save/step mode, §2/§9.2) one more copy of x_{L−1} is appended:
// x0, x0, …, x_{L−1}, x_{L−1} (2L) = interleave(x, x).
Variable duplicate(const Variable& x, bool append_last = false);

// (N, T, C) → (N, C, T) and back: a transpose of the last two axes of a 3-D tensor. Views.
Variable to_nct(const Variable& x);
Variable to_ntc(const Variable& x);

}  // namespace seqnet
