// train/loop/interrupt.cpp — the SIGINT / SIGTERM stop request (see the header).
#include "train/loop/interrupt.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <string>

namespace seqnet {

namespace {

std::atomic<int> g_request{0};  // lock-free, so safe to touch from a signal handler
int g_depth = 0;                // nesting of StopOnSignal (search → training)
struct sigaction g_old_int {}, g_old_term {};

void on_signal(int sig) {
  if (g_request.exchange(sig) != 0) {  // second signal: die the default way
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  static const char msg[] =
      "\nseqnet: stopping at the next safe point (the last checkpoint stays intact); signal again to kill\n";
  (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
}

}  // namespace

StopOnSignal::StopOnSignal() {
  if (g_depth++ > 0) return;
  g_request = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // a signal must not make a file write fail with EINTR
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopOnSignal::~StopOnSignal() {
  if (--g_depth > 0) return;
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

int stop_requested() { return g_request.load(std::memory_order_relaxed); }

void request_stop(int sig) { g_request = sig; }

void throw_if_stop_requested(const char* where) {
  const int sig = stop_requested();
  if (sig == 0) return;
  const std::string name = sig == SIGINT ? "SIGINT (Ctrl-C)" : sig == SIGTERM ? "SIGTERM" : fmt::format("signal {}", sig);
  throw Interrupted(fmt::format("{}: stopped by {}", where, name), sig);
}

}  // namespace seqnet
