// core/allocator.h — raw memory for tensors, with byte accounting.
//
// All tensor memory goes through an Allocator. The CPU allocator hands out 64-byte-aligned
// blocks (one cache line / one AVX-512 register) and counts live and peak bytes; benchmarks
// report peak memory from these counters, and tests use the allocation counter to prove that a
// loop allocates nothing. Each device's DeviceApi (core/device_api.h) owns the Allocator of its
// memory: cpu_allocator() here, a device allocator in the CUDA backend.
//
// Caching: a freed block is kept in a free list of its size class (4 classes per power of two,
// so at most 25 % slack) and handed out again for the next request of that class. Without it,
// every large tensor (> 32 MiB, glibc's mmap threshold) would be returned to the OS on free and
// page-faulted in again on the next step — tens of milliseconds per GEMM output in a training
// loop. The cache is capped (SEQNET_CPU_CACHE_MB, default 4096) and empty_cache() releases it.
// live/peak count the bytes tensors asked for; cached_bytes is reported separately.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/device.h"

namespace seqnet {

struct AllocStats {
  int64_t live_bytes = 0;    // bytes currently allocated
  int64_t peak_bytes = 0;    // high-water mark of live_bytes since start / last reset_peak()
  int64_t live_blocks = 0;   // blocks currently allocated
  int64_t total_allocs = 0;  // number of allocate() calls ever made (never reset)
  int64_t cached_bytes = 0;  // freed blocks kept for reuse (not counted in live/peak)
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* p, size_t nbytes) = 0;
  virtual Device device() const = 0;
  virtual void empty_cache() {}  // give cached free blocks back to the system

  virtual AllocStats stats() const;
  void reset_peak();  // peak := live

 protected:
  void on_alloc(size_t nbytes);
  void on_free(size_t nbytes);

 private:
  std::atomic<int64_t> live_{0}, peak_{0}, blocks_{0}, total_{0};
};

constexpr size_t kAlignment = 64;

// The size class of a request: multiples of 64 bytes up to 1 KiB, then 4 classes per power of
// two (at most 25 % slack).
size_t size_class(size_t nbytes);

// A size-class cache over a raw allocator (the host heap, cudaMalloc): a freed block goes to the
// free list of its class, up to `cap_bytes` cached, and the next request of that class takes it.
// When the raw allocator fails, the cache is given back and the request retried once before
// out_of_memory() reports it. Both devices' allocators are one of these.
class CachingAllocator : public Allocator {
 public:
  explicit CachingAllocator(size_t cap_bytes) : cap_(cap_bytes) {}
  ~CachingAllocator() override = default;
  void* allocate(size_t nbytes) override;
  void deallocate(void* p, size_t nbytes) override;
  void empty_cache() override;
  AllocStats stats() const override;

 protected:
  virtual void* raw_allocate(size_t bytes) = 0;  // nullptr when out of memory
  virtual void raw_free(void* p) = 0;
  [[noreturn]] virtual void out_of_memory(size_t nbytes) = 0;

 private:
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
  size_t cap_;
};

Allocator& cpu_allocator();  // == device_api(Device::cpu()).allocator()

}  // namespace seqnet
