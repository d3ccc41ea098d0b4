// cuda/tensor_kernels.h — the CUDA twins of Tensor's three strided kernels (DeviceApi::fill,
// copy, add; the CPU's are in core/cpu/device.cpp). Launched on `stream`; they return without
// waiting. Views of up to kMaxDims dimensions (cuda/strided_index.h); more is an Error.
#pragma once
#include <cuda_runtime.h>

#include "core/tensor.h"

namespace seqnet::cuda {

void tensor_fill(const Tensor& t, double value, cudaStream_t stream);
void tensor_copy(const Tensor& dst, const Tensor& src, cudaStream_t stream);  // src expanded to dst's shape
void tensor_add(const Tensor& dst, const Tensor& src, cudaStream_t stream);   // same shape and dtype

}  // namespace seqnet::cuda
