// cuda/device.cpp — the CUDA DeviceApi (see cuda/device.h): host code on the CUDA runtime API; the
// strided kernels it launches are in cuda/tensor_kernels.cu.
#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "cuda/cuda_info.h"
#include "cuda/device.h"
#include "cuda/tensor_kernels.h"

namespace seqnet::cuda {

namespace {

// Every CUDA call is checked; a failure names the call and CUDA's error string.
void check_cuda(cudaError_t e, const char* call) {
  if (e != cudaSuccess) fail(fmt::format("CUDA: {} failed: {}", call, cudaGetErrorString(e)));
}

class CudaAllocator final : public Allocator {
 public:
  explicit CudaAllocator(int index) : index_(index) {}
  void* allocate(size_t nbytes) override {
    if (nbytes == 0) nbytes = 1;
    check_cuda(cudaSetDevice(index_), "cudaSetDevice");
    void* p = nullptr;
    if (cudaMalloc(&p, nbytes) != cudaSuccess) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      fail(fmt::format("cuda:{}: out of device memory allocating {} bytes ({} of {} bytes free)", index_, nbytes,
                       free_b, total_b));
    }
    on_alloc(nbytes);
    return p;
  }
  void deallocate(void* p, size_t nbytes) override {
    if (!p) return;
    cudaFree(p);  // never throws from a destructor path
    on_free(nbytes == 0 ? 1 : nbytes);
  }
  Device device() const override { return Device::cuda(index_); }

 private:
  int index_;
};

class CudaDeviceApi final : public DeviceApi {
 public:
  explicit CudaDeviceApi(int index) : index_(index), alloc_(index) {
    check_cuda(cudaSetDevice(index), "cudaSetDevice");
    check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  Device device() const override { return Device::cuda(index_); }
  Allocator& allocator() override { return alloc_; }

  void memset_zero(void* p, size_t nbytes) override {
    if (nbytes) check_cuda(cudaMemsetAsync(p, 0, nbytes, stream_), "cudaMemsetAsync");
  }
  void copy_to_host(void* host_dst, const void* src, size_t nbytes) override {
    if (!nbytes) return;
    check_cuda(cudaMemcpyAsync(host_dst, src, nbytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync (to host)");
    synchronize();
  }
  void copy_from_host(void* dst, const void* host_src, size_t nbytes) override {
    if (!nbytes) return;
    check_cuda(cudaMemcpyAsync(dst, host_src, nbytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync (from host)");
    synchronize();  // the host buffer may be freed as soon as we return
  }
  void synchronize() override { check_cuda(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

  void fill(const Tensor& t, double value) override { tensor_fill(t, value, stream_); }
  void copy(const Tensor& dst, const Tensor& src) override {
    if (dst.is_contiguous() && src.is_contiguous() && dst.dtype() == src.dtype()) {
      check_cuda(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), size_t(dst.numel()) * dtype_size(dst.dtype()),
                                 cudaMemcpyDeviceToDevice, stream_),
                 "cudaMemcpyAsync (device to device)");
      return;
    }
    tensor_copy(dst, src, stream_);
  }
  void add(const Tensor& dst, const Tensor& src) override { tensor_add(dst, src, stream_); }

 private:
  int index_;
  CudaAllocator alloc_;
  cudaStream_t stream_ = nullptr;
};

}  // namespace

DeviceApi& device_api(int index) {
  static std::mutex* mu = new std::mutex();  // never destroyed: tensors may be freed after main()
  static std::vector<std::unique_ptr<CudaDeviceApi>>* apis = new std::vector<std::unique_ptr<CudaDeviceApi>>();
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

}  // namespace seqnet::cuda
