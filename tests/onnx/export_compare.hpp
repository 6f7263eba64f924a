// The export tests' one comparison: a model exported with save_onnx, run in ONNX Runtime
// (tests/onnx/ort.hpp), against plangrad's own inference plan (the Executor on an
// Eval-mode plan of the same outputs) on the same seeded inputs.
//
// The measure, per output and then the largest over the outputs:
//   max_i |ort_i - plangrad_i| / max(max_i |plangrad_i|, 1e-6)
// the largest error relative to the output's scale (normwise), so that a probability
// near 0 or a logit that happens to cross 0 does not count as a large relative error;
// the 1e-6 floor only guards an all-zero output.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "engine/executor.hpp"
#include "onnx/onnx.hpp"
#include "onnx/proto_io.hpp"
#include "planner/plan.hpp"
#include "tests/onnx/ort.hpp"
#include "tests/random_values.hpp"

namespace plangrad::testing {

// Every parameter moved by up to ±0.1 from its initial value (no bias left at 0), and
// every op's statistics off their identity values: batchnorm's
// gamma in [0.5, 1.5], beta and running mean in ±0.5, running variance in [0.5, 2];
// standardize's mean in ±1 and std in [0.5, 2].
inline void perturb(Model& model, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto uniform = [&](double lo, double hi) { return static_cast<float>(lo + (hi - lo) * unit_uniform(rng)); };
  for (auto& [name, t] : model.parameters)
    for (float& v : t) v += uniform(-0.1, 0.1);
  for (const Node& node : model.graph.nodes) {
    if (node.op == "batchnorm") {
      for (float& v : model.parameters.at(node.inputs[1])) v = uniform(0.5, 1.5);
      for (float& v : model.parameters.at(node.inputs[2])) v = uniform(-0.5, 0.5);
      for (float& v : model.state.at(node.inputs[3])) v = uniform(-0.5, 0.5);
      for (float& v : model.state.at(node.inputs[4])) v = uniform(0.5, 2.0);
    } else if (node.op == "standardize") {
      for (float& v : model.state.at(node.inputs[1])) v = uniform(-1.0, 1.0);
      for (float& v : model.state.at(node.inputs[2])) v = uniform(0.5, 2.0);
    }
  }
}

struct RoundTrip {
  double rel = 0.0;        // the measure above, the largest over the outputs
  std::string worst;       // the output it was found in
  std::size_t values = 0;  // output values compared
  // The plangrad ops the file holds (its nodes' doc strings), and for the pools whether
  // they pad: "avg_pool2d padded count_include_pad=0", say.
  std::set<std::string> ops;
};

inline double relative_difference(const std::vector<float>& ort, const float* ours, std::size_t n) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(ort[i]) - static_cast<double>(ours[i]));
    diff = std::isnan(d) ? INFINITY : std::max(diff, d);
    scale = std::max(scale, std::fabs(static_cast<double>(ours[i])));
  }
  return diff / std::max(scale, 1e-6);
}

// Exports `model` to `path` with `options`, feeds every input of the exported graph the
// same uniform values in [lo, hi) at `batch`, and compares every output of the file with
// plangrad's. A shape that differs, or an output missing on either side, throws.
inline RoundTrip round_trip(const Model& model, const std::string& path, const OnnxExportOptions& options,
                            std::int64_t batch, std::uint64_t seed, double lo = -2.0, double hi = 2.0) {
  save_onnx(model, path, options);
  const onnx::ModelProto proto = onnx_io::read_model(path);

  Model copy = model;
  PlanRequest request;
  request.kind = PlanKind::Inference;
  request.batch = batch;
  for (const auto& out : proto.graph().output()) request.outputs.push_back(out.name());
  Executor<float> executor(copy, make_plan(copy.graph, request));

  std::map<std::string, OrtTensor> feeds;
  for (const auto& in : proto.graph().input()) {
    TensorRef<float> ours = executor.input(in.name());
    OrtTensor t;
    t.dims.assign(ours.shape.begin(), ours.shape.end());
    t.values = random_values<float>(ours.size(), seed++, lo, hi);
    std::copy(t.values.begin(), t.values.end(), ours.data);
    feeds[in.name()] = std::move(t);
  }
  executor.run();
  const std::map<std::string, OrtTensor> ort = run_ort(path, feeds);

  RoundTrip r;
  for (const auto& node : proto.graph().node()) {
    const std::string& doc = node.doc_string();
    if (doc.rfind("plangrad op ", 0) == 0) r.ops.insert(doc.substr(12));
    std::string padded, include;
    for (const auto& a : node.attribute()) {
      if (a.name() == "pads")
        for (std::int64_t p : a.ints()) padded = p > 0 ? " padded" : padded;
      if (a.name() == "count_include_pad") include = " count_include_pad=" + std::to_string(a.i());
    }
    if (!padded.empty() && node.op_type() != "Conv") r.ops.insert(doc.substr(12) + padded + include);
  }
  for (const std::string& name : request.outputs) {
    const TensorRef<const float> ours = executor.value(name);
    const auto it = ort.find(name);
    if (it == ort.end()) throw std::runtime_error("ONNX Runtime gave no output '" + name + "'");
    if (!std::equal(ours.shape.begin(), ours.shape.end(), it->second.dims.begin(), it->second.dims.end()))
      throw std::runtime_error("output '" + name + "': ONNX Runtime's shape differs from plangrad's " +
                               shape_str(ours.shape));
    const double rel = relative_difference(it->second.values, ours.data, ours.size());
    if (rel >= r.rel) {
      r.rel = rel;
      r.worst = name;
    }
    r.values += ours.size();
  }
  return r;
}

}  // namespace plangrad::testing
