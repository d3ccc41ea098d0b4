// train/loop/interrupt.h — stopping a training run cleanly on Ctrl-C (SIGINT) or SIGTERM.
//
// While a StopOnSignal object lives (run_training holds one), the first SIGINT / SIGTERM only
// records a stop request; the loop polls it at safe points — after an optimiser step, between
// evaluation batches, after an epoch's checkpoints are written — and throws Interrupted there.
// Nothing is written after the request, so last.safetensors stays the intact checkpoint of the
// last finished epoch and `seqnet train --resume` continues from it. A second signal restores
// the default action and re-raises it: the process dies at once (the checkpoint files are still
// safe, since every write goes through a temporary file and a rename).
//
// The request is the one piece of global state here: a signal handler has nowhere else to put it.
#pragma once
#include "core/error.h"

namespace seqnet {

struct Interrupted : Error {
  Interrupted(const std::string& what, int sig) : Error(what), signal(sig) {}
  int signal;  // SIGINT or SIGTERM
};

class StopOnSignal {
 public:
  StopOnSignal();   // installs the handlers (nested objects share them) and clears old requests
  ~StopOnSignal();  // restores the previous handlers
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;
};

// The signal that asked to stop (SIGINT or SIGTERM), or 0.
int stop_requested();
// Records a stop request as the handler does (tests; a second call does not kill).
void request_stop(int sig);
// Throws Interrupted("<where>: stopped by SIGINT ...") when a stop was requested.
void throw_if_stop_requested(const char* where);

}  // namespace seqnet
