// The message of the typed error (core/errors.hpp) that some code throws, for tests that
// check what an error says.
#pragma once

#include <string>
#include <typeinfo>
#include <catch2/catch.hpp>

namespace plangrad::testing {

// The what() of the E that f() throws; a test failure, and "", when it throws none. Any
// other exception escapes and fails the test.
template <class E, class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL_CHECK("expected an exception of type " << typeid(E).name());
  return {};
}

}  // namespace plangrad::testing
