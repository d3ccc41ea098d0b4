#include "core/runtime.h"

#include <dlfcn.h>
#include <unistd.h>
#include <omp.h>
#include <xmmintrin.h>
#include <pmmintrin.h>

#include <cblas.h>
#include <dirent.h>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

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
ThreadChoice g_choice;

// procs_running from /proc/stat (-1 when unreadable).
int procs_running() {
  std::ifstream f("/proc/stat");
  std::string key;
  long long value = 0;
  int lines = 0;
  while (f >> key && ++lines < 4096) {
    if (key == "procs_running") return f >> value && value >= 0 && value < (1 << 20) ? int(value) : -1;
    f.ignore(1 << 16, '\n');
  }
  return -1;
}

// Threads of this process in state R (running or runnable), from /proc/self/task/*/stat.
int own_running_threads() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/stat");
      std::string line;
      if (!std::getline(f, line)) continue;
      const size_t close = line.rfind(')');  // the state follows the parenthesised command name
      if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'R') ++n;
    }
    closedir(d);
  }
  return std::max(n, 1);  // at least the thread that is reading
}
}  // namespace

// /proc/stat's count is the whole machine's; it only says something about our cores when this
// process may run on all of them (no taskset / cpuset / container CPU limit narrower than that).
static bool whole_machine() { return omp_get_num_procs() == int(sysconf(_SC_NPROCESSORS_ONLN)); }

int busy_cores_elsewhere() {
  int least = -1;
  for (int sample = 0; sample < 3; ++sample) {
    if (sample) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const int all = procs_running();
    if (all < 0) return 0;
    const int others = std::max(0, all - own_running_threads());
    least = least < 0 ? others : std::min(least, others);
  }
  return std::max(least, 0);
}

std::string ThreadChoice::describe() const {
  if (explicit_count)
    return fmt::format("{} ({} cores; set by SEQNET_THREADS / --threads / OMP_NUM_THREADS)", threads, cores);
  if (busy_elsewhere > 0)
    return fmt::format("{} ({} cores, {} busy with other processes at start-up; --threads N to override)", threads,
                       cores, busy_elsewhere);
  return fmt::format("{} ({} cores)", threads, cores);
}

const ThreadChoice& thread_choice() { return g_choice; }

std::string adapt_threads_to_load() {
  if (!g_initialised || g_choice.explicit_count || g_choice.cores <= 1 || !whole_machine()) return "";
  const int busy = busy_cores_elsewhere();
  const int want = std::clamp(g_choice.cores - busy, 1, kMaxThreads);
  if (want == g_choice.threads) return "";
  const int before = g_choice.threads;
  set_num_threads(want);
  g_choice.explicit_count = false;  // still the load-aware default
  g_choice.busy_elsewhere = busy;
  return fmt::format("threads {} → {} ({} of {} cores busy with other processes)", before, want, busy, g_choice.cores);
}

void enable_flush_denormals() {
  auto set = [] { _mm_setcsr(_mm_getcsr() | 0x8040); };  // FTZ (bit 15) | DAZ (bit 6)
  set();
#pragma omp parallel
  set();
}

void set_num_threads(int n) {
  check(n >= 1 && n <= kMaxThreads, "set_num_threads: the thread count must be from 1 to {}, got {}", kMaxThreads, n);
  omp_set_num_threads(n);
  g_choice.threads = n;
  g_choice.explicit_count = true;  // a call after init_runtime is a program's own choice
  if (auto f = blas_symbol<void (*)(int)>("openblas_set_num_threads")) f(n);
  enable_flush_denormals();
}

int num_threads() { return omp_get_max_threads(); }

void init_runtime() {
  if (g_initialised) return;
  g_initialised = true;
  ThreadChoice c;
  c.cores = std::max(1, omp_get_num_procs());
  int n = std::min(omp_get_max_threads(), kMaxThreads);
  if (const char* env = std::getenv("SEQNET_THREADS"); env && *env) {
    n = int(parse_int(env, "SEQNET_THREADS (the CPU thread count)", 1, kMaxThreads));
    c.explicit_count = true;
  } else if (const char* omp = std::getenv("OMP_NUM_THREADS"); omp && *omp) {
    c.explicit_count = true;  // OpenMP's own variable, already in omp_get_max_threads()
  } else if (n > 1 && whole_machine()) {
    c.busy_elsewhere = busy_cores_elsewhere();
    n = std::max(1, std::min(n, c.cores - c.busy_elsewhere));
  }
  g_choice = c;
  set_num_threads(n);
  g_choice.explicit_count = c.explicit_count;  // (set_num_threads marks later calls explicit)
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
