// cuda/device.h — the CUDA DeviceApi: device memory, host↔device copies, synchronisation.
//
// Compiled only when the CUDA backend is built (SEQNET_HAVE_CUDA). device_api(i) is what
// core/device_api.cpp returns for Device::cuda(i); it throws a seqnet::Error naming the reason
// when GPU i cannot be used (no GPU visible, ordinal out of range).
//
// What exists today: one allocator per GPU (cudaMalloc / cudaFree with live and peak accounting),
// one stream per GPU, byte copies, memset and the strided Tensor kernels (fill, copy with dtype
// conversion, add: cuda/tensor_kernels.cu). Op kernels (the contract of ops/backend.h) are the
// CUDA backend's next step. None of this has run on a GPU yet (no GPU was lent so far).
#pragma once

#include "core/device_api.h"

namespace seqnet::cuda {

DeviceApi& device_api(int index);

}  // namespace seqnet::cuda
