// core/runtime.h — process-wide compute settings: threads, denormals, which BLAS is loaded.
//
// One thread pool: our kernels use OpenMP, and we link the OpenMP build of OpenBLAS, so GEMMs
// run on the same OpenMP threads. set_num_threads() sets both; SEQNET_THREADS (environment)
// gives the default. Flush-to-zero / denormals-are-zero is switched on in every compute thread
// (denormal floats in transient tensors cost PyTorch's word Seq-U-Net up to 3x).
#pragma once
#include <string>

namespace seqnet {

// Reads SEQNET_THREADS, sets OpenMP and OpenBLAS to it and enables FTZ/DAZ on every pool thread.
// Idempotent; call at program start.
//
// Without SEQNET_THREADS (or --threads) the default is the cores that are free: the core count
// less the cores other processes keep busy at start-up (busy_cores_elsewhere). A fork-join step
// on a core that another process also wants waits, at every barrier, for the thread that lost
// its time slice: with one busy process on a 2-core machine a 2-thread music step measured
// 1.3–1.7× slower than a 1-thread one, so the default then is 1 thread.
void init_runtime();

// Why the thread count is what it is (for `seqnet info` and the training header).
struct ThreadChoice {
  int threads = 1;
  int cores = 1;          // omp_get_num_procs()
  int busy_elsewhere = 0; // cores other processes were using at start-up (when not explicit)
  bool explicit_count = false;  // SEQNET_THREADS / --threads
  std::string describe() const;  // "2 (2 cores)", "1 (2 cores, 1 busy with other processes; --threads to override)"
};
const ThreadChoice& thread_choice();

// For long runs (the trainer calls it before every epoch): when the count was not set explicitly,
// counts the busy cores again and moves to the free ones. Returns a line saying what changed, or
// "" when nothing did.
std::string adapt_threads_to_load();

// Runnable threads of other processes right now: /proc/stat's procs_running (every runnable
// thread on the machine, this one included) less this process's own running threads; the least
// of a few samples a millisecond apart, so that a short-lived process is not counted. 0 where
// /proc cannot be read. The default thread count uses it only when this process may run on every
// core of the machine (the count is machine-wide; under taskset or a cpuset it says nothing about
// the cores we have).
int busy_cores_elsewhere();
// The most threads --threads / SEQNET_THREADS may ask for: far above any core count seqnet runs
// on, low enough that a typo (100000) is caught instead of spawning a pool that size.
inline constexpr int kMaxThreads = 1024;
void set_num_threads(int n);  // 1 <= n <= kMaxThreads
int num_threads();
void enable_flush_denormals();  // FTZ + DAZ on all OpenMP threads (and the caller)

struct BlasInfo {
  std::string library;  // path of the shared object that provides cblas_sgemm
  std::string config;   // openblas_get_config(), if OpenBLAS
  std::string parallel; // "openmp", "pthreads", "sequential" or "unknown"
  int threads = 0;      // openblas_get_num_threads(), if OpenBLAS
};
BlasInfo blas_info();

}  // namespace seqnet
