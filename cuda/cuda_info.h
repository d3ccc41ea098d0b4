// cuda/cuda_info.h — what the CUDA backend sees (only compiled when SEQNET_HAVE_CUDA).
//
// The CUDA backend (device allocator, cuBLAS GEMMs, one kernel per CPU op, each checked against
// its CPU twin) grows here. Today it reports the visible GPUs so `seqnet info` and GPU tests can
// skip cleanly when there is none.
#pragma once
#include <string>

namespace seqnet::cuda {

int device_count();                  // 0 when no GPU is visible or the driver is missing
std::string device_name(int index);  // "NVIDIA H100 80GB HBM3", or the CUDA error text

}  // namespace seqnet::cuda
