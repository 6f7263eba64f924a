// The plangrad command-line program's sub-commands, one file each (tools/cmd_*.cpp).
// Each takes the arguments after its name and returns the exit code; a bad flag or file
// throws plangrad::UsageError / the library's typed errors, which main reports on stderr.
#pragma once

#include <string>
#include <vector>

namespace plangrad::cli {

using Args = std::vector<std::string>;

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args& args);
};

int cmd_plan(const Args& args);
int cmd_inspect(const Args& args);
int cmd_dot(const Args& args);
int cmd_eval(const Args& args);
int cmd_train(const Args& args);
int cmd_prepare_mnist(const Args& args);
int cmd_predict(const Args& args);
int cmd_new(const Args& args);
int cmd_export_onnx(const Args& args);

}  // namespace plangrad::cli
