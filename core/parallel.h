// core/parallel.h — splitting an elementwise loop over the OpenMP threads (the one thread pool,
// core/runtime.h), for the CPU kernels and the CPU device's adds (gradient sums).
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace seqnet {

// Elementwise loops: f(lo, hi) over [0, n), one contiguous chunk per thread (at most n / grain
// threads) once n reaches two grains, else on the calling thread. The grains are where a split starts to pay for
// waking the team (a few microseconds): about 16k elements for an add or a copy, 4k for a
// transcendental function. Elementwise results do not depend on the split.
inline constexpr int64_t kGrainCheap = int64_t(1) << 14, kGrainTranscendental = int64_t(1) << 12;
template <class F>
void parallel_range(int64_t n, int64_t grain, F&& f) {
  const int nt = n >= 2 * grain && !omp_in_parallel() ? int(std::min<int64_t>(omp_get_max_threads(), n / grain)) : 1;
  if (nt <= 1) {
    if (n > 0) f(int64_t(0), n);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    // The team OpenMP really started (fewer than nt under OMP_DYNAMIC or a thread limit).
    const int t = omp_get_thread_num(), team = omp_get_num_threads();
    const int64_t lo = n * t / team, hi = n * (t + 1) / team;
    if (hi > lo) f(lo, hi);
  }
}

}  // namespace seqnet
