// Ctrl-C as a request to stop rather than a kill: while an InterruptGuard lives, SIGINT
// sets interrupt_flag() and the program carries on to a point where it can stop cleanly
// (fit finishes the step, checkpoints and returns). A second Ctrl-C kills as usual
// (SA_RESETHAND), so a program that never looks at the flag can still be stopped.
#pragma once

#include <csignal>

namespace plangrad {

// The process-wide flag the handler sets; tests may set it too.
volatile std::sig_atomic_t& interrupt_flag();

// Clears the flag; with `enable`, installs the handler for the guard's lifetime and puts
// the previous one back when it ends. Without `enable` (or when sigaction fails) the
// flag stays clear unless someone else sets it.
class InterruptGuard {
 public:
  explicit InterruptGuard(bool enable);
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  static bool requested() { return interrupt_flag() != 0; }

 private:
  bool enabled_;
  struct sigaction previous_ {};
};

}  // namespace plangrad
