// plangrad import-onnx IN.onnx OUT.json [--loss mse|softmax_cross_entropy|bce --labels NAME]:
// an ONNX inference graph (PyTorch's torch.onnx.export, say) as a plangrad model file,
// optionally with a loss so that `plangrad train` can fine-tune it (onnx/onnx.hpp).
#include <cstdio>
#include <string>

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
    "usage: plangrad import-onnx IN.onnx OUT.json [--loss mse|softmax_cross_entropy|bce]\n"
    "                            [--labels NAME]\n"
    "Reads an ONNX inference graph (opset 11 to 17: PyTorch's torch.onnx.export, say) and\n"
    "writes it as a plangrad model file: initializers become parameters, BatchNormalization\n"
    "statistics state, constant sub-graphs are folded; the first dimension of every input is\n"
    "the batch. docs/onnx.md lists the ONNX ops read. With --loss, the model's one output gets\n"
    "that loss against a new label input (--labels, default 'labels': [N] class indices for\n"
    "softmax_cross_entropy, the output's shape for mse and bce), so that `plangrad train` can\n"
    "fine-tune it. OUT.json is replaced if it exists.\n"
    "\n"
    "example:\n"
    "  plangrad import-onnx cnn.onnx cnn.json --loss softmax_cross_entropy\n"
    "  plangrad eval cnn.json --data data/fashion-mnist\n"
    "  plangrad train cnn.json --data data/fashion-mnist --epochs 1 --out tuned.json\n";

}  // namespace

int cmd_import_onnx(const Args& args) {
  if (args.empty()) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  Flags flags(args);
  if (flags.has("--help") || flags.has("-h")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string loss = flags.get("--loss", "");
  const std::string labels = flags.get("--labels", "");
  flags.finish();
  if (flags.positional().size() != 2)
    throw UsageError("expected IN.onnx and OUT.json (plangrad import-onnx IN.onnx OUT.json), got " +
                     std::to_string(flags.positional().size()) + " arguments");
  if (!loss.empty() && loss != "mse" && loss != "softmax_cross_entropy" && loss != "bce")
    throw UsageError("--loss takes mse, softmax_cross_entropy or bce, got '" + loss + "'");
  if (!labels.empty() && loss.empty()) throw UsageError("--labels names the label input of a loss; give --loss too");
  const std::string& in = flags.positional()[0];
  const std::string& out = flags.positional()[1];
#ifdef PLANGRAD_HAVE_ONNX
  check_output_file("OUT.json", out, WriteMode::Replace);
  if (same_file(in, out)) throw UsageError("OUT.json " + out + " is the input file " + in);
  const Model model = load_onnx(in, OnnxImportOptions{loss, labels});
  save_model(model, out);
  std::printf("wrote %s: %zu nodes, %zu parameters%s\n", out.c_str(), model.graph.nodes.size(),
              model.parameter_count(), loss.empty() ? "" : (", loss " + loss).c_str());
  return 0;
#else
  (void)in;
  (void)out;
  throw UsageError("this plangrad was built without ONNX support (bash scripts/setup.sh --onnx, then reconfigure "
                   "with -DPLANGRAD_ONNX=ON)");
#endif
}

}  // namespace plangrad::cli
