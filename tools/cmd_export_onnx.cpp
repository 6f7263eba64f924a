// plangrad export-onnx MODEL.json OUT.onnx: a model's inference graph as an ONNX file
// (onnx/onnx.hpp's save_onnx; docs/onnx.md). A program built without ONNX says so.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/flags.hpp"
#include "cli/output_paths.hpp"
#include "core/errors.hpp"
#include "serialization/model_json.hpp"
#include "tools/commands.hpp"
#ifdef PLANGRAD_HAVE_ONNX
#include "onnx/onnx.hpp"
#endif

namespace plangrad::cli {
namespace {

const char* const kHelp =
    "usage: plangrad export-onnx MODEL.json OUT.onnx [--opset 13..17] [--batch N] [--output NAME[,NAME...]]\n"
    "Writes the model's inference graph as an ONNX file that passes ONNX's checker (docs/onnx.md):\n"
    "the losses and their label inputs dropped, parameters and batchnorm's running statistics as\n"
    "initializers, plangrad's node and value names kept. OUT.onnx is written whole or not at all.\n"
    "  --opset    the ONNX opset the file declares, 13 to 17 (default 17)\n"
    "  --batch    fixes the batch dimension (default: symbolic, named N)\n"
    "  --output   the values to export (default: the graph's non-scalar outputs, as\n"
    "             `plangrad plan --kind inference` picks them)\n";

}  // namespace

int cmd_export_onnx(const Args& args) {
  Flags flags(args);
  if (flags.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const auto opset = flags.get_int("--opset", 17, 13, 17);
  const auto batch = flags.get_int("--batch", 0, 1, 1 << 24);
  const std::string output = flags.get("--output", "");
  flags.finish();
#ifndef PLANGRAD_HAVE_ONNX
  (void)opset;
  (void)batch;
  (void)output;
  throw UsageError("this plangrad was built without ONNX support (protobuf and ONNX were not found): "
                   "bash scripts/setup.sh --onnx, then configure and build again");
#else
  if (flags.positional().size() != 2)
    throw UsageError("expected a model file and an output file (plangrad export-onnx MODEL.json OUT.onnx), got " +
                     std::to_string(flags.positional().size()) + " arguments");
  const std::string& model_path = flags.positional()[0];
  const std::string& out = flags.positional()[1];
  check_output_file("OUT.onnx", out, WriteMode::Replace);
  if (same_file(model_path, out)) throw UsageError("OUT.onnx " + out + " is the model file itself");

  OnnxExportOptions options;
  options.opset = static_cast<int>(opset);
  options.batch = batch;
  if (!output.empty()) {
    options.outputs = split_commas(output);
    for (const std::string& name : options.outputs)
      if (name.empty()) throw UsageError("--output '" + output + "': an empty name");
  }
  const Model model = load_model(model_path);
  save_onnx(model, out, options);
  std::printf("wrote %s (ONNX opset %d, batch %s)\n", out.c_str(), options.opset,
              batch > 0 ? std::to_string(batch).c_str() : "N");
  return 0;
#endif
}

}  // namespace plangrad::cli
