// libFuzzer target: model_from_json on arbitrary bytes must either return a model or throw
// a plangrad::Error; anything else (a crash, a sanitizer report, another exception) is a bug.
// Build and run with scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.hpp"
#include "serialization/model_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const plangrad::Model model = plangrad::model_from_json(text, "fuzz");
    // A document that loads must write back and load again to the same text.
    const std::string once = plangrad::model_to_json(model);
    const std::string twice = plangrad::model_to_json(plangrad::model_from_json(once, "fuzz-again"));
    if (once != twice) __builtin_trap();
  } catch (const plangrad::Error&) {
  }
  return 0;
}
