#include "tests/kernel_harness.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

namespace plangrad::testing {
namespace {

template <class T>
std::vector<TensorRef<T>> refs(const std::vector<T*>& data, const std::vector<Shape>& shapes) {
  if (!data.empty() && data.size() != shapes.size())
    throw std::invalid_argument("KernelCall: " + std::to_string(data.size()) + " tensors for " +
                                std::to_string(shapes.size()) + " shapes");
  std::vector<TensorRef<T>> r;
  for (std::size_t i = 0; i < data.size(); ++i) r.push_back({data[i], shapes[i]});
  return r;
}

template <class T>
constexpr T kNaN = std::numeric_limits<T>::quiet_NaN();

}  // namespace

template <class T>
KernelCall<T>::KernelCall(const std::string& op, std::vector<Shape> shapes, const Attrs& given,
                          Mode m)
    : def(find_op(op)), attrs(normalize_attrs(def, op, given)), mode(m), in_shapes(std::move(shapes)) {
  if (!def.takes(in_shapes.size()))
    throw GraphError("op '" + op + "' takes " + def.arity() + " inputs, got " +
                     std::to_string(in_shapes.size()));
  out_shapes = infer_output_shapes(def, op, in_shapes, attrs);
  workspace.assign(def.workspace ? def.workspace(in_shapes, attrs) : 0, kNaN<T>);
  saved.assign(def.saved ? def.saved(in_shapes, attrs) : 0, kNaN<T>);
}

template <class T>
std::vector<std::vector<T>> KernelCall<T>::fresh_outputs() const {
  std::vector<std::vector<T>> out;
  for (const Shape& s : out_shapes) out.emplace_back(numel(s), kNaN<T>);
  return out;
}

template <class T>
void KernelCall<T>::forward(const std::vector<T*>& in, const std::vector<T*>& out) {
  run(def.kernels<T>().forward, in, out, {}, {}, {});
}

template <class T>
void KernelCall<T>::backward(const std::vector<T*>& in, const std::vector<T*>& out,
                             const std::vector<T*>& d_out, const std::vector<T*>& d_in,
                             const std::vector<char>& accumulate) {
  if (!def.kernels<T>().backward) throw GraphError("op '" + def.name + "' has no backward kernel");
  if (accumulate.size() != in_shapes.size())
    throw std::invalid_argument("KernelCall: one accumulate flag per input");
  run(def.kernels<T>().backward, in, out, d_out, d_in, accumulate);
}

template <class T>
void KernelCall<T>::run(KernelFn<T> kernel, const std::vector<T*>& in, const std::vector<T*>& out,
                        const std::vector<T*>& d_out, const std::vector<T*>& d_in,
                        const std::vector<char>& accumulate) {
  const auto in_refs = refs(in, in_shapes), out_refs = refs(out, out_shapes);
  const auto d_out_refs = refs(d_out, out_shapes), d_in_refs = refs(d_in, in_shapes);
  OpArgs<T> a;
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
  // The workspace lives for one step: a kernel that reads it before writing reads garbage.
  std::fill(workspace.begin(), workspace.end(), kNaN<T>);
  kernel(a);
}

template struct KernelCall<float>;
template struct KernelCall<double>;

}  // namespace plangrad::testing
