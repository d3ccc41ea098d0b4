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

// off[k] = Σ_d index_d · strides[k][d] for the row-major index i of `ix.shape` (0 <= i < Π shape:
// what is left of i after the inner dimensions is the outermost index, with no division).
template <int NumOperands>
SEQNET_HOST_DEVICE inline void offsets(const StridedIndex<NumOperands>& ix, int64_t i, int64_t (&off)[NumOperands]) {
  for (int k = 0; k < NumOperands; ++k) off[k] = 0;
  for (int d = ix.dims - 1; d > 0; --d) {
    const int64_t n = ix.shape[d];
    const int64_t c = i % n;
    i /= n;
    for (int k = 0; k < NumOperands; ++k) off[k] += c * ix.strides[k][d];
  }
  if (ix.dims > 0)
    for (int k = 0; k < NumOperands; ++k) off[k] += i * ix.strides[k][0];
}

// The same index with fewer dimensions where possible, so that a kernel divides less (64-bit
// division is slow on a GPU): size-1 dimensions are dropped, and dimension d merges into d + 1
// when every operand steps over it as over one longer d + 1 (strides[k][d] = strides[k][d + 1] ·
// shape[d + 1]) — a contiguous tensor becomes one dimension, a time-cropped view (N, C, T) two.
// offsets() gives the same offsets for every i (tests/test_device.cpp sweeps it).
template <int NumOperands>
inline StridedIndex<NumOperands> coalesced(const StridedIndex<NumOperands>& ix) {
  StridedIndex<NumOperands> out;
  for (int d = 0; d < ix.dims; ++d) {
    if (ix.shape[d] == 1) continue;
    if (out.dims > 0) {
      const int last = out.dims - 1;
      bool merge = true;
      for (int k = 0; k < NumOperands; ++k) merge = merge && out.strides[k][last] == ix.strides[k][d] * ix.shape[d];
      if (merge) {
        out.shape[last] *= ix.shape[d];
        for (int k = 0; k < NumOperands; ++k) out.strides[k][last] = ix.strides[k][d];
        continue;
      }
    }
    out.shape[out.dims] = ix.shape[d];
    for (int k = 0; k < NumOperands; ++k) out.strides[k][out.dims] = ix.strides[k][d];
    ++out.dims;
  }
  return out;
}

}  // namespace seqnet::cuda
