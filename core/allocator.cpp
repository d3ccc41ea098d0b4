#include "core/allocator.h"

#include <fmt/format.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace seqnet {

AllocStats Allocator::stats() const {
  return {live_.load(), peak_.load(), blocks_.load(), total_.load()};
}

void Allocator::reset_peak() { peak_.store(live_.load()); }

void Allocator::on_alloc(size_t nbytes) {
  int64_t now = live_.fetch_add(int64_t(nbytes)) + int64_t(nbytes);
  int64_t peak = peak_.load();
  while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
  }
  blocks_.fetch_add(1);
  total_.fetch_add(1);
}

void Allocator::on_free(size_t nbytes) {
  live_.fetch_sub(int64_t(nbytes));
  blocks_.fetch_sub(1);
}

// Size classes: multiples of 64 up to 1 KiB, then 4 classes per power of two.
size_t size_class(size_t n) {
  if (n <= 1024) return n == 0 ? kAlignment : (n + kAlignment - 1) / kAlignment * kAlignment;
  size_t p = size_t(1) << (63 - __builtin_clzll(uint64_t(n - 1)));  // largest power of 2 < n
  size_t step = p / 4;
  return (n + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t nbytes) {
  const size_t c = size_class(nbytes);
  void* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(c);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      cached_ -= c;
    }
  }
  if (!p) p = raw_allocate(c);
  if (!p) {
    empty_cache();  // maybe the cache holds what we need
    p = raw_allocate(c);
  }
  if (!p) out_of_memory(nbytes);
  on_alloc(nbytes);
  return p;
}

void CachingAllocator::deallocate(void* p, size_t nbytes) {
  if (!p) return;
  on_free(nbytes);
  const size_t c = size_class(nbytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_ + c <= cap_) {
      free_[c].push_back(p);
      cached_ += c;
      return;
    }
  }
  raw_free(p);
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [c, blocks] : free_)
    for (void* p : blocks) raw_free(p);
  free_.clear();
  cached_ = 0;
}

AllocStats CachingAllocator::stats() const {
  AllocStats s = Allocator::stats();
  std::lock_guard<std::mutex> lock(mu_);
  s.cached_bytes = int64_t(cached_);
  return s;
}

namespace {

// The host heap, 64-byte aligned; cache capped by SEQNET_CPU_CACHE_MB (default 4096).
class CpuAllocator final : public CachingAllocator {
 public:
  CpuAllocator() : CachingAllocator(cap_from_env()) {}
  Device device() const override { return Device::cpu(); }

 protected:
  void* raw_allocate(size_t bytes) override { return std::aligned_alloc(kAlignment, bytes); }
  void raw_free(void* p) override { std::free(p); }
  [[noreturn]] void out_of_memory(size_t nbytes) override {
    throw Error(fmt::format("cpu allocator: out of memory allocating {:.3g} GB ({} bytes; {:.3g} GB live)",
                            double(nbytes) / 1e9, nbytes, double(stats().live_bytes) / 1e9));
  }

 private:
  static size_t cap_from_env() {
    if (const char* env = std::getenv("SEQNET_CPU_CACHE_MB"); env && *env) return size_t(std::atoll(env)) << 20;
    return size_t(4096) << 20;
  }
};

}  // namespace

Allocator& cpu_allocator() {
  // Never destroyed: tensors held in other static objects may be freed after main() returns.
  static CpuAllocator* a = new CpuAllocator();
  return *a;
}

}  // namespace seqnet
