#include "tests/gradcheck.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <utility>
#include <xtensor/xio.hpp>

namespace plangrad::testing {
namespace {

using Buf = std::vector<double>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool has_type(const AttrValue& v, AttrType t) {
  switch (t) {
    case AttrType::Int: return std::holds_alternative<std::int64_t>(v);
    case AttrType::Float:  // an integer literal is a fine float
      return std::holds_alternative<double>(v) || std::holds_alternative<std::int64_t>(v);
    case AttrType::String: return std::holds_alternative<std::string>(v);
    case AttrType::Ints: return std::holds_alternative<std::vector<std::int64_t>>(v);
  }
  return false;
}

// The op's defaults overlaid with `given`, as the planner hands attributes to kernels.
Attrs normalize_attrs(const OpDef& def, const Attrs& given) {
  for (const auto& item : given.items()) {
    const bool known = std::any_of(def.attrs.begin(), def.attrs.end(),
                                   [&](const AttrSpec& s) { return s.name == item.first; });
    if (!known) FAIL("op '" << def.name << "' has no attribute '" << item.first << "'");
  }
  Attrs out;
  for (const AttrSpec& spec : def.attrs) {
    if (const AttrValue* v = given.find(spec.name)) {
      if (!has_type(*v, spec.type))
        FAIL("op '" << def.name << "': attribute '" << spec.name << "' has the wrong type: "
                    << attr_str(*v));
      out.set(spec.name, *v);
    } else if (spec.required) {
      FAIL("op '" << def.name << "': required attribute '" << spec.name << "' is missing");
    } else {
      out.set(spec.name, spec.default_value);
    }
  }
  return out;
}

Shape shape_of(const Array& a) { return Shape(a.shape().begin(), a.shape().end()); }

Array to_array(const Buf& data, const Shape& shape) {
  Array a = Array::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  std::copy(data.begin(), data.end(), a.begin());
  return a;
}

std::vector<Buf> to_bufs(const std::vector<Array>& arrays) {
  std::vector<Buf> bufs;
  for (const Array& a : arrays) bufs.emplace_back(a.begin(), a.end());
  return bufs;
}

// Uniform in [0, 1) from the top 53 bits: the same numbers with every standard library.
double unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

Buf random_buf(std::size_t n, std::uint64_t seed, double lo, double hi) {
  std::mt19937_64 rng(seed);
  Buf b(n);
  for (double& x : b) x = lo + (hi - lo) * unit(rng);
  return b;
}

bool bit_identical(const Buf& a, const Buf& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// One op instance at fixed input shapes: its normalized attributes, output shapes and
// scratch buffers. Tensors are passed as raw pointers so that the caller may alias them.
struct OpCall {
  const OpDef& def;
  Attrs attrs;
  Mode mode;
  std::vector<Shape> in_shapes, out_shapes;
  Buf workspace, saved;

  OpCall(const std::string& op, const std::vector<Array>& inputs, const Attrs& given, Mode m)
      : def(find_op(op)), attrs(normalize_attrs(def, given)), mode(m) {
    INFO("op '" << op << "'");
    REQUIRE(inputs.size() == def.inputs.size());
    for (const Array& a : inputs) in_shapes.push_back(shape_of(a));
    out_shapes = def.shape(in_shapes, attrs);
    REQUIRE(out_shapes.size() == def.outputs.size());
    workspace.assign(def.workspace ? def.workspace(in_shapes, attrs) : 0, kNaN);
    saved.assign(def.saved ? def.saved(in_shapes, attrs) : 0, kNaN);
  }

  std::vector<Buf> fresh_outputs() const {
    std::vector<Buf> out;
    for (const Shape& s : out_shapes) out.emplace_back(numel(s), kNaN);  // arena garbage
    return out;
  }

  // Runs the forward kernel, or the backward one when d_out is given; a null d_in[i] means
  // input i gets no gradient. The workspace is garbage on entry: it lives for one step.
  void run(const std::vector<double*>& in, const std::vector<double*>& out,
           const std::vector<double*>& d_out = {}, const std::vector<double*>& d_in = {},
           const std::vector<char>& accumulate = {}) {
    const auto in_refs = refs(in, in_shapes), out_refs = refs(out, out_shapes);
    const auto d_out_refs = refs(d_out, out_shapes), d_in_refs = refs(d_in, in_shapes);
    OpArgs<double> a;
    a.in = make_span(in_refs);
    a.out = make_span(out_refs);
    a.d_out = make_span(d_out_refs);
    a.d_in = make_span(d_in_refs);
    a.accumulate = make_span(accumulate);
    a.workspace = workspace.empty() ? nullptr : workspace.data();
    a.workspace_size = workspace.size();
    a.saved = saved.empty() ? nullptr : saved.data();
    a.attrs = &attrs;
    a.mode = mode;
    std::fill(workspace.begin(), workspace.end(), kNaN);
    const Kernels<double>& k = def.kernels<double>();
    (d_out.empty() ? k.forward : k.backward)(a);
  }

  static std::vector<TensorRef<double>> refs(const std::vector<double*>& p,
                                             const std::vector<Shape>& shapes) {
    std::vector<TensorRef<double>> r;
    for (std::size_t i = 0; i < p.size(); ++i) r.push_back({p[i], shapes[i]});
    return r;
  }
};

std::vector<double*> ptrs(std::vector<Buf>& bufs) {
  std::vector<double*> p;
  for (Buf& b : bufs) p.push_back(b.data());
  return p;
}

double norm(const Buf& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// The element with the largest |a_j - b_j| / bound(j), and that ratio; a NaN is the worst.
template <class Bound>
std::pair<std::size_t, double> worst_element(const double* a, const double* b, std::size_t n,
                                             Bound bound) {
  std::pair<std::size_t, double> worst{0, 0.0};
  for (std::size_t j = 0; j < n; ++j) {
    const double d = std::abs(a[j] - b[j]);
    const double excess = d == 0 ? 0.0 : d / bound(j);
    if (std::isnan(excess)) return {j, excess};
    if (excess > worst.second) worst = {j, excess};
  }
  return worst;
}

// Compares analytic `a` with numeric `n` for input `i`; returns the relative error.
double compare(std::size_t i, const Buf& a, const Buf& n, double tolerance) {
  INFO("input " << i << " (" << a.size() << " elements)");
  double max_abs = 0;
  for (double x : a) max_abs = std::max(max_abs, std::abs(x));
  CAPTURE(max_abs);
  REQUIRE(max_abs > 1e-12);  // two zero gradients agree and prove nothing

  double diff2 = 0;
  for (std::size_t j = 0; j < a.size(); ++j) diff2 += (a[j] - n[j]) * (a[j] - n[j]);
  const double rel = std::sqrt(diff2) / std::max(norm(a), norm(n));
  const auto [worst, worst_excess] = worst_element(a.data(), n.data(), a.size(), [&](std::size_t j) {
    return tolerance * std::max(std::abs(a[j]), std::abs(n[j])) + 1e-9;
  });
  INFO("worst element " << worst << ": analytic " << a[worst] << ", numeric " << n[worst]);
  CAPTURE(rel, tolerance);
  REQUIRE(rel < tolerance);
  REQUIRE(worst_excess <= 1.0);
  return rel;
}

}  // namespace

std::vector<Array> run_op_forward(const std::string& op, std::vector<Array>& inputs,
                                  const Attrs& attrs, Mode mode) {
  OpCall call(op, inputs, attrs, mode);
  std::vector<Buf> in = to_bufs(inputs), out = call.fresh_outputs();
  call.run(ptrs(in), ptrs(out));
  if (call.def.writes_state)
    for (std::size_t i = 0; i < in.size(); ++i) inputs[i] = to_array(in[i], call.in_shapes[i]);
  std::vector<Array> result;
  for (std::size_t k = 0; k < out.size(); ++k) result.push_back(to_array(out[k], call.out_shapes[k]));
  return result;
}

std::vector<Array> run_op_backward(const std::string& op, const std::vector<Array>& inputs,
                                   const std::vector<Array>& d_outputs, const Attrs& attrs,
                                   Mode mode) {
  OpCall call(op, inputs, attrs, mode);
  REQUIRE(call.def.kernels<double>().backward != nullptr);
  REQUIRE(d_outputs.size() == call.out_shapes.size());
  for (std::size_t k = 0; k < d_outputs.size(); ++k) REQUIRE(shape_of(d_outputs[k]) == call.out_shapes[k]);
  std::vector<Buf> in = to_bufs(inputs), out = call.fresh_outputs(), d_out = to_bufs(d_outputs);
  call.run(ptrs(in), ptrs(out));
  std::vector<Buf> d_in(in.size());
  std::vector<double*> d_in_ptrs(in.size(), nullptr);
  for (std::size_t i = 0; i < in.size(); ++i)
    if (call.def.differentiable[i]) {
      d_in[i].assign(in[i].size(), kNaN);
      d_in_ptrs[i] = d_in[i].data();
    }
  call.run(ptrs(in), ptrs(out), ptrs(d_out), d_in_ptrs, std::vector<char>(in.size(), 0));
  std::vector<Array> result;
  for (std::size_t i = 0; i < in.size(); ++i)
    result.push_back(d_in_ptrs[i] ? to_array(d_in[i], call.in_shapes[i])
                                  : Array::from_shape(std::vector<std::size_t>{0}));
  return result;
}

GradCheckResult check_op_gradients(const std::string& op, const std::vector<Array>& inputs,
                                   const GradCheckOptions& options) {
  OpCall call(op, inputs, options.attrs, options.mode);
  const OpDef& def = call.def;
  INFO("gradient check of op '" << op << "'");
  REQUIRE(def.kernels<double>().backward != nullptr);

  std::vector<std::size_t> checked = options.inputs_to_check;
  if (checked.empty())
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (def.differentiable[i]) checked.push_back(i);
  for (std::size_t i : checked) {
    INFO("input " << i << " asked for a check");
    REQUIRE(i < inputs.size());
    REQUIRE(def.differentiable[i]);
  }

  const std::vector<Buf> original = to_bufs(inputs);
  std::vector<Buf> weights;  // r_k: the output weights of L = sum_k <r_k, out_k>
  for (std::size_t k = 0; k < call.out_shapes.size(); ++k)
    weights.push_back(random_buf(numel(call.out_shapes[k]), options.seed + k, -1.0, 1.0));
  auto loss = [&](std::vector<Buf>& in) {
    std::vector<Buf> out = call.fresh_outputs();
    call.run(ptrs(in), ptrs(out));
    double sum = 0;
    for (std::size_t k = 0; k < out.size(); ++k)
      for (std::size_t e = 0; e < out[k].size(); ++e) sum += weights[k][e] * out[k][e];
    return sum;
  };

  // Analytic: forward, then backward with d_out = r into garbage-filled d_in.
  std::vector<Buf> in = original, out = call.fresh_outputs(), d_out = weights;
  call.run(ptrs(in), ptrs(out));
  if (!def.writes_state)
    for (std::size_t i = 0; i < in.size(); ++i) REQUIRE(bit_identical(in[i], original[i]));
  const std::vector<Buf> in_after_forward = in, out_after_forward = out;
  const Buf saved_after_forward = call.saved;
  std::vector<Buf> analytic(in.size());
  std::vector<double*> d_in(in.size(), nullptr);
  for (std::size_t i : checked) {
    analytic[i].assign(in[i].size(), kNaN);
    d_in[i] = analytic[i].data();
  }
  call.run(ptrs(in), ptrs(out), ptrs(d_out), d_in, std::vector<char>(in.size(), 0));
  for (std::size_t i = 0; i < in.size(); ++i) REQUIRE(bit_identical(in[i], in_after_forward[i]));
  for (std::size_t k = 0; k < out.size(); ++k) REQUIRE(bit_identical(out[k], out_after_forward[k]));

  // Numeric: central differences, every evaluation from fresh copies of all inputs.
  GradCheckResult result;
  for (std::size_t i : checked) {
    Buf numeric(original[i].size());
    for (std::size_t j = 0; j < numeric.size(); ++j) {
      std::vector<Buf> plus = original, minus = original;
      plus[i][j] += options.eps;
      minus[i][j] -= options.eps;
      numeric[j] = (loss(plus) - loss(minus)) / (2 * options.eps);
    }
    result.relative_error.push_back(compare(i, analytic[i], numeric, options.tolerance));
    result.analytic_norm.push_back(norm(analytic[i]));
  }

  // Accumulate, one input at a time and with every other gradient skipped (d_in null):
  // d_in[i] pre-filled with c must end as c + gradient. The forward state (outputs, saved)
  // is the analytic run's.
  for (std::size_t i : checked) {
    call.saved = saved_after_forward;
    const Buf c = random_buf(in[i].size(), options.seed + 1000 + i, -1.0, 1.0);
    Buf got = c;
    std::vector<double*> only_i(in.size(), nullptr);
    only_i[i] = got.data();
    std::vector<char> accumulate(in.size(), 0);
    accumulate[i] = 1;
    call.run(ptrs(in), ptrs(out), ptrs(d_out), only_i, accumulate);
    for (std::size_t j = 0; j < got.size(); ++j) {
      const double a = analytic[i][j];
      if (!(std::abs(got[j] - (c[j] + a)) <= 1e-12 * (std::abs(c[j]) + std::abs(a))))
        FAIL("backward accumulating into input " << i << " alone: element " << j
                                                 << " pre-filled with " << c[j] << ", gradient "
                                                 << a << ", expected " << c[j] + a << ", got "
                                                 << got[j]);
    }
  }

  // In place: out[0] over a copy of in[0] must give bit-identical outputs.
  if (def.inplace) {
    INFO("forward with out[0] aliasing in[0]");
    REQUIRE(numel(call.in_shapes[0]) == numel(call.out_shapes[0]));
    std::vector<Buf> in2 = original, out2 = call.fresh_outputs();
    std::vector<double*> out_ptrs = ptrs(out2);
    out_ptrs[0] = in2[0].data();
    call.run(ptrs(in2), out_ptrs);
    out2[0] = in2[0];
    for (std::size_t k = 0; k < out2.size(); ++k) REQUIRE(bit_identical(out2[k], out_after_forward[k]));
  }
  // Backward in place: d_in[0] over d_out[0] must give bit-identical gradients.
  const bool input0_checked = std::find(checked.begin(), checked.end(), 0) != checked.end();
  if (def.backward_inplace && input0_checked &&
      numel(call.in_shapes[0]) == numel(call.out_shapes[0])) {
    INFO("backward with d_in[0] aliasing d_out[0]");
    std::vector<Buf> in2 = original, out2 = call.fresh_outputs(), d_out2 = weights;
    call.run(ptrs(in2), ptrs(out2));
    std::vector<Buf> grads(in.size());
    std::vector<double*> d_in2(in.size(), nullptr);
    for (std::size_t i : checked) {
      grads[i].assign(in[i].size(), kNaN);
      d_in2[i] = grads[i].data();
    }
    d_in2[0] = d_out2[0].data();
    call.run(ptrs(in2), ptrs(out2), ptrs(d_out2), d_in2, std::vector<char>(in.size(), 0));
    grads[0] = d_out2[0];
    for (std::size_t i : checked) REQUIRE(bit_identical(grads[i], analytic[i]));
  }
  return result;
}

void require_close(const Array& got, const Array& want, double rtol, double atol) {
  INFO("got:\n" << got << "\nwant:\n" << want);
  REQUIRE(shape_of(got) == shape_of(want));
  const auto [worst, worst_excess] =
      worst_element(got.data(), want.data(), got.size(),
                    [&](std::size_t j) { return atol + rtol * std::abs(want.data()[j]); });
  if (got.size() == 0) return;
  INFO("worst element " << worst << ": got " << got.data()[worst] << ", want " << want.data()[worst]);
  REQUIRE(worst_excess <= 1.0);
}

Array random_array(const Shape& shape, std::uint64_t seed, double lo, double hi) {
  return to_array(random_buf(numel(shape), seed, lo, hi), shape);
}

Array random_away_from_zero(const Shape& shape, std::uint64_t seed, double gap) {
  std::mt19937_64 rng(seed);
  Buf b(numel(shape));
  for (double& x : b) {
    const double magnitude = gap + (1.0 - gap) * unit(rng);  // in [gap, 1)
    x = (rng() & 1) ? magnitude : -magnitude;
  }
  return to_array(b, shape);
}

}  // namespace plangrad::testing
