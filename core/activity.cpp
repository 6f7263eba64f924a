#include "core/activity.hpp"

#include <cstring>
#include <exception>
#include <utility>

namespace plangrad {
namespace {
// A fixed buffer: the destructor that fills it may run while memory is exhausted.
thread_local char failed_what[256];
}  // namespace

// A new activity starts after any earlier exception was handled: forget that one.
Activity::Activity(std::string what) : what_(std::move(what)), uncaught_(std::uncaught_exceptions()) {
  failed_what[0] = '\0';
}

Activity::~Activity() {
  // Unwinding, and the first (innermost) activity to see this exception: record it.
  if (std::uncaught_exceptions() > uncaught_ && failed_what[0] == '\0') {
    std::strncpy(failed_what, what_.c_str(), sizeof failed_what - 1);
    failed_what[sizeof failed_what - 1] = '\0';
  }
}

std::string Activity::failed() { return failed_what; }
void Activity::clear() { failed_what[0] = '\0'; }

}  // namespace plangrad
