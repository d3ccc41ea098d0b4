// cuda/device.cpp — the CUDA DeviceApi (see cuda/device.h): host code on the CUDA runtime API; the
// strided kernels it launches are in cuda/tensor_kernels.cu.
#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "cuda/cuda_info.h"
#include "cuda/context.h"
#include "cuda/device.h"
#include "cuda/tensor_kernels.h"

namespace seqnet::cuda {

void check_cuda(cudaError_t e, const char* op, const char* call) {
  if (e != cudaSuccess) fail(fmt::format("{}: {} failed: {}", op, call, cudaGetErrorString(e)));
}

void check_cublas(cublasStatus_t s, const char* op, const char* call) {
  if (s != CUBLAS_STATUS_SUCCESS) fail(fmt::format("{}: {} failed: {}", op, call, cublasGetStatusName(s)));
}

void check_launch(const char* op) { check_cuda(cudaGetLastError(), op, "kernel launch"); }

namespace {

// Device memory through the caching allocator of core/allocator.h: cudaMalloc / cudaFree behind
// the size-class cache (capped by SEQNET_CUDA_CACHE_MB, default: no cap, as PyTorch). Freed blocks
// are reused in stream order (one stream per GPU, see cuda/context.h).
class CudaAllocator final : public CachingAllocator {
 public:
  explicit CudaAllocator(int index) : CachingAllocator(cap_from_env()), index_(index) {}
  Device device() const override { return Device::cuda(index_); }

 protected:
  void* raw_allocate(size_t bytes) override {
    check_cuda(cudaSetDevice(index_), "cuda allocator", "cudaSetDevice");
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();  // clear the error; the caller empties the cache and retries once
      return nullptr;
    }
    return p;
  }
  void raw_free(void* p) override { cudaFree(p); }  // never throws: runs from destructors
  [[noreturn]] void out_of_memory(size_t nbytes) override {
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    fail(fmt::format("cuda:{}: out of device memory allocating {} bytes ({} of {} bytes free after emptying the "
                     "cache)",
                     index_, nbytes, free_b, total_b));
  }

 private:
  static size_t cap_from_env() {
    if (const char* env = std::getenv("SEQNET_CUDA_CACHE_MB"); env && *env) return size_t(std::atoll(env)) << 20;
    return SIZE_MAX;
  }
  int index_;
};

class CudaDeviceApi final : public DeviceApi {
 public:
  explicit CudaDeviceApi(int index) : alloc_(index) {
    ctx_.index = index;
    check_cuda(cudaSetDevice(index), "cuda device", "cudaSetDevice");
    check_cuda(cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking), "cuda device", "cudaStreamCreate");
    check_cublas(cublasCreate(&ctx_.blas), "cuda device", "cublasCreate");
    check_cublas(cublasSetStream(ctx_.blas, ctx_.stream), "cuda device", "cublasSetStream");
    // A workspace of our own (never freed: the handle lives as long as the process): cuBLAS then
    // never allocates one itself, which it must not do while a step is being recorded as a CUDA
    // graph (models/step/sampling.h).
    constexpr size_t kWorkspace = size_t(32) << 20;
    check_cuda(cudaMalloc(&ctx_.workspace, kWorkspace), "cuda device", "cudaMalloc (cuBLAS workspace)");
    check_cublas(cublasSetWorkspace(ctx_.blas, ctx_.workspace, kWorkspace), "cuda device", "cublasSetWorkspace");
    check_cuda(cudaMalloc(&ctx_.arrived, sizeof(unsigned)), "cuda device", "cudaMalloc (block counter)");
    check_cuda(cudaMemsetAsync(ctx_.arrived, 0, sizeof(unsigned), ctx_.stream), "cuda device",
               "cudaMemsetAsync (block counter)");  // on the stream: before every kernel that uses it
    // FP32 GEMMs in full FP32 (no TF32), as the CPU and the parity tests expect.
    check_cublas(cublasSetMathMode(ctx_.blas, CUBLAS_DEFAULT_MATH), "cuda device", "cublasSetMathMode");
  }
  Device device() const override { return Device::cuda(ctx_.index); }
  Allocator& allocator() override { return alloc_; }
  Context& context() { return ctx_; }

