// core/device_api.h — what a device must provide for tensors to live on it.
//
// A Tensor never touches its bytes directly: creating, zeroing, filling, copying and reading a
// tensor go through the DeviceApi of the device that holds it. The CPU implements it in
// core/cpu/device.cpp (plain loops over strided views, the host heap through the caching
// allocator); the CUDA backend implements it in cuda/device.cpp. Op kernels are a separate,
// larger contract (ops/backend.h); this one is only what core/tensor.cpp needs.
//
// device_api(d) is the one place a Device becomes an implementation. It fails with an Error that
// says why when the device cannot be used: this build has no CUDA backend, no GPU is visible, or
// the ordinal is out of range.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/allocator.h"
#include "core/device.h"

namespace seqnet {

class Tensor;

// Work recorded once and replayed many times (a CUDA graph): replay() queues all of it again on
// the device's stream with one launch, on the same buffers, without running the host code that
// first queued it.
class Recording {
 public:
  virtual ~Recording() = default;
  virtual void replay() = 0;
};

class DeviceApi {
 public:
  virtual ~DeviceApi() = default;
  virtual Device device() const = 0;
  virtual Allocator& allocator() = 0;

  // ---- bytes --------------------------------------------------------------------------------
  virtual void memset_zero(void* p, size_t nbytes) = 0;
  // Between this device and host memory; both return when the bytes have arrived.
  virtual void copy_to_host(void* host_dst, const void* src, size_t nbytes) = 0;
  virtual void copy_from_host(void* dst, const void* host_src, size_t nbytes) = 0;
  virtual void synchronize() = 0;  // wait for all work queued on this device
  // Makes this device the calling thread's current one (a GPU: cudaSetDevice), for work that is
  // queued without a Tensor naming its device (the step kernels, ops/kernels/step.h).
  virtual void make_current() {}
  // Bytes a run could still allocate here (free memory plus the allocator's reusable cache), or 0
  // when unknown (the host's is read by train/tasks/task_memory.cpp from /proc and the cgroup).
  virtual double available_bytes() { return 0; }

  // ---- recorded work (optional) -------------------------------------------------------------
  // Runs `work` (host code that queues kernels on this device, and must neither allocate nor wait
  // for the device) while recording what it queues instead of running it; returns the recording.
  // Null where the device cannot record (the CPU): the caller then simply runs `work`. Throws
  // (with the device's message) when recording fails; nothing of `work` has run on the device then.
  virtual std::unique_ptr<Recording> record(const std::function<void()>& work) {
    (void)work;
    return nullptr;
  }

  // ---- the three strided kernels of Tensor (all tensors on this device) ---------------------
  virtual void fill(const Tensor& t, double value) = 0;          // every element of the view := value
  virtual void copy(const Tensor& dst, const Tensor& src) = 0;   // src has dst's shape (maybe expanded); converts dtype
  virtual void add(const Tensor& dst, const Tensor& src) = 0;    // dst += src, same shape and dtype
};

// The implementation for `d`; throws seqnet::Error when `d` is not usable in this process.
DeviceApi& device_api(Device d);
// Whether device_api(d) would succeed (no exception): for tests that skip without a GPU.
bool device_available(Device d);
// In words, for headers and logs: the GPU's name ("NVIDIA H200"), "the host CPU".
std::string device_description(Device d);
// The CPU's implementation (always present).
DeviceApi& cpu_device_api();

}  // namespace seqnet
