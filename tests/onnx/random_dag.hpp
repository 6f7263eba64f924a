// Seeded random graphs from every op save_onnx maps, valid by construction: a small
// generator for the export tests. Each graph starts from one input (an image [N, C, H, W]
// or features [N, F]; sometimes a second input of the first's shape, joined by an add),
// grows 6 to 14 nodes, each taking a recent value and an op that fits its shape, and
// marks every value no node reads as an output.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "tests/random_values.hpp"

namespace plangrad::testing {

class RandomDag {
 public:
  explicit RandomDag(std::uint64_t seed) : rng_(seed) {}

  // The graph of `seed`, built with parameters from the same seed.
  Model make() {
    const bool image = coin(0.5);
    const Shape shape = image ? Shape{kBatchDim, dim(1, 3), dim(4, 8), dim(4, 8)} : Shape{kBatchDim, dim(2, 9)};
    Value x = b_.input("x", shape);
    pool_.push_back(x);
    if (coin(0.3)) {
      const Value x2 = b_.input("x2", shape);
      pool_.push_back(add_node({x, x2}, "add", {}));
    }
    const int steps = static_cast<int>(dim(6, 14));
    for (int i = 0; i < steps; ++i) step();
    // Every value no node reads is an output, so that no node is pruned away.
    std::set<std::string> read;
    for (const Node& n : b_.graph().nodes) read.insert(n.inputs.begin(), n.inputs.end());
    for (const Node& n : b_.graph().nodes)
      if (!read.count(n.outputs.front())) b_.output(Value{n.outputs.front()});
    return b_.build(rng_());
  }

 private:
  GraphBuilder b_;
  std::mt19937_64 rng_;
  std::vector<Value> pool_;
  int counter_ = 0;

  bool coin(double p) { return unit_uniform(rng_) < p; }
  Dim dim(Dim lo, Dim hi) { return lo + static_cast<Dim>(rng_() % static_cast<std::uint64_t>(hi - lo + 1)); }
  double real(double lo, double hi) { return lo + (hi - lo) * unit_uniform(rng_); }
  std::string name(const std::string& op) { return op + "_" + std::to_string(counter_++); }

  Value add_node(const std::vector<Value>& in, const std::string& op, Attrs attrs) {
    const Value v = b_.op(op, in, std::move(attrs), name(op));
    pool_.push_back(v);
    return v;
  }
  Value param(const std::string& what, Shape shape, Dim fan_in) {
    return b_.parameter(name(what), std::move(shape), init::torch_default(fan_in));
  }

  // One node on one of the three latest values.
  void step() {
    const std::size_t back = std::min<std::size_t>(pool_.size(), 3);
    const Value x = pool_[pool_.size() - 1 - static_cast<std::size_t>(dim(0, static_cast<Dim>(back) - 1))];
    const Shape s = b_.shape(x);
    for (int attempt = 0; attempt < 20; ++attempt)
      if (try_op(x, s)) return;
  }

  bool try_op(const Value& x, const Shape& s) {
    const Dim last = s.back();
    switch (dim(0, 17)) {
      case 0: add_node({x}, "relu", {}); return true;
      case 1: add_node({x}, "sigmoid", {}); return true;
      case 2: add_node({x}, "tanh", {}); return true;
      case 3: add_node({x}, "leaky_relu", {{"alpha", real(0.0, 0.3)}}); return true;
      case 4: add_node({x}, "gelu", {}); return true;
      case 5: add_node({x}, coin(0.5) ? "softmax" : "log_softmax", {}); return true;
      case 6: add_node({x}, "normalize", {{"mean", real(-1, 1)}, {"std", real(0.5, 2)}}); return true;
      case 7: add_node({x, param("bias", {last}, last)}, "add_bias", {}); return true;
      case 8: {  // the same shape elsewhere in the pool: a join
        for (const Value& y : pool_)
          if (y.name != x.name && b_.shape(y) == s) {
            add_node({x, y}, "add", {});
            return true;
          }
        return false;
      }
      case 9: {
        const Value g = b_.parameter(name("ln_gamma"), {last}, init::constant(1.0));
        const Value bt = b_.parameter(name("ln_beta"), {last}, init::zeros());
        add_node({x, g, bt}, "layer_norm", {{"eps", coin(0.5) ? 1e-5 : 1e-3}});
        return true;
      }
      case 10: {
        if (s.size() != 2 && s.size() != 4) return false;
        const Dim c = s[1];
        add_node({x, b_.parameter(name("bn_gamma"), {c}, init::constant(1.0)),
                  b_.parameter(name("bn_beta"), {c}, init::zeros()), b_.state(name("bn_mean"), {c}, init::zeros()),
                  b_.state(name("bn_var"), {c}, init::constant(1.0))},
                 "batchnorm", {{"eps", coin(0.5) ? 1e-5 : 1e-3}, {"momentum", 0.1}});
        return true;
      }
      case 11: add_node({x}, "dropout", {{"rate", real(0.0, 0.5)}}); return true;
      case 12: {  // along axis 1 (or -1), with a value of the same shape but there, else x twice
        const std::int64_t axis = coin(0.5) ? 1 : -1;
        const std::size_t a = axis == 1 ? 1 : s.size() - 1;
        if (s.size() < 2) return false;
        Value other = x;
        for (const Value& y : pool_) {
          const Shape t = b_.shape(y);
          bool fits = y.name != x.name && t.size() == s.size();
          for (std::size_t d = 0; fits && d < s.size(); ++d) fits = d == a || t[d] == s[d];
          if (fits) {
            other = y;
            break;
          }
        }
        add_node({x, other}, "concat", {{"axis", axis}});
        return true;
      }
      default: break;
    }
    return s.size() == 4 ? image_op(x, s) : s.size() == 2 ? feature_op(x, s) : sequence_op(x, s);
  }

