#include <cuda_runtime.h>

#include "cuda/cuda_info.h"

namespace seqnet::cuda {

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return n;
}

std::string device_name(int index) {
  cudaDeviceProp prop{};
  cudaError_t e = cudaGetDeviceProperties(&prop, index);
  if (e != cudaSuccess) return cudaGetErrorString(e);
  return prop.name;
}

}  // namespace seqnet::cuda
