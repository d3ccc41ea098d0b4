// ops/pool.h — 1-D pooling over the time axis, with PyTorch's semantics.
//
// x is (N, C, T) — or any tensor of dim >= 1: every leading index is an independent row and the
// window slides over the last axis. With kernel k, stride s (default k) and padding p
// (0 <= p <= k/2, as PyTorch requires):
//     T_out = floor((T + 2p − k) / s) + 1        (must be >= 1)
//     window j covers input steps  j·s − p  …  j·s − p + k − 1
#pragma once
#include <optional>

#include "autograd/variable.h"

namespace seqnet {

// y[j] = max over window j (padding counts as −inf, so it never wins). Backward sends dy[j] to
// the arg-max of window j — the first maximum on ties; a NaN in a window propagates like PyTorch.
Variable max_pool1d(const Variable& x, int64_t kernel, std::optional<int64_t> stride = std::nullopt,
                    int64_t padding = 0);

// y[j] = (sum of the real steps in window j) / k — padded steps count as zeros in the divisor
// (count_include_pad = true, PyTorch's default). Backward spreads dy[j] / k over the window.
Variable avg_pool1d(const Variable& x, int64_t kernel, std::optional<int64_t> stride = std::nullopt,
                    int64_t padding = 0);

}  // namespace seqnet
