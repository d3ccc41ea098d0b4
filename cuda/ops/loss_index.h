// cuda/ops/loss_index.h — the index math of the CUDA loss kernels (cuda/ops/loss.cu), as
// __host__ __device__ functions so a CPU test can sweep them against ops/cpu/loss.cpp's loops.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "ops/kernels/loss.h"

namespace seqnet::cuda {

// Offset of entry c = 0 of row (position) r = o·inner + i of the (outer, C, inner) view; entry c
// of the row sits at base + c·inner.
SEQNET_HOST_DEVICE inline int64_t softmax_row_base(int64_t r, const SoftmaxRows& R) {
  return (r / R.inner) * R.C * R.inner + r % R.inner;
}

// Offset in one_hot's (A, C, B) output of the 1 for id `id` at flat position k of ids viewed as (A, B).
SEQNET_HOST_DEVICE inline int64_t one_hot_offset(int64_t k, int64_t id, int64_t C, int64_t B) {
  return ((k / B) * C + id) * B + k % B;
}

}  // namespace seqnet::cuda
