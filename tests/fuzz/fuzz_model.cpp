// libFuzzer target: a model file from anyone, through everything a user does with it. On
// arbitrary bytes, loading either gives a model or throws a plangrad::Error; a model that
// loads writes back to the same text, and is planned and run one inference step and one
// training step on small inputs. Anything else (a crash, a sanitizer report, another
// exception such as std::bad_alloc) is a bug. Build and run with scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.hpp"
#include "serialization/model_json.hpp"
#include "tests/fuzz/fuzz_steps.hpp"

using namespace plangrad;
using plangrad::fuzzing::run_once;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  plangrad::fuzzing::small_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Model model;
  try {
    model = model_from_json(text, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  // A document that loads must write back and load again to the same text.
  const std::string once = model_to_json(model);
  const std::string twice = model_to_json(model_from_json(once, "fuzz-again"));
  if (once != twice) __builtin_trap();
  for (PlanKind kind : {PlanKind::Inference, PlanKind::Training}) {
    try {
      run_once(model, kind);
    } catch (const Error&) {
    }
  }
  return 0;
}
