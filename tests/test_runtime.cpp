// core/runtime: the load-aware default thread count.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "core/runtime.h"

using namespace seqnet;

namespace {
// A child process that spins for at most 10 s (killed sooner by the test).
pid_t spin_elsewhere() {
  const pid_t child = fork();
  if (child == 0) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    volatile unsigned long x = 0;
    while (std::chrono::steady_clock::now() < end) x = x + 1;
    _exit(0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let it get scheduled
  return child;
}
}  // namespace

// A process that keeps a core busy must be seen as one (other tests running beside this one can
// only add to the count, so "at least one" is what can be asserted).
TEST(Runtime, AProcessSpinningElsewhereIsCounted) {
  const pid_t child = spin_elsewhere();
  ASSERT_GE(child, 0);
  int seen = 0;
  for (int attempt = 0; attempt < 20 && seen < 1; ++attempt) seen = busy_cores_elsewhere();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_GE(seen, 1);
}

TEST(Runtime, ThreadChoiceDescribesItself) {
  ThreadChoice c;
  c.threads = 1, c.cores = 2, c.busy_elsewhere = 1;
  EXPECT_EQ(c.describe(), "1 (2 cores, 1 busy with other processes at start-up; --threads N to override)");
  c.busy_elsewhere = 0, c.threads = 2;
  EXPECT_EQ(c.describe(), "2 (2 cores)");
  c.explicit_count = true;
  EXPECT_EQ(c.describe(), "2 (2 cores; set by SEQNET_THREADS / --threads / OMP_NUM_THREADS)");
}

// The load-aware default moves off a core that another process takes over (the trainer asks
// before every epoch). Other tests running beside this one can only take more cores, so "at most
// cores − 1 threads" is what can be asserted. (Under ctest each test runs in its own process, so
// setting the runtime up here changes no other test; /proc/stat counts runnable tasks, so the
// spinner is counted even while it waits for a core.)
TEST(Runtime, TheDefaultThreadCountLeavesABusyCoreAlone) {
  if (std::getenv("SEQNET_THREADS") || std::getenv("OMP_NUM_THREADS")) GTEST_SKIP() << "an explicit thread count is set";
  init_runtime();
  const int cores = thread_choice().cores;
  if (cores < 2) GTEST_SKIP() << "one core: nothing to leave";
  const pid_t child = spin_elsewhere();
  ASSERT_GE(child, 0);
  adapt_threads_to_load();
  const int threads = num_threads();
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_LE(threads, cores - 1);
  EXPECT_FALSE(thread_choice().explicit_count);
  EXPECT_EQ(thread_choice().threads, threads);
}
