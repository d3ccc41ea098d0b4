// tests/heap_counter.h — counts every global operator new in the test binary (tests/heap_counter.cpp
// replaces it), to prove that a step mode allocates nothing on the heap at all (not only through
// the tensor allocator). Under AddressSanitizer the global operators stay ASan's own (a
// replacement would pair with ASan's variants that are not replaced, e.g. aligned or array new,
// and trip its new/free mismatch check); there heap_allocs() stays 0 and only the tensor
// allocator's counter can be checked.
#pragma once
#include <cstdint>

#if defined(__SANITIZE_ADDRESS__)
#define SEQNET_COUNT_HEAP 0
#else
#define SEQNET_COUNT_HEAP 1
#endif

namespace seqnet::testing {
constexpr bool kCountHeap = SEQNET_COUNT_HEAP;
int64_t heap_allocs();  // global operator new calls so far (0 under ASan)
}  // namespace seqnet::testing
