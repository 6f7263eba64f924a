// One op's kernels run directly, with no graph and no planner: what the op tests build on
// (the gradient checker in double, the thread-split tests in float and double). The
// kernels see what a plan would give them: normalized attributes, output shapes from the
// shape rule, and workspace and saved buffers of the sizes the op asks for.
#pragma once

#include <string>
#include <vector>

#include "ops/op.hpp"

namespace plangrad::testing {

// One op at fixed input shapes. The workspace is sized for the op threads set when the
// call is made (as a plan is sized when it is made); it may run at another count.
// Tensors are passed as raw pointers, so that a test may alias them (the in-place paths)
// or leave a gradient out (nullptr).
template <class T>
struct KernelCall {
  const OpDef& def;
  Attrs attrs;  // normalize_attrs's result, as the planner hands it to kernels
  Mode mode;
  std::vector<Shape> in_shapes, out_shapes;
  std::vector<T> workspace, saved;

  KernelCall(const std::string& op, std::vector<Shape> in_shapes, const Attrs& given = {},
             Mode mode = Mode::Train);

  // Output buffers holding NaN, as garbage in an arena would.
  std::vector<std::vector<T>> fresh_outputs() const;

  // The forward kernel: reads in, writes out (and the state inputs if the op writes state).
  void forward(const std::vector<T*>& in, const std::vector<T*>& out);
  // The backward kernel, after a forward on the same call (it may read saved). d_in[i] ==
  // nullptr: input i gets no gradient; accumulate[i] != 0: add into d_in[i].
  void backward(const std::vector<T*>& in, const std::vector<T*>& out,
                const std::vector<T*>& d_out, const std::vector<T*>& d_in,
                const std::vector<char>& accumulate);

 private:
  void run(KernelFn<T> kernel, const std::vector<T*>& in, const std::vector<T*>& out,
           const std::vector<T*>& d_out, const std::vector<T*>& d_in,
           const std::vector<char>& accumulate);
};

// The data pointers of `buffers`, in order.
template <class T>
std::vector<T*> pointers(std::vector<std::vector<T>>& buffers) {
  std::vector<T*> p;
  for (std::vector<T>& b : buffers) p.push_back(b.data());
  return p;
}

extern template struct KernelCall<float>;
extern template struct KernelCall<double>;

}  // namespace plangrad::testing
