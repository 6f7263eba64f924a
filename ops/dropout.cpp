#include "ops/dropout.hpp"

#include <cmath>

#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

constexpr double kMaskLevels = 16777216.0;  // 2^24: the resolution of the rate

std::uint64_t drop_threshold(double rate) { return static_cast<std::uint64_t>(std::llround(rate * kMaskLevels)); }

// Any shape; y has x's shape. rate in [0, 1): at 1 nothing is kept and the scale is infinite.
std::vector<Shape> dropout_shape(const std::vector<Shape>& in, const Attrs& attrs) {
  const double rate = attrs.get_float("rate");
  if (!(rate >= 0 && rate < 1)) throw ShapeError("rate " + attr_str(AttrValue{rate}) + " must be in [0, 1)");
  return one_output(in[0]);
}

// Element i's factor in Train mode, 1 / (1 - rate) when kept and 0 when dropped: bit i of
// the node's stream for this step, offset by the place of the tensor's first element in
// the global batch (StepRandom::first_row times the elements per row), so that a
// data-parallel rank's slice draws the bits one process draws for the same rows. `t` is y
// (forward) or dy (backward): the same shape.
template <class T>
struct Mask {
  std::uint64_t threshold, key, base = 0;
  T scale;
  template <class Ref>
  Mask(const OpArgs<T>& a, const Ref& t) {
    const double rate = a.attrs->get_float("rate");
    threshold = drop_threshold(rate);
    key = a.random_key();
    scale = T(1) / (T(1) - static_cast<T>(rate));
    if (a.random && a.random->first_row != 0 && !t.shape.empty() && t.shape[0] != 0)
      base = a.random->first_row * static_cast<std::uint64_t>(t.size() / static_cast<std::size_t>(t.shape[0]));
  }
  T operator()(std::size_t i) const { return (counter_bits(key, base + i) >> 40) >= threshold ? scale : T(0); }
};

// Train: y = x m / (1 - rate), m the element's keep bit (a product, so a NaN x stays NaN
// as in PyTorch); Eval: y = x. Element i's bit depends on (seed, step, node, its row's
// place in the global batch, i) only, so any split of the loop gives the same y.
template <class T>
void dropout_forward(const OpArgs<T>& a) {
  const T* x = a.in[0].data;
  T* y = a.out[0].data;
  const std::size_t n = a.out[0].size();
  if (a.mode == Mode::Eval) {
    if (y != x)
      for (std::size_t i = 0; i < n; ++i) y[i] = x[i];
    return;
  }
  const Mask<T> mask(a, a.out[0]);
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * mask(i);
}

// y = x m s  =>  dx = dy m s, with m recomputed from the same stream and step as the
// forward's (the executor changes the step only between runs). Reads neither x nor y, so
// dx may be dy's memory.
template <class T>
void dropout_backward(const OpArgs<T>& a) {
  if (!a.d_in[0]) return;
  const T* dy = a.d_out[0].data;
  if (a.mode == Mode::Eval) {
    write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return dy[i]; });
    return;
  }
  const Mask<T> mask(a, a.d_out[0]);
  write_grad(a.d_in[0], a.accumulates(0), [=](std::size_t i) { return dy[i] * mask(i); });
}

}  // namespace

bool dropout_keeps(double rate, std::uint64_t key, std::uint64_t index) {
  return (counter_bits(key, index) >> 40) >= drop_threshold(rate);
}

const OpDef& dropout_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "dropout";
    d.inputs = {"x"};
    d.outputs = {"y"};
    d.attrs = {{"rate", AttrType::Float, false, 0.5}};
    d.shape = dropout_shape;
    d.differentiable = {true};
    d.backward_reads_in = {false};
    d.backward_reads_out = {false};
    d.inplace = true;
    d.backward_inplace = true;
    PLANGRAD_SET_KERNELS(d, dropout_forward, dropout_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
