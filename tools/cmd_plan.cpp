// plangrad plan: the memory plan of a model — the step table and the arena statistics.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "cli/flags.hpp"
#include "planner/plan.hpp"
#include "serialization/model_json.hpp"
#include "serialization/model_summary.hpp"
#include "networks/builtin.hpp"
#include "tools/commands.hpp"

namespace plangrad::cli {
namespace {

const Shape& shape_of(const std::map<std::string, Shape>& shapes, const std::string& name, const char* flag) {
  const auto it = shapes.find(name);
  if (name.empty() || it == shapes.end())
    throw UsageError(std::string(flag) + ": the graph has no value '" + name + "'");
  return it->second;
}

}  // namespace

int cmd_plan(const Args& args) {
  Flags flags(args);
  if (flags.has("--help")) {
    std::printf(
        "usage: plangrad plan [MODEL.json | --builtin NAME] [--kind training|gradients|inference]\n"
        "                     [--loss NAME] [--output NAME[,NAME...]] [--batch N] [--naive] [--no-fuse]\n"
        "                     [--no-winograd] [--json]\n"
        "Plans a model file or a built-in example graph (without either: --builtin circle) and\n"
        "prints the plan's steps, every tensor's live range and arena offset, and the statistics:\n"
        "naive bytes, arena bytes, lower bound, their ratios and the planning time.\n"
        "  --builtin   %s\n"
        "  --kind      training (forward + backward + updates, the default), gradients or inference\n"
        "  --loss      the scalar to differentiate (default: the graph's first scalar output)\n"
        "  --output    values to compute in an inference plan (default: the graph's non-scalar\n"
        "              outputs), or to keep readable after a training or gradients plan\n"
        "  --batch     binds the symbolic batch N (default 100)\n"
        "  --naive     every tensor its own buffer, no in-place ops (the baseline)\n"
        "  --no-fuse   every node its own steps (by default an add_bias and the activation\n"
        "              after it run as one step, and so do a relu and the max_pool2d after\n"
        "              it, and a batchnorm (in inference a convolution), relu and 2x2\n"
        "              max_pool2d in a row)\n"
        "  --no-winograd  every conv2d direct (by default, in float plans, a 3x3 stride-1 conv2d\n"
        "              with 8 channels, 8 filters and 128 outputs per filter or more runs by\n"
        "              Winograd's F(2x2, 3x3): conv2d_winograd in inference,\n"
        "              conv2d_by_winograd with a backward)\n"
        "  --json      the same as one JSON document\n",
        models::builtin_names());
    return 0;
  }
  const std::string builtin = flags.get("--builtin", "");
  const std::string kind = flags.get("--kind", "training");
  const std::string loss = flags.get("--loss", "");
  const std::string output = flags.get("--output", "");
  const auto batch = flags.get_int("--batch", 100, 1, 1 << 24);
  const bool naive = flags.has("--naive");
  const bool no_fuse = flags.has("--no-fuse");
  const bool no_winograd = flags.has("--no-winograd");
  const bool json = flags.has("--json");
  flags.finish();
  const std::vector<std::string>& files = flags.positional();
  if (files.size() > 1) throw UsageError("expected at most one model file, got " + std::to_string(files.size()) + " arguments");
  if (!files.empty() && !builtin.empty())
    throw UsageError("give a model file or --builtin NAME, not both");

  PlanRequest request;
  if (kind == "training") request.kind = PlanKind::Training;
  else if (kind == "gradients") request.kind = PlanKind::Gradients;
  else if (kind == "inference") request.kind = PlanKind::Inference;
  else throw UsageError("--kind must be training, gradients or inference, got '" + kind + "'");
  if (!loss.empty() && request.kind == PlanKind::Inference)
    throw UsageError("--loss applies to training and gradients plans, not to --kind inference");

  const Graph graph = files.empty() ? models::builtin_graph(builtin.empty() ? "circle" : builtin) : load_model(files.front()).graph;
  const std::map<std::string, Shape> shapes = symbolic_shapes(graph);

  if (!output.empty()) {
    for (const std::string& name : split_commas(output)) {
      shape_of(shapes, name, "--output");
      request.outputs.push_back(name);
    }
  }
  if (request.kind == PlanKind::Inference) {
    if (request.outputs.empty()) request.outputs = default_inference_outputs(graph, shapes);
    if (request.outputs.empty())
      throw UsageError("the graph declares no outputs: name the values to compute with --output NAME[,NAME...]");
  } else {
    request.loss = loss;
    if (!loss.empty() && !shape_of(shapes, loss, "--loss").empty())
      throw UsageError("--loss: '" + loss + "' is " + shape_str(shapes.at(loss)) + ", not a scalar");
    if (loss.empty())
      for (const std::string& out : graph.outputs)
        if (shape_of(shapes, out, "graph output").empty()) {
          request.loss = out;
          break;
        }
    if (request.loss.empty())
      throw UsageError("the graph has no scalar output to differentiate: name one with --loss NAME, "
                       "or plan --kind inference");
  }
  request.batch = batch;
  request.reuse_memory = !naive;
  request.fuse = !no_fuse;
  request.winograd = !no_winograd;
  const Plan plan = make_plan(graph, request);
  std::fputs((json ? plan_json(plan) + "\n" : plan_table(plan)).c_str(), stdout);
  return 0;
}

}  // namespace plangrad::cli
