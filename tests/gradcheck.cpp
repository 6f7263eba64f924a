#include "tests/gradcheck.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <xtensor/xio.hpp>

#include "tests/kernel_harness.hpp"
#include "tests/random_values.hpp"
#include "tests/same_bits.hpp"

namespace plangrad::testing {
namespace {

using Buf = std::vector<double>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Shape shape_of(const Array& a) { return Shape(a.shape().begin(), a.shape().end()); }

std::vector<Shape> shapes_of(const std::vector<Array>& arrays) {
  std::vector<Shape> shapes;
  for (const Array& a : arrays) shapes.push_back(shape_of(a));
  return shapes;
}

std::vector<Buf> to_bufs(const std::vector<Array>& arrays) {
  std::vector<Buf> bufs;
  for (const Array& a : arrays) bufs.emplace_back(a.begin(), a.end());
  return bufs;
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
  KernelCall<double> call(op, shapes_of(inputs), attrs, mode);
  std::vector<Buf> in = to_bufs(inputs), out = call.fresh_outputs();
  call.forward(pointers(in), pointers(out));
  if (call.def.writes_state)
    for (std::size_t i = 0; i < in.size(); ++i) inputs[i] = shaped(call.in_shapes[i], in[i]);
  std::vector<Array> result;
  for (std::size_t k = 0; k < out.size(); ++k) result.push_back(shaped(call.out_shapes[k], out[k]));
  return result;
}

std::vector<Array> run_op_backward(const std::string& op, const std::vector<Array>& inputs,
                                   const std::vector<Array>& d_outputs, const Attrs& attrs,
                                   Mode mode) {
  KernelCall<double> call(op, shapes_of(inputs), attrs, mode);
  REQUIRE(call.def.kernels<double>().backward != nullptr);
  REQUIRE(d_outputs.size() == call.out_shapes.size());
  for (std::size_t k = 0; k < d_outputs.size(); ++k) REQUIRE(shape_of(d_outputs[k]) == call.out_shapes[k]);
  std::vector<Buf> in = to_bufs(inputs), out = call.fresh_outputs(), d_out = to_bufs(d_outputs);
  call.forward(pointers(in), pointers(out));
  std::vector<Buf> d_in(in.size());
  std::vector<double*> d_in_ptrs(in.size(), nullptr);
  for (std::size_t i = 0; i < in.size(); ++i)
    if (call.def.differentiable_at(i)) {
      d_in[i].assign(in[i].size(), kNaN);
      d_in_ptrs[i] = d_in[i].data();
    }
  call.backward(pointers(in), pointers(out), pointers(d_out), d_in_ptrs, std::vector<char>(in.size(), 0));
  std::vector<Array> result;
  for (std::size_t i = 0; i < in.size(); ++i)
    result.push_back(d_in_ptrs[i] ? shaped(call.in_shapes[i], d_in[i])
                                  : Array::from_shape(std::vector<std::size_t>{0}));
  return result;
}

GradCheckResult check_op_gradients(const std::string& op, const std::vector<Array>& inputs,
                                   const GradCheckOptions& options) {
  KernelCall<double> call(op, shapes_of(inputs), options.attrs, options.mode);
  const OpDef& def = call.def;
  INFO("gradient check of op '" << op << "'");
  REQUIRE(def.kernels<double>().backward != nullptr);

  std::vector<std::size_t> checked = options.inputs_to_check;
  if (checked.empty())
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (def.differentiable_at(i)) checked.push_back(i);
  for (std::size_t i : checked) {
    INFO("input " << i << " asked for a check");
    REQUIRE(i < inputs.size());
    REQUIRE(def.differentiable_at(i));
  }

  const std::vector<Buf> original = to_bufs(inputs);
  std::vector<Buf> weights;  // r_k: the output weights of L = sum_k <r_k, out_k>
  for (std::size_t k = 0; k < call.out_shapes.size(); ++k)
    weights.push_back(random_values<double>(numel(call.out_shapes[k]), options.seed + k, -1.0, 1.0));
  auto loss = [&](std::vector<Buf>& in) {
    std::vector<Buf> out = call.fresh_outputs();
    call.forward(pointers(in), pointers(out));
    double sum = 0;
    for (std::size_t k = 0; k < out.size(); ++k)
      for (std::size_t e = 0; e < out[k].size(); ++e) sum += weights[k][e] * out[k][e];
    return sum;
  };

  // Analytic: forward, then backward with d_out = r into garbage-filled d_in.
  std::vector<Buf> in = original, out = call.fresh_outputs(), d_out = weights;
  call.forward(pointers(in), pointers(out));
  if (!def.writes_state)
    for (std::size_t i = 0; i < in.size(); ++i) REQUIRE(same_bits(in[i], original[i]));
  const std::vector<Buf> in_after_forward = in, out_after_forward = out;
  const Buf saved_after_forward = call.saved;
  std::vector<Buf> analytic(in.size());
  std::vector<double*> d_in(in.size(), nullptr);
  for (std::size_t i : checked) {
    analytic[i].assign(in[i].size(), kNaN);
    d_in[i] = analytic[i].data();
  }
  call.backward(pointers(in), pointers(out), pointers(d_out), d_in, std::vector<char>(in.size(), 0));
  for (std::size_t i = 0; i < in.size(); ++i) REQUIRE(same_bits(in[i], in_after_forward[i]));
  for (std::size_t k = 0; k < out.size(); ++k) REQUIRE(same_bits(out[k], out_after_forward[k]));

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
    const Buf c = random_values<double>(in[i].size(), options.seed + 1000 + i, -1.0, 1.0);
    Buf got = c;
    std::vector<double*> only_i(in.size(), nullptr);
    only_i[i] = got.data();
    std::vector<char> accumulate(in.size(), 0);
    accumulate[i] = 1;
    call.backward(pointers(in), pointers(out), pointers(d_out), only_i, accumulate);
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
    std::vector<double*> out_ptrs = pointers(out2);
    out_ptrs[0] = in2[0].data();
    call.forward(pointers(in2), out_ptrs);
    out2[0] = in2[0];
    for (std::size_t k = 0; k < out2.size(); ++k) REQUIRE(same_bits(out2[k], out_after_forward[k]));
  }
  // Backward in place: d_in[0] over d_out[0] must give bit-identical gradients.
  const bool input0_checked = std::find(checked.begin(), checked.end(), 0) != checked.end();
  if (def.backward_inplace && input0_checked &&
      numel(call.in_shapes[0]) == numel(call.out_shapes[0])) {
    INFO("backward with d_in[0] aliasing d_out[0]");
    std::vector<Buf> in2 = original, out2 = call.fresh_outputs(), d_out2 = weights;
    call.forward(pointers(in2), pointers(out2));
    std::vector<Buf> grads(in.size());
    std::vector<double*> d_in2(in.size(), nullptr);
    for (std::size_t i : checked) {
      grads[i].assign(in[i].size(), kNaN);
      d_in2[i] = grads[i].data();
    }
    d_in2[0] = d_out2[0].data();
    call.backward(pointers(in2), pointers(out2), pointers(d_out2), d_in2, std::vector<char>(in.size(), 0));
    grads[0] = d_out2[0];
    for (std::size_t i : checked) REQUIRE(same_bits(grads[i], analytic[i]));
  }
  return result;
}

void check_each_input_alone(const std::string& op, const std::vector<Array>& inputs,
                            GradCheckOptions options) {
  const OpDef& def = find_op(op);
  REQUIRE(def.takes(inputs.size()));
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!def.differentiable_at(i)) continue;
    INFO("input " << i << " checked alone");
    options.inputs_to_check = {i};
    REQUIRE(check_op_gradients(op, inputs, options).relative_error.size() == 1);
  }
}

Array shaped(const Shape& shape, const std::vector<double>& values) {
  Array a = Array::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
  if (a.size() != values.size())
    throw std::invalid_argument(std::to_string(values.size()) + " values for the shape " + shape_str(shape));
  std::copy(values.begin(), values.end(), a.begin());
  return a;
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
  return shaped(shape, random_values<double>(numel(shape), seed, lo, hi));
}

Array random_away_from_zero(const Shape& shape, std::uint64_t seed, double gap) {
  std::mt19937_64 rng(seed);
  Buf b(numel(shape));
  for (double& x : b) {
    const double magnitude = gap + (1.0 - gap) * unit_uniform(rng);  // in [gap, 1)
    x = (rng() & 1) ? magnitude : -magnitude;
  }
  return shaped(shape, b);
}

}  // namespace plangrad::testing
