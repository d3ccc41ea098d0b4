#include "core/allocator.h"

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

namespace {

// Size classes: multiples of 64 up to 1 KiB, then 4 classes per power of two.
size_t size_class(size_t n) {
  if (n <= 1024) return n == 0 ? kAlignment : (n + kAlignment - 1) / kAlignment * kAlignment;
  size_t p = size_t(1) << (63 - __builtin_clzll(uint64_t(n - 1)));  // largest power of 2 < n
  size_t step = p / 4;
  return (n + step - 1) / step * step;
}

class CpuAllocator final : public Allocator {
 public:
  CpuAllocator() {
    if (const char* env = std::getenv("SEQNET_CPU_CACHE_MB"); env && *env) cap_ = size_t(std::atoll(env)) << 20;
  }

  void* allocate(size_t nbytes) override {
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
    if (!p) p = std::aligned_alloc(kAlignment, c);
    if (!p) {
      empty_cache();  // maybe the cache holds what we need
      p = std::aligned_alloc(kAlignment, c);
    }
    if (!p) throw Error("cpu allocator: out of memory allocating " + std::to_string(nbytes) + " bytes");
    on_alloc(nbytes);
    return p;
  }

  void deallocate(void* p, size_t nbytes) override {
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
    std::free(p);
  }

  void empty_cache() override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [c, blocks] : free_)
      for (void* p : blocks) std::free(p);
    free_.clear();
    cached_ = 0;
  }

  AllocStats stats() const override {
    AllocStats s = Allocator::stats();
    std::lock_guard<std::mutex> lock(mu_);
    s.cached_bytes = int64_t(cached_);
    return s;
  }

  Device device() const override { return Device::cpu(); }

 private:
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
  size_t cap_ = size_t(4096) << 20;
};

}  // namespace

Allocator& cpu_allocator() {
  // Never destroyed: tensors held in other static objects may be freed after main() returns.
  static CpuAllocator* a = new CpuAllocator();
  return *a;
}

}  // namespace seqnet
