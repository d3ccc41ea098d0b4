// tests/heap_counter.cpp — the one replacement of the global operator new in the test binary
// (see heap_counter.h).
#include "heap_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<int64_t> g_heap_allocs{0};
}

int64_t seqnet::testing::heap_allocs() { return g_heap_allocs.load(std::memory_order_relaxed); }

#if SEQNET_COUNT_HEAP
void* operator new(std::size_t n) {
  g_heap_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that operator new above is malloc-based, and warns about free on its result.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif
