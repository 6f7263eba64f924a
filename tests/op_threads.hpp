// The op threads (kernels/parallel.hpp) set for a scope: a test that fails part-way still
// hands the next test the default, following OpenBLAS.
#pragma once

#include "kernels/parallel.hpp"

namespace plangrad::testing {

struct OpThreads {
  explicit OpThreads(int n) { set_op_threads(n); }
  ~OpThreads() { set_op_threads(0); }
  OpThreads(const OpThreads&) = delete;
  OpThreads& operator=(const OpThreads&) = delete;
};

}  // namespace plangrad::testing
