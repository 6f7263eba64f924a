// What the program was doing when an error without context of its own went through: an
// exhausted memory throws a bare std::bad_alloc from deep inside a step, and the report
// should say "out of memory while planning 'model.json' at batch 128", not
// "std::bad_alloc". Long operations (loading a file, planning, building an executor)
// declare themselves with an Activity; the innermost one an exception unwinds through is
// remembered, without allocating, for the top-level handler to read.
#pragma once

#include <string>

namespace plangrad {

class Activity {
 public:
  explicit Activity(std::string what);
  ~Activity();
  Activity(const Activity&) = delete;
  Activity& operator=(const Activity&) = delete;

  // The innermost activity the last exception unwound through ("" when none), and clear().
  static std::string failed();
  static void clear();

 private:
  std::string what_;
  int uncaught_;
};

}  // namespace plangrad
