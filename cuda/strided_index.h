// cuda/strided_index.h — element i of a strided view, as a GPU thread computes it.
//
// A kernel over a tensor view gives every thread one row-major index i of the view's shape and
// needs the element's offset in each operand (operands share the shape, not the strides: a
// transposed source, an expanded bias). StridedIndex carries shape and strides by value (kernel
// arguments), up to kMaxDims dimensions. offsets() is a __host__ __device__ function, so a CPU
// test can sweep it over a whole launch grid and compare with Tensor's own indexing
// (tests/test_device.cpp) — the GPU minutes then go to what only a GPU can show.
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace seqnet::cuda {

constexpr int kMaxDims = 8;

template <int NumOperands>
struct StridedIndex {
  int dims = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[NumOperands][kMaxDims] = {};
};

// off[k] = Σ_d index_d · strides[k][d] for the row-major index i of `ix.shape`.
template <int NumOperands>
SEQNET_HOST_DEVICE inline void offsets(const StridedIndex<NumOperands>& ix, int64_t i, int64_t (&off)[NumOperands]) {
  for (int k = 0; k < NumOperands; ++k) off[k] = 0;
  for (int d = ix.dims - 1; d >= 0; --d) {
    const int64_t n = ix.shape[d];
    const int64_t c = i % n;
    i /= n;
    for (int k = 0; k < NumOperands; ++k) off[k] += c * ix.strides[k][d];
  }
}

}  // namespace seqnet::cuda
