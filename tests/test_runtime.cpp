// core/runtime: the load-aware default thread count.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/runtime.h"

using namespace seqnet;

// A process that keeps a core busy must be seen as one (other tests running beside this one can
// only add to the count, so "at least one" is what can be asserted).
TEST(Runtime, AProcessSpinningElsewhereIsCounted) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // spin for at most 10 s; the parent kills it sooner
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    volatile unsigned long x = 0;
    while (std::chrono::steady_clock::now() < end) x = x + 1;
    _exit(0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let it get scheduled
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
  EXPECT_EQ(c.describe(), "2 (2 cores; set by SEQNET_THREADS / --threads)");
}
