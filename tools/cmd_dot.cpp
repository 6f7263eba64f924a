// plangrad dot MODEL.json: the model's graph in Graphviz DOT (pipe into `dot -Tsvg`).
#include <cstdio>

#include "core/errors.hpp"
#include "cli/flags.hpp"
#include "serialization/model_json.hpp"
#include "serialization/model_summary.hpp"
#include "networks/builtin.hpp"
#include "tools/commands.hpp"

namespace plangrad::cli {

int cmd_dot(const Args& args) {
  Flags flags(args);
  if (flags.has("--help")) {
    std::printf(
        "usage: plangrad dot MODEL.json > model.dot\n"
        "       plangrad dot --builtin NAME > model.dot   (%s)\n"
        "Prints the graph in Graphviz DOT: inputs, parameters and state as distinct shapes,\n"
        "nodes labelled with op and name, edges with the shape they carry (the batch as N).\n",
        models::builtin_names());
    return 0;
  }
  const std::string builtin = flags.get("--builtin", "");
  flags.finish();
  if (!builtin.empty()) {
    if (!flags.positional().empty()) throw UsageError("give a model file or --builtin NAME, not both");
    std::fputs(model_dot(models::builtin_model(builtin, /*seed=*/1)).c_str(), stdout);
    return 0;
  }
  if (flags.positional().size() != 1)
    throw UsageError("expected one model file (plangrad dot MODEL.json) or --builtin NAME, got " +
                     std::to_string(flags.positional().size()) + " arguments");
  std::fputs(model_dot(load_model(flags.positional().front())).c_str(), stdout);
  return 0;
}

}  // namespace plangrad::cli
