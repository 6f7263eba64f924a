// Models and helpers shared by the serialization tests: a 2-3-1 MLP, a small CNN with
// batchnorm state (every attribute type the builtin ops use), and a test op with Int and
// String attributes (no builtin op has one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/builder.hpp"
#include "ops/op.hpp"

namespace plangrad::testing {

inline Model ser_mlp(std::uint64_t seed = 1) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2});
  Value h = b.relu(b.dense(x, 3, "fc1"), "act1");
  b.output(b.dense(h, 1, "fc2"));
  return b.build(seed);
}

// x[N,1,6,6] -> conv2d (2 filters, 3x3, pad 1) -> batchnorm -> relu -> max_pool2d 2x2
//   -> flatten [N,18] -> dense 3 "fc". Running statistics are set to non-trivial values.
inline Model ser_cnn(std::uint64_t seed = 7) {
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 1, 6, 6});
  Value w = b.parameter("conv.weight", {2, 1, 3, 3}, init::glorot_uniform());
  Value cb = b.parameter("conv.bias", {2}, init::torch_default(9));
  Value c = b.op("conv2d", {x, w, cb},
                 {{"stride", std::vector<std::int64_t>{1, 1}}, {"padding", std::vector<std::int64_t>{1, 1}}},
                 "conv");
  Value g = b.parameter("bn.gamma", {2}, init::constant(1.5));
  Value be = b.parameter("bn.beta", {2}, init::constant(-0.25));
  Value rm = b.state("bn.running_mean", {2}, init::zeros());
  Value rv = b.state("bn.running_var", {2}, init::constant(1.0));
  Value bn = b.op("batchnorm", {c, g, be, rm, rv}, {{"eps", 1e-3}, {"momentum", 0.1}}, "bn");
  Value r = b.relu(bn, "relu");
  Value p = b.op("max_pool2d", {r}, {{"kernel", std::vector<std::int64_t>{2, 2}}}, "pool");
  Value f = b.op("flatten", {p}, {}, "flat");
  b.output(b.dense(f, 3, "fc"));
  Model m = b.build(seed);
  m.state.at("bn.running_mean") = Tensor<float>({2}, {0.3125f, -0.7f});
  m.state.at("bn.running_var") = Tensor<float>({2}, {2.5f, 0.123456789f});
  return m;
}

namespace ser_detail {
template <class T>
void identity_forward(const OpArgs<T>& a) {
  for (std::size_t i = 0; i < a.out[0].size(); ++i) a.out[0][i] = a.in[0][i];
}
inline std::vector<Shape> identity_shape(const std::vector<Shape>& in, const Attrs&) { return {in[0]}; }
}  // namespace ser_detail

// "ser_tagged": identity with an Int attribute "k" (required) and a String "label".
inline void register_tagged_op() {
  if (lookup_op("ser_tagged")) return;
  OpDef d;
  d.name = "ser_tagged";
  d.inputs = {"x"};
  d.outputs = {"y"};
  d.attrs = {{"k", AttrType::Int, true, std::int64_t{0}},
             {"label", AttrType::String, false, std::string("none")}};
  d.shape = ser_detail::identity_shape;
  d.differentiable = {true};
  d.backward_reads_in = {false};
  d.backward_reads_out = {false};
  d.f32.forward = &ser_detail::identity_forward<float>;
  d.f64.forward = &ser_detail::identity_forward<double>;
  register_op(std::move(d));
}

// x[N,2] -> ser_tagged(k=3, label="hello") "t" -> dense 1 "fc"
inline Model ser_tagged_model() {
  register_tagged_op();
  GraphBuilder b;
  Value x = b.input("x", {kBatchDim, 2});
  Value t = b.op("ser_tagged", {x}, {{"k", std::int64_t{3}}, {"label", std::string("hello")}}, "t");
  b.output(b.dense(t, 1, "fc"));
  return b.build(3);
}

}  // namespace plangrad::testing
