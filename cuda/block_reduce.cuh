// cuda/block_reduce.cuh — the deterministic block reductions of the CUDA kernels (sum, max).
//
// Σ over the kThreads threads of a block, in a fixed tree order: the same bits on every run (no
// atomics). Every thread gets the total. The trailing barrier lets a kernel call it again with the
// same shared buffer.
#pragma once
#include "cuda/context.h"

namespace seqnet::cuda {

// `sh`: a __shared__ buffer of kThreads doubles; blockDim.x == kThreads (a power of two).
__device__ inline double block_sum(double v, double* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  const double total = sh[0];
  __syncthreads();  // sh may be reused by the next call
  return total;
}

// The same with a buffer of its own.
__device__ inline double block_sum(double v) {
  __shared__ double sh[kThreads];
  return block_sum(v, sh);
}

// The maximum over the block's kThreads threads, the same way (fmax: a NaN is ignored unless every
// value is NaN). `sh` as for block_sum.
__device__ inline double block_max(double v, double* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] = fmax(sh[threadIdx.x], sh[threadIdx.x + s]);
    __syncthreads();
  }
  const double m = sh[0];
  __syncthreads();  // sh may be reused by the next call
  return m;
}

}  // namespace seqnet::cuda
