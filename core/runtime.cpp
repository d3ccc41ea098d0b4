#include "core/runtime.h"

#include <dlfcn.h>
#include <omp.h>
#include <xmmintrin.h>
#include <pmmintrin.h>

#include <cblas.h>
#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/numbers.h"

namespace seqnet {

namespace {
// OpenBLAS extensions, looked up at run time so that seqnet also runs (slowly) on another BLAS.
template <typename F>
F blas_symbol(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}
bool g_initialised = false;
}  // namespace

void enable_flush_denormals() {
  auto set = [] { _mm_setcsr(_mm_getcsr() | 0x8040); };  // FTZ (bit 15) | DAZ (bit 6)
  set();
#pragma omp parallel
  set();
}

void set_num_threads(int n) {
  check(n >= 1 && n <= kMaxThreads, "set_num_threads: the thread count must be from 1 to {}, got {}", kMaxThreads, n);
  omp_set_num_threads(n);
  if (auto f = blas_symbol<void (*)(int)>("openblas_set_num_threads")) f(n);
  enable_flush_denormals();
}

int num_threads() { return omp_get_max_threads(); }

void init_runtime() {
  if (g_initialised) return;
  g_initialised = true;
  int n = std::min(omp_get_max_threads(), kMaxThreads);
  if (const char* env = std::getenv("SEQNET_THREADS"); env && *env)
    n = int(parse_int(env, "SEQNET_THREADS (the CPU thread count)", 1, kMaxThreads));
  set_num_threads(n);
}

BlasInfo blas_info() {
  BlasInfo info;
  Dl_info dl{};
  if (dladdr(reinterpret_cast<void*>(&cblas_sgemm), &dl) && dl.dli_fname) info.library = dl.dli_fname;
  // dladdr on the PLT stub can name our own binary; ask the loader for the real definition.
  if (void* p = dlsym(RTLD_DEFAULT, "cblas_sgemm"); p && dladdr(p, &dl) && dl.dli_fname) info.library = dl.dli_fname;
  if (auto f = blas_symbol<char* (*)()>("openblas_get_config")) info.config = f();
  info.parallel = "unknown";
  if (auto f = blas_symbol<int (*)()>("openblas_get_parallel")) {
    int p = f();
    info.parallel = p == 0 ? "sequential" : p == 1 ? "pthreads" : p == 2 ? "openmp" : "unknown";
  }
  if (auto f = blas_symbol<int (*)()>("openblas_get_num_threads")) info.threads = f();
  return info;
}

}  // namespace seqnet
