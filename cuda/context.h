// cuda/context.h — what every CUDA kernel launcher needs: the GPU's stream and cuBLAS handle, and
// error checks that name the op, the call and CUDA's message.
//
// One stream per GPU: kernels, cuBLAS calls, memsets and copies of a device are queued on it in
// program order, so a buffer freed to the caching allocator and handed out again is only reused
// by work queued after everything that used it. item(), to_vector() and copies to the host wait
// for the stream. cuBLAS runs in FP32 (CUBLAS_COMPUTE_32F, TF32 off) or FP64.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "core/tensor.h"

namespace seqnet::cuda {

struct Context {
  int index = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  void* workspace = nullptr;  // cuBLAS's workspace (cublasSetWorkspace), 32 MiB
  // A counter the last-block-done pattern uses (the step kernels' draws that also tick their
  // loop's counter, cuda/ops/step.cu): 0 between kernels, which the last block restores. One per
  // GPU suffices: the GPU's kernels run one after another on its one stream.
  unsigned* arrived = nullptr;
};

// The handles of GPU `index` (created on first use); the same checks as cuda::device_api.
Context& context(int index);
inline Context& context_of(const Tensor& t) { return context(t.device().index); }

// Every CUDA and cuBLAS call is checked: "conv1d: cublasSgemm failed: CUBLAS_STATUS_INVALID_VALUE".
void check_cuda(cudaError_t e, const char* op, const char* call);
void check_cublas(cublasStatus_t s, const char* op, const char* call);
// After a kernel launch: a bad launch configuration is reported with the op's name.
void check_launch(const char* op);

// Launch geometry of a one-thread-per-element kernel.
constexpr int kThreads = 256;
inline unsigned blocks_for(int64_t n) { return unsigned((n + kThreads - 1) / kThreads); }

}  // namespace seqnet::cuda