  void memset_zero(void* p, size_t nbytes) override {
    if (nbytes) check_cuda(cudaMemsetAsync(p, 0, nbytes, ctx_.stream), "zeros", "cudaMemsetAsync");
  }
  void copy_to_host(void* host_dst, const void* src, size_t nbytes) override {
    if (!nbytes) return;
    check_cuda(cudaMemcpyAsync(host_dst, src, nbytes, cudaMemcpyDeviceToHost, ctx_.stream), "copy to host",
               "cudaMemcpyAsync");
    synchronize();
  }
  void copy_from_host(void* dst, const void* host_src, size_t nbytes) override {
    if (!nbytes) return;
    check_cuda(cudaMemcpyAsync(dst, host_src, nbytes, cudaMemcpyHostToDevice, ctx_.stream), "copy from host",
               "cudaMemcpyAsync");
    synchronize();  // the host buffer may be freed as soon as we return
  }
  void synchronize() override { check_cuda(cudaStreamSynchronize(ctx_.stream), "synchronize", "cudaStreamSynchronize"); }
  double available_bytes() override {
    size_t free_b = 0, total_b = 0;
    check_cuda(cudaSetDevice(ctx_.index), "memory check", "cudaSetDevice");
    check_cuda(cudaMemGetInfo(&free_b, &total_b), "memory check", "cudaMemGetInfo");
    return double(free_b) + double(alloc_.stats().cached_bytes);
  }

  std::unique_ptr<Recording> record(const std::function<void()>& work) override;
  void make_current() override { check_cuda(cudaSetDevice(ctx_.index), "cuda device", "cudaSetDevice"); }

  void fill(const Tensor& t, double value) override { tensor_fill(t, value, ctx_.stream); }
  void copy(const Tensor& dst, const Tensor& src) override {
    if (dst.is_contiguous() && src.is_contiguous() && dst.dtype() == src.dtype()) {
      check_cuda(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), size_t(dst.numel()) * dtype_size(dst.dtype()),
                                 cudaMemcpyDeviceToDevice, ctx_.stream),
                 "copy_", "cudaMemcpyAsync (device to device)");
      return;
    }
    tensor_copy(dst, src, ctx_.stream);
  }
  void add(const Tensor& dst, const Tensor& src) override { tensor_add(dst, src, ctx_.stream); }

 private:
  CudaAllocator alloc_;
  Context ctx_;
};

// A CUDA graph captured from the device's stream (thread-local capture mode: a call that would
// wait for the device, or allocate, fails the capture instead of silently running outside it).
class CudaRecording final : public Recording {
 public:
  CudaRecording(cudaGraphExec_t exec, cudaStream_t stream) : exec_(exec), stream_(stream) {}
  ~CudaRecording() override { cudaGraphExecDestroy(exec_); }
  void replay() override { check_cuda(cudaGraphLaunch(exec_, stream_), "replay", "cudaGraphLaunch"); }

 private:
  cudaGraphExec_t exec_;
  cudaStream_t stream_;
};

std::unique_ptr<Recording> CudaDeviceApi::record(const std::function<void()>& work) {
  check_cuda(cudaStreamBeginCapture(ctx_.stream, cudaStreamCaptureModeThreadLocal), "record", "cudaStreamBeginCapture");
  cudaGraph_t graph = nullptr;
  try {
    work();
  } catch (...) {
    cudaStreamEndCapture(ctx_.stream, &graph);  // end the capture; discard what it holds
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  check_cuda(cudaStreamEndCapture(ctx_.stream, &graph), "record", "cudaStreamEndCapture");
  cudaGraphExec_t exec = nullptr;
  const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  check_cuda(e, "record", "cudaGraphInstantiate");
  return std::make_unique<CudaRecording>(exec, ctx_.stream);
}

CudaDeviceApi& api_of(int index) {
  static std::mutex* mu = new std::mutex();  // never destroyed: tensors may be freed after main()
  static auto* apis = new std::vector<std::unique_ptr<CudaDeviceApi>>();
  std::lock_guard<std::mutex> lock(*mu);
  const int n = device_count();
  if (n == 0)
    fail(fmt::format("device cuda:{} requested, but no GPU is visible (the CUDA backend is built; check the driver, "
                     "nvidia-smi and CUDA_VISIBLE_DEVICES)",
                     index));
  if (index < 0 || index >= n)
    fail(fmt::format("device cuda:{} requested, but only {} GPU(s) are visible (cuda:0 .. cuda:{})", index, n, n - 1));
  if (apis->size() < size_t(n)) apis->resize(size_t(n));
  auto& api = (*apis)[size_t(index)];
  if (!api) api = std::make_unique<CudaDeviceApi>(index);
  return *api;
}

}  // namespace

DeviceApi& device_api(int index) { return api_of(index); }
Context& context(int index) { return api_of(index).context(); }

}  // namespace seqnet::cuda