  bool image_op(const Value& x, const Shape& s) {
    const Dim c = s[1], h = s[2], w = s[3];
    switch (dim(0, 6)) {
      case 0: {
        const Dim f = dim(1, 4), k = dim(1, 3), pad = dim(0, 1), stride = dim(1, 2);
        if (k > std::min(h, w) + 2 * pad) return false;
        const bool bias = coin(0.5);
        std::vector<Value> in{x, param("conv_w", {f, c, k, k}, c * k * k)};
        if (bias) in.push_back(param("conv_b", {f}, c * k * k));
        add_node(in, bias ? "conv2d" : "conv2d_nobias",
                 {{"stride", std::vector<std::int64_t>{stride, stride}},
                  {"padding", std::vector<std::int64_t>{pad, pad}}});
        return true;
      }
      case 1:
      case 2: {
        const bool avg = coin(0.5);
        const Dim k = dim(2, 3), pad = coin(0.3) ? 0 : dim(1, avg ? k / 2 : k - 1);
        if (k > std::min(h, w) + 2 * pad) return false;
        Attrs attrs{{"kernel", std::vector<std::int64_t>{k, k}}, {"padding", std::vector<std::int64_t>{pad, pad}}};
        if (coin(0.5)) attrs.set("stride", std::vector<std::int64_t>{dim(1, 2), dim(1, 2)});
        if (avg) attrs.set("count_include_pad", std::int64_t{coin(0.5) ? 1 : 0});
        add_node({x}, avg ? "avg_pool2d" : "max_pool2d", attrs);
        return true;
      }
      case 3: add_node({x}, "global_avg_pool2d", {}); return true;
      case 4: add_node({x}, "flatten", {}); return true;
      case 5: add_node({x}, "reshape", {{"shape", std::vector<std::int64_t>{-1, c, h * w}}}); return true;
      default: return false;
    }
  }

  bool feature_op(const Value& x, const Shape& s) {
    const Dim f = s[1];
    switch (dim(0, 3)) {
      case 0: {
        const Dim m = dim(2, 9);
        add_node({x, param("w", {f, m}, f)}, "matmul", {});
        return true;
      }
      case 1: {
        const Value mean = b_.state(name("std_mean"), {f}, init::zeros());
        const Value sd = b_.state(name("std_std"), {f}, init::constant(1.0));
        add_node({x, mean, sd}, "standardize", {{"inverse", std::int64_t{coin(0.5) ? 1 : 0}}});
        return true;
      }
      case 2: {  // [N, F] as images [N, 1, a, F/a] or sequences [N, a, F/a]
        for (Dim a = 2; a < f; ++a)
          if (f % a == 0) {
            const std::vector<std::int64_t> shape =
                coin(0.5) ? std::vector<std::int64_t>{-1, 1, a, f / a} : std::vector<std::int64_t>{-1, a, f / a};
            add_node({x}, "reshape", {{"shape", shape}});
            return true;
          }
        return false;
      }
      default: {
        const Dim m = dim(2, 9);
        add_node({x, param("w", {f, m}, f)}, "matmul", {});
        return true;
      }
    }
  }

  bool sequence_op(const Value& x, const Shape&) {
    add_node({x}, "flatten", {});
    return true;
  }
};

}  // namespace plangrad::testing
