#include "planner/plan.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/activity.hpp"
#include "core/checked.hpp"
#include "core/errors.hpp"
#include "core/limits.hpp"
#include "planner/fold_batchnorm.hpp"
#include "planner/winograd.hpp"

namespace plangrad {

const char* plan_kind_name(PlanKind kind) {
  switch (kind) {
    case PlanKind::Inference: return "inference";
    case PlanKind::Gradients: return "gradients";
    case PlanKind::Training: return "training";
  }
  return "?";
}

int Plan::tensor_of_value(const std::string& name) const {
  const int v = graph.find_value(name);
  return v < 0 ? -1 : schedule.value_tensor[static_cast<std::size_t>(v)];
}

int Plan::tensor_of_grad(const std::string& name) const {
  const int v = graph.find_value(name);
  return v < 0 ? -1 : schedule.grad_tensor[static_cast<std::size_t>(v)];
}

bool Plan::kept(int tensor) const {
  return std::find(schedule.keep.begin(), schedule.keep.end(), tensor) != schedule.keep.end();
}

namespace {

// The values a plan keeps readable, and the loss (-1 in inference plans).
struct Roots {
  std::vector<int> keep;
  int loss = -1;
};

Roots roots_of(const IndexedGraph& g, const PlanRequest& request) {
  Roots r;
  for (const std::string& name : request.outputs) r.keep.push_back(g.require_value(name, "requested output"));
  if (request.kind != PlanKind::Inference) {
    if (!request.loss.empty()) r.loss = g.require_value(request.loss, "loss");
    else if (!g.outputs.empty()) r.loss = g.outputs.front();
    else throw GraphError("a training plan needs a loss: name one, or declare a graph output");
  } else if (r.keep.empty()) {
    r.keep = g.outputs;
    if (r.keep.empty()) throw GraphError("an inference plan needs outputs: name them, or declare graph outputs");
  }
  return r;
}

// May rewrite g (fold_batchnorm, winograd); `folded` counts the batchnorms it folded away.
Schedule schedule_of(IndexedGraph& g, const PlanRequest& request, Mode mode, const Roots& r, std::size_t& folded) {
  std::vector<int> roots = r.keep;
  if (r.loss >= 0) roots.push_back(r.loss);
  std::vector<int> order = prune(g, toposort(g), roots);
  // Only without a backward: the fold op has no gradient rule.
  if (request.fold_batchnorm && mode == Mode::Eval && request.kind == PlanKind::Inference) {
    FoldedGraph f = fold_batchnorm(std::move(g), std::move(order), r.keep);
    g = std::move(f.graph);
    order = std::move(f.order);
    folded = static_cast<std::size_t>(f.folded);
  }
  // Float plans only: a double plan is asked for when the last bits matter, and
  // conv2d_winograd is tuned for float (in double its transposes go element by element).
  if (request.winograd && mode == Mode::Eval && request.kind == PlanKind::Inference &&
      request.elem_bytes == sizeof(float)) {
    const std::vector<Shape> shapes = infer_shapes(g, order, request.batch);
    WinogradGraph w = winograd(std::move(g), std::move(order), shapes);
    g = std::move(w.graph);
    order = std::move(w.order);
  }
  const std::vector<Shape> shapes = infer_shapes(g, order, request.batch);
  // Plans with a backward keep every node (the gradients are conv2d's), and so every shape:
  // the op changes.
  if (request.winograd && r.loss >= 0 && request.elem_bytes == sizeof(float))
    g = winograd_training(std::move(g), order, shapes).graph;
  Schedule s = build_forward(g, order, shapes, mode, r.keep);
  if (r.loss >= 0) {
    BackwardRequest back;
    back.loss = r.loss;
    for (const std::string& name : request.input_gradients) back.inputs.push_back(g.require_value(name, "input"));
    back.update = request.kind == PlanKind::Training;
    back.keep_gradients = request.kind == PlanKind::Gradients;
    back.updates_last = request.updates_last;
    for (const std::string& name : request.frozen) {
      const int v = g.require_value(name, "frozen parameter");
      if (g.values[static_cast<std::size_t>(v)].role != ValueRole::Parameter)
        throw GraphError("'" + name + "' is frozen but is not a parameter");
      back.frozen.push_back(v);
    }
    s = build_backward(g, std::move(s), back);
  }
  return request.fuse ? fuse(g, std::move(s)) : std::move(s);
}

// Without reuse: the slots one after another.
OffsetAssignment side_by_side(const std::vector<BufferRequest>& buffers) {
  OffsetAssignment placed;
  placed.strategy = "naive";
  for (const BufferRequest& b : buffers) {
    placed.offsets.push_back(placed.arena_bytes);
    placed.arena_bytes += b.bytes;
  }
  return placed;
}

}  // namespace

std::vector<std::string> freeze_patterns(const Graph& graph, const std::vector<std::string>& patterns) {
  auto matches = [](const std::string& name, const std::string& pattern) {
    if (!pattern.empty() && pattern.back() == '*') return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
    return name == pattern;
  };
  std::vector<bool> used(patterns.size(), false);
  std::vector<std::string> names;
  for (const ValueDecl& v : graph.values) {
    if (v.kind != ValueKind::Parameter) continue;
    bool any = false;
    for (std::size_t i = 0; i < patterns.size(); ++i)
      if (matches(v.name, patterns[i])) any = used[i] = true;
    if (any) names.push_back(v.name);
  }
  for (std::size_t i = 0; i < patterns.size(); ++i)
    if (!used[i]) throw UsageError("freeze: '" + patterns[i] + "' names no parameter of the graph");
  return names;
}

Plan make_plan(const Graph& graph, const PlanRequest& request) {
  const Activity activity(std::string("planning a ") + plan_kind_name(request.kind) + " step at batch " +
                          std::to_string(request.batch));
  const auto start = std::chrono::steady_clock::now();
  Plan plan;
  plan.kind = request.kind;
  plan.mode = request.mode >= 0 ? static_cast<Mode>(request.mode)
                                : (request.kind == PlanKind::Inference ? Mode::Eval : Mode::Train);
  plan.elem_bytes = request.elem_bytes;
  plan.graph = index_graph(graph);
  const IndexedGraph& g = plan.graph;
  plan.schedule = schedule_of(plan.graph, request, plan.mode, roots_of(g, request), plan.stats.folded);
  const Schedule& s = plan.schedule;
  plan.live = liveness(g, s);
  plan.slots = assign_slots(g, s, plan.live, plan.elem_bytes, request.reuse_memory);

  std::vector<BufferRequest> buffers;
  // Every slot side by side, summed with checked arithmetic: a placement lies within it, so
  // no offset it computes can wrap.
  std::size_t all_bytes = 0;
  for (std::size_t k = 0; k < plan.slots.bytes.size(); ++k) {
    all_bytes = add_sizes(all_bytes, plan.slots.bytes[k]);
    buffers.push_back({plan.slots.bytes[k], 64, plan.slots.live[k].first, plan.slots.live[k].last});
  }
  const OffsetAssignment placed = request.reuse_memory ? assign_offsets(buffers) : side_by_side(buffers);
  plan.arena_bytes = placed.arena_bytes;
  if (plan.arena_bytes > all_bytes) throw std::logic_error("make_plan: an arena larger than its slots side by side");
  if (plan.arena_bytes > limits().arena_bytes)
    throw ShapeError(std::string("the ") + plan_kind_name(request.kind) + " plan at batch " + std::to_string(request.batch) +
                     " needs an arena of " + std::to_string(plan.arena_bytes) + " bytes, more than " +
                     limit_hint("arena-bytes", limits().arena_bytes));
  plan.offset.assign(s.tensors.size(), std::nullopt);
  for (std::size_t t = 0; t < s.tensors.size(); ++t)
    if (plan.slots.tensor_slot[t] >= 0) plan.offset[t] = placed.offsets[static_cast<std::size_t>(plan.slots.tensor_slot[t])];

  // The statistics compare against tensors, not slots: in-place sharing is part of the
  // win, and so is fusion: the naive baseline gives the tensors fuse merged away (the sum
  // z = x + b of a fused step, a fused relu's output, and their gradients) their own
  // buffers too.
  PlanStats& stats = plan.stats;
  std::size_t placed_tensors = 0;
  for (std::size_t t = 0; t < s.tensors.size(); ++t) {
    if (s.tensors[t].external()) continue;
    ++stats.tensors;
    stats.naive_bytes += padded_bytes(s.tensors[t], plan.elem_bytes);
    placed_tensors += plan.offset[t] ? 1 : 0;
  }
  stats.arena_bytes = plan.arena_bytes;
  stats.lower_bound_bytes = lower_bound_bytes(buffers);
  stats.slots = static_cast<std::size_t>(
      std::count_if(plan.slots.bytes.begin(), plan.slots.bytes.end(), [](std::size_t b) { return b > 0; }));
  stats.inplace = placed_tensors - stats.slots;
  stats.fused_away = stats.tensors - placed_tensors;
  stats.fused_steps = static_cast<std::size_t>(
      std::count_if(s.steps.begin(), s.steps.end(), [](const Step& st) { return st.fused >= 0; }));
  stats.strategy = placed.strategy;
  stats.planning_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return plan;
}

namespace {
std::string tensor_list(const Plan& p, const std::vector<int>& ids) {
  std::string s;
  for (int t : ids) {
    if (!s.empty()) s += ", ";
    s += t < 0 ? std::string("-") : p.schedule.tensors[static_cast<std::size_t>(t)].name;
  }
  return s;
}

std::string step_what(const Plan& p, const Step& step) {
  switch (step.kind) {
    case StepKind::Forward:
    case StepKind::Backward: {
      const NodeInfo& n = p.graph.nodes[static_cast<std::size_t>(step.node)];
      if (step.fused < 0) return n.op->name + " '" + n.name + "'";
      const NodeInfo& b = p.graph.nodes[static_cast<std::size_t>(step.fused)];
      if (relu_pool_fused(p.graph, step))
        return n.op->name + "+relu+" + b.op->name + " '" + n.name + "'+'" + b.name + "'";
      return b.op->name + "+" + n.op->name + " '" + b.name + "'+'" + n.name + "'";
    }
    case StepKind::Fill: return p.schedule.tensors[static_cast<std::size_t>(step.target)].name;
    case StepKind::Update: return p.schedule.tensors[static_cast<std::size_t>(step.target)].name;
  }
  return "";
}
}  // namespace

std::string plan_table(const Plan& p) {
  std::ostringstream os;
  os << plan_kind_name(p.kind) << " plan, mode " << (p.mode == Mode::Train ? "train" : "eval") << ", "
     << p.schedule.steps.size() << " steps\n";
  char line[512];
  std::snprintf(line, sizeof line, "%5s  %-9s %-32s %s\n", "step", "kind", "what", "reads -> writes");
  os << line;
  for (std::size_t i = 0; i < p.schedule.steps.size(); ++i) {
    const Step& st = p.schedule.steps[i];
    std::string io;
    if (st.kind == StepKind::Forward) io = tensor_list(p, st.in) + " -> " + tensor_list(p, st.out);
    else if (st.kind == StepKind::Backward) io = tensor_list(p, st.d_out) + " -> " + tensor_list(p, st.d_in);
    else if (st.kind == StepKind::Update) io = tensor_list(p, {st.grad}) + " -> " + tensor_list(p, {st.target});
    else io = "-> " + tensor_list(p, {st.target});
    std::snprintf(line, sizeof line, "%5zu  %-9s %-32s %s\n", i, step_kind_name(st.kind), step_what(p, st).c_str(), io.c_str());
    os << line;
  }
  os << "\ntensors\n";
  std::snprintf(line, sizeof line, "%-32s %-10s %-16s %6s %6s %10s %10s\n", "name", "role", "shape", "first", "last", "bytes", "offset");
  os << line;
  for (std::size_t t = 0; t < p.schedule.tensors.size(); ++t) {
    const TensorInfo& info = p.schedule.tensors[t];
    if (!p.offset[t]) continue;  // external, or fused away: not in the arena
    std::snprintf(line, sizeof line, "%-32s %-10s %-16s %6d %6d %10zu %10zu\n", info.name.c_str(), role_name(info.role),
                  shape_str(info.shape).c_str(), p.live[t].first, p.live[t].last, numel(info.shape) * p.elem_bytes, *p.offset[t]);
    os << line;
  }
  const PlanStats& s = p.stats;
  os << "\nnaive bytes        " << s.naive_bytes << "\narena bytes        " << s.arena_bytes
     << "\nlower bound bytes  " << s.lower_bound_bytes << "\narena / lower bound "
     << (s.lower_bound_bytes ? static_cast<double>(s.arena_bytes) / static_cast<double>(s.lower_bound_bytes) : 0.0)
     << "\narena / naive      "
     << (s.naive_bytes ? static_cast<double>(s.arena_bytes) / static_cast<double>(s.naive_bytes) : 0.0)
     << "\ntensors            " << s.tensors << " in " << s.slots << " slots (" << s.inplace << " in place, "
     << s.fused_away << " fused away)\nfused steps        " << s.fused_steps
     << "\nfolded batchnorms  " << s.folded
     << "\nstrategy           " << s.strategy << "\nplanning ms        " << s.planning_ms << "\n";
  return os.str();
}

std::string plan_json(const Plan& p) {
  nlohmann::json steps = nlohmann::json::array();
  for (const Step& st : p.schedule.steps) {
    nlohmann::json j{{"kind", step_kind_name(st.kind)}, {"what", step_what(p, st)}};
    auto names = [&](const std::vector<int>& ids) {
      nlohmann::json a = nlohmann::json::array();
      for (int t : ids) a.push_back(t < 0 ? nlohmann::json() : nlohmann::json(p.schedule.tensors[static_cast<std::size_t>(t)].name));
      return a;
    };
    if (st.kind == StepKind::Forward) { j["reads"] = names(st.in); j["writes"] = names(st.out); }
    if (st.kind == StepKind::Backward) { j["reads"] = names(st.d_out); j["writes"] = names(st.d_in); }
    if (st.kind == StepKind::Update) { j["reads"] = names({st.grad}); j["writes"] = names({st.target}); }
    if (st.kind == StepKind::Fill) j["writes"] = names({st.target});
    steps.push_back(std::move(j));
  }
  nlohmann::json tensors = nlohmann::json::array();
  for (std::size_t t = 0; t < p.schedule.tensors.size(); ++t) {
    const TensorInfo& info = p.schedule.tensors[t];
    if (!p.offset[t]) continue;  // external, or fused away: not in the arena
    tensors.push_back({{"name", info.name}, {"role", role_name(info.role)}, {"shape", info.shape},
                       {"first", p.live[t].first}, {"last", p.live[t].last},
                       {"bytes", numel(info.shape) * p.elem_bytes}, {"offset", *p.offset[t]}});
  }
  const PlanStats& s = p.stats;
  nlohmann::json stats{{"naive_bytes", s.naive_bytes}, {"arena_bytes", s.arena_bytes},
                       {"lower_bound_bytes", s.lower_bound_bytes},
                       {"arena_over_lower_bound", s.lower_bound_bytes ? double(s.arena_bytes) / double(s.lower_bound_bytes) : 0.0},
                       {"arena_over_naive", s.naive_bytes ? double(s.arena_bytes) / double(s.naive_bytes) : 0.0},
                       {"tensors", s.tensors}, {"slots", s.slots}, {"inplace", s.inplace},
                       {"fused_away", s.fused_away}, {"fused_steps", s.fused_steps}, {"folded", s.folded},
                       {"strategy", s.strategy}, {"planning_ms", s.planning_ms}};
  nlohmann::json out{{"kind", plan_kind_name(p.kind)}, {"mode", p.mode == Mode::Train ? "train" : "eval"},
                     {"steps", std::move(steps)}, {"tensors", std::move(tensors)}, {"stats", std::move(stats)}};
  return out.dump(2);
}

}  // namespace plangrad
