// plangrad inspect MODEL.json: the model's nodes, output shapes and parameter counts.
#include <cstdio>

#include "core/errors.hpp"
#include "cli/flags.hpp"
#include "serialization/checkpoint_json.hpp"
#include "serialization/model_summary.hpp"
#include "tools/commands.hpp"

namespace plangrad::cli {

int cmd_inspect(const Args& args) {
  Flags flags(args);
  if (flags.has("--help")) {
    std::printf(
        "usage: plangrad inspect MODEL.json\n"
        "Loads the model (strictly: a bad file is an error naming the JSON path) and prints one\n"
        "line per node: name, op, output shapes (the batch as N) and parameter count; then totals.\n");
    return 0;
  }
  flags.finish();
  if (flags.positional().size() != 1)
    throw UsageError("expected one model file (plangrad inspect MODEL.json), got " +
                     std::to_string(flags.positional().size()) + " arguments");
  const JsonModelDocument doc = load_json_model_document(flags.positional().front());
  std::fputs(model_table(doc.model).c_str(), stdout);
  if (doc.training.is_object())
    std::printf("training:   %zu entries (%s)\n", doc.training.size(),
                doc.training.empty() ? "" : doc.training.begin().key().c_str());
  return 0;
}

}  // namespace plangrad::cli
