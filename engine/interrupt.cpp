#include "engine/interrupt.hpp"

namespace plangrad {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_sigint(int) { g_interrupted = 1; }

}  // namespace

volatile std::sig_atomic_t& interrupt_flag() { return g_interrupted; }

InterruptGuard::InterruptGuard(bool enable) : enabled_(enable) {
  g_interrupted = 0;
  if (!enabled_) return;
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  if (sigaction(SIGINT, &action, &previous_) != 0) enabled_ = false;
}

InterruptGuard::~InterruptGuard() {
  if (enabled_) sigaction(SIGINT, &previous_, nullptr);
}

}  // namespace plangrad
