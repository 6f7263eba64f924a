#include "ops/fold_batchnorm.hpp"

#include <cmath>

#include "core/checked.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

// Input positions: w, then b when the op has a bias, then batchnorm's four.
template <bool HasBias>
struct FoldInputs {
  static constexpr std::size_t b = 1, gamma = HasBias ? 2 : 1, beta = gamma + 1, mean = gamma + 2, var = gamma + 3;
  static constexpr std::size_t count = var + 1;
};

template <bool HasBias>
std::vector<Shape> fold_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  using I = FoldInputs<HasBias>;
  expect_min_rank(in[0], 1, "w");
  const Dim F = in[0][0];
  static const char* const roles[] = {"w", "b", "gamma", "beta", "running_mean", "running_var"};
  for (std::size_t i = 1; i < I::count; ++i)
    if (in[i] != Shape{F})
      throw ShapeError(std::string(roles[HasBias ? i : i + 1]) + " " + shape_str(in[i]) + " does not match the " +
                       std::to_string(F) + " filters of w " + shape_str(in[0]));
  // batchnorm's own check: the same eps must pass both.
  const double eps = attrs.get_float("eps");
  if (!(eps > 0.0) || !std::isnormal(static_cast<float>(eps)))
    throw ShapeError("attribute 'eps' must be a positive normal float, got " + attr_str(eps));
  std::vector<Shape> out;
  out.push_back(in[0]);
  out.push_back(Shape{F});
  return out;
}

// batchnorm's check on its running variance, at this op's position of it.
template <bool HasBias>
std::string fold_check_data(std::size_t input, const float* data, std::size_t n) {
  if (input != FoldInputs<HasBias>::var) return "";
  for (std::size_t c = 0; c < n; ++c)
    if (!(data[c] >= 0.0f))
      return "running_var[" + std::to_string(c) + "] = " + std::to_string(data[c]) + " is negative";
  return "";
}

// w'[f, k] = w[f, k] s_f,  b'_f = (b_f - mean_f) s_f + beta_f,  s_f = gamma_f / sqrt(var_f + eps)
// eps is the one batchnorm's kernel adds in T (the attribute rounded to T). Each result is
// computed in double and rounded once, so the folded convolution is at least as close to
// the exact conv + batchnorm as the two ops run in T.
template <bool HasBias, class T>
void fold_forward(const OpArgs<T>& a) {
  using I = FoldInputs<HasBias>;
  const double eps = static_cast<double>(static_cast<T>(a.attrs->get_float("eps")));
  const T* w = a.in[0].data;
  const T* gamma = a.in[I::gamma].data;
  const T* beta = a.in[I::beta].data;
  const T* mean = a.in[I::mean].data;
  const T* var = a.in[I::var].data;
  T* wf = a.out[0].data;
  T* bf = a.out[1].data;
  const auto F = static_cast<std::size_t>(a.in[0].dim(0));
  const std::size_t K = a.in[0].size() / F;
  for (std::size_t f = 0; f < F; ++f) {
    const double s = double(gamma[f]) / std::sqrt(double(var[f]) + eps);
    for (std::size_t k = 0; k < K; ++k) wf[f * K + k] = static_cast<T>(double(w[f * K + k]) * s);
    const double b = HasBias ? double(a.in[I::b].data[f]) : 0.0;
    bf[f] = static_cast<T>((b - double(mean[f])) * s + double(beta[f]));
  }
}

template <bool HasBias>
OpDef fold_def(const char* name) {
  OpDef d;
  d.name = name;
  d.inputs = HasBias ? std::vector<std::string>{"w", "b", "gamma", "beta", "running_mean", "running_var"}
                     : std::vector<std::string>{"w", "gamma", "beta", "running_mean", "running_var"};
  d.outputs = {"w_folded", "b_folded"};
  d.attrs = {{"eps", AttrType::Float, false, 1e-5}};
  d.shape = fold_shape<HasBias>;
  // No gradient rule: the planner folds only in Eval-mode inference plans, which have no
  // backward. Marked differentiable so that a graph which would need one is a GraphError
  // naming the op (build_backward), rather than a gradient silently left out.
  d.differentiable = std::vector<bool>(d.inputs.size(), true);
  d.differentiable[FoldInputs<HasBias>::mean] = d.differentiable[FoldInputs<HasBias>::var] = false;
  d.backward_reads_in = std::vector<bool>(d.inputs.size(), false);
  d.backward_reads_out = {false, false};
  d.check_data = fold_check_data<HasBias>;
  d.f32 = dispatch_kernels<float, &fold_forward<HasBias, float>, nullptr>();
  d.f64 = dispatch_kernels<double, &fold_forward<HasBias, double>, nullptr>();
  return d;
}

}  // namespace

const OpDef& fold_conv_bn_op() {
  static const OpDef def = fold_def<true>("fold_conv_bn");
  return def;
}

const OpDef& fold_conv_nobias_bn_op() {
  static const OpDef def = fold_def<false>("fold_conv_nobias_bn");
  return def;
}

}  // namespace plangrad
