// core/runtime.h — process-wide compute settings: threads, denormals, which BLAS is loaded.
//
// One thread pool: our kernels use OpenMP, and we link the OpenMP build of OpenBLAS, so GEMMs
// run on the same OpenMP threads. set_num_threads() sets both; SEQNET_THREADS (environment)
// gives the default. Flush-to-zero / denormals-are-zero is switched on in every compute thread
// (denormal floats in transient tensors cost PyTorch's word Seq-U-Net up to 3x).
#pragma once
#include <string>

namespace seqnet {

// Reads SEQNET_THREADS (default: OpenMP's default, i.e. the number of cores), sets OpenMP and
// OpenBLAS to it and enables FTZ/DAZ on every pool thread. Idempotent; call at program start.
void init_runtime();
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
