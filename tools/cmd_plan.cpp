// plangrad plan: the memory plan of a model — the step table and the arena statistics.
#include <cstdio>

#include "engine/builder.hpp"
#include "engine/errors.hpp"
#include "engine/flags.hpp"
#include "planner/plan.hpp"
#include "tools/commands.hpp"

namespace plangrad::cli {
namespace {

// The built-in example graphs, by name.
Graph builtin_graph(const std::string& name) {
  GraphBuilder b;
  if (name == "circle") {
    Value x = b.input("x", {kBatchDim, 2}), y = b.input("y", {kBatchDim, 2});
    Value h = b.relu(b.dense(x, 25, "fc1"));
    h = b.relu(b.dense(h, 25, "fc2"));
    h = b.relu(b.dense(h, 25, "fc3"));
    Value out = b.tanh(b.dense(h, 2, "fc4"), "out");
    b.output(b.mse_loss(out, y, "loss"));
    b.output(out);
  } else if (name == "residual") {
    Value x = b.input("x", {kBatchDim, 16}), labels = b.input("labels", {kBatchDim});
    Value h = b.relu(b.dense(x, 32, "fc1"));
    Value a = b.tanh(b.dense(h, 32, "fc2"));
    Value r = b.add(h, a, "residual");
    Value logits = b.dense(r, 10, "fc3");
    b.output(b.softmax_cross_entropy(logits, labels, "loss"));
    b.output(logits);
  } else if (name == "mlp8x256") {
    Value x = b.input("x", {kBatchDim, 256}), labels = b.input("labels", {kBatchDim});
    Value h = x;
    for (int i = 1; i <= 8; ++i) h = b.relu(b.dense(h, 256, "fc" + std::to_string(i)));
    Value logits = b.dense(h, 10, "out");
    b.output(b.softmax_cross_entropy(logits, labels, "loss"));
    b.output(logits);
  } else if (name == "mnist-mlp") {
    Value x = b.input("x", {kBatchDim, 784}), labels = b.input("labels", {kBatchDim});
    Value h = b.relu(b.dense(x, 256, "fc1"));
    h = b.relu(b.dense(h, 128, "fc2"));
    Value logits = b.dense(h, 10, "fc3");
    b.output(b.softmax_cross_entropy(logits, labels, "loss"));
    b.output(logits);
  } else {
    throw UsageError("unknown built-in model '" + name + "' (expected circle, residual, mlp8x256 or mnist-mlp)");
  }
  return b.graph();
}

}  // namespace

int cmd_plan(const Args& args) {
  Flags flags(args);
  if (flags.has("--help")) {
    std::printf(
        "usage: plangrad plan [--builtin circle|residual|mlp8x256|mnist-mlp] [--kind training|gradients|inference]\n"
        "                     [--batch N] [--naive] [--json]\n"
        "Prints the plan's steps, every tensor's live range and arena offset, and the statistics:\n"
        "naive bytes, arena bytes, lower bound, their ratios and the planning time.\n");
    return 0;
  }
  const std::string builtin = flags.get("--builtin", "circle");
  const std::string kind = flags.get("--kind", "training");
  const auto batch = flags.get_int("--batch", 100, 1, 1 << 24);
  const bool naive = flags.has("--naive");
  const bool json = flags.has("--json");
  flags.finish();
  if (!flags.positional().empty())
    throw UsageError("unexpected argument '" + flags.positional().front() + "'");

  const Graph graph = builtin_graph(builtin);
  PlanRequest request;
  if (kind == "training") request.kind = PlanKind::Training;
  else if (kind == "gradients") request.kind = PlanKind::Gradients;
  else if (kind == "inference") request.kind = PlanKind::Inference;
  else throw UsageError("--kind must be training, gradients or inference, got '" + kind + "'");
  if (request.kind == PlanKind::Inference) request.outputs = {graph.outputs.back()};
  else request.loss = graph.outputs.front();
  request.batch = batch;
  request.reuse_memory = !naive;
  const Plan plan = make_plan(graph, request);
  std::fputs((json ? plan_json(plan) + "\n" : plan_table(plan)).c_str(), stdout);
  return 0;
}

}  // namespace plangrad::cli
