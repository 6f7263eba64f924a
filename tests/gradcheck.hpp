// The one gradient checker every op test uses (Caffe's pattern): it runs an op's kernels
// directly in double (tests/kernel_harness.hpp), with no planner, and compares the
// hand-written backward against central differences.
#pragma once

#include <cstdint>
#include <string>
#include <vector>
#include <xtensor/xarray.hpp>

#include "ops/op.hpp"

namespace plangrad::testing {

using Array = xt::xarray<double>;

// Runs `op`'s forward once on copies of `inputs` (attributes normalized with defaults).
// Returns the outputs; state inputs that the forward writes are copied back into `inputs`.
std::vector<Array> run_op_forward(const std::string& op, std::vector<Array>& inputs,
                                  const Attrs& attrs = {}, Mode mode = Mode::Train);

// Runs `op`'s forward, then its backward with output gradients `d_outputs` (overwriting,
// not accumulating). Returns one gradient per input, shaped like it; an input the op marks
// non-differentiable gets an empty array (shape {0}). For checking gradients against values
// worked out by hand.
std::vector<Array> run_op_backward(const std::string& op, const std::vector<Array>& inputs,
                                   const std::vector<Array>& d_outputs, const Attrs& attrs = {},
                                   Mode mode = Mode::Train);

struct GradCheckOptions {
  Attrs attrs;
  Mode mode = Mode::Train;
  double eps = 1e-6;        // central-difference step
  double tolerance = 1e-6;  // bound on the relative error
  std::uint64_t seed = 7;   // for the random output weights
  // Inputs to check; empty means every input the op marks differentiable.
  std::vector<std::size_t> inputs_to_check;
};

struct GradCheckResult {
  std::vector<double> relative_error;  // per checked input: ||a - n|| / max(||a||, ||n||)
  std::vector<double> analytic_norm;   // per checked input: ||a||
};

// Checks op's backward at `inputs`. The scalar under test is L = sum_k <r_k, out_k> with
// fixed random weights r_k, so every output element matters. It REQUIREs (Catch2) that:
//  - each checked analytic gradient is not all zero (a check of two zeros proves nothing);
//  - its relative error against central differences is below options.tolerance;
//  - the accumulate path adds exactly: with accumulate = 1 and d_in pre-filled with c,
//    d_in ends as c + gradient;
//  - if the op declares inplace / backward_inplace, running with out[0] aliasing in[0]
//    (resp. d_in[0] aliasing d_out[0]) gives bit-identical results.
// State inputs are restored before every evaluation.
GradCheckResult check_op_gradients(const std::string& op, const std::vector<Array>& inputs,
                                   const GradCheckOptions& options = {});

// check_op_gradients once for each input the op marks differentiable, with that input
// alone checked: every other gradient is skipped (d_in null), and the backward must
// still write this one right.
void check_each_input_alone(const std::string& op, const std::vector<Array>& inputs,
                            GradCheckOptions options = {});

// REQUIREs that `got` has `want`'s shape and |got_i - want_i| <= atol + rtol |want_i| for
// every element (NaN never passes); the failure message shows both arrays and the worst
// element.
void require_close(const Array& got, const Array& want, double rtol = 1e-12, double atol = 1e-14);

// An array of `shape` holding `values` in row-major order (std::invalid_argument when the
// counts differ: it also makes constants outside any test).
Array shaped(const Shape& shape, const std::vector<double>& values);

// Deterministic test data: uniform in [lo, hi), and values kept at least `gap` away from
// zero (for relu / max-pool kinks), from a seed.
Array random_array(const Shape& shape, std::uint64_t seed, double lo = -1.0, double hi = 1.0);
Array random_away_from_zero(const Shape& shape, std::uint64_t seed, double gap = 0.05);

}  // namespace plangrad::testing
