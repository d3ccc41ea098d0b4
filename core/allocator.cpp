#include "core/allocator.h"

#include <cstdlib>
#include <new>

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

class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    // aligned_alloc needs a size that is a multiple of the alignment; a zero-size tensor still
    // gets a valid unique pointer.
    size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded == 0) rounded = kAlignment;
    void* p = std::aligned_alloc(kAlignment, rounded);
    if (!p) throw Error("cpu allocator: out of memory allocating " + std::to_string(nbytes) + " bytes");
    on_alloc(nbytes);
    return p;
  }
  void deallocate(void* p, size_t nbytes) override {
    if (!p) return;
    std::free(p);
    on_free(nbytes);
  }
  Device device() const override { return Device::cpu(); }
};

Allocator* g_cuda_allocator = nullptr;

}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator a;
  return a;
}

void register_cuda_allocator(Allocator* a) { g_cuda_allocator = a; }

Allocator& allocator_for(Device d) {
  if (d.is_cpu()) return cpu_allocator();
  if (!g_cuda_allocator)
    throw Error("device " + d.str() + " requested, but this build has no CUDA backend (configure with -DSEQNET_CUDA=ON on a machine with nvcc and cuBLAS)");
  return *g_cuda_allocator;
}

}  // namespace seqnet
