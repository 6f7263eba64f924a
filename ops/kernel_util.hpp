// Small helpers shared by kernels and shape rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/tensor.hpp"

namespace plangrad {

// d[i] = f(i), or d[i] += f(i) when the gradient accumulates. Written as two plain loops
// so that each vectorizes; `f` must be a pure function of i.
template <class T, class F>
inline void write_grad(const TensorRef<T>& d, bool accumulate, F&& f) {
  T* p = d.data;
  const std::size_t n = d.size();
  if (accumulate) {
    for (std::size_t i = 0; i < n; ++i) p[i] += f(i);
  } else {
    for (std::size_t i = 0; i < n; ++i) p[i] = f(i);
  }
}

// The lanes of a lane-wise double sum (element k of a run in lane k % L) combined in one
// fixed halving tree, lane[l] += lane[l + half]: the same adds in the same order at every
// vector width, so every kernel path gives the same bits. L a power of two; overwrites lane.
template <std::size_t L>
inline double lanes_total(double (&lane)[L]) {
  static_assert(L > 0 && (L & (L - 1)) == 0, "lanes_total takes a power of two of lanes");
  for (std::size_t half = L / 2; half > 0; half /= 2)
    for (std::size_t l = 0; l < half; ++l) lane[l] += lane[l + half];
  return lane[0];
}

// "[2, -1]": an attribute's integer list as written (shape_str would print -1 as the
// batch symbol N).
inline std::string ints_str(const std::vector<std::int64_t>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Shape-rule helpers: each throws ShapeError with a message naming the shapes.
inline void expect_rank(const Shape& s, std::size_t rank, const char* role) {
  if (s.size() != rank)
    throw ShapeError(std::string(role) + " must have rank " + std::to_string(rank) + ", got " +
                     shape_str(s));
}
inline void expect_min_rank(const Shape& s, std::size_t rank, const char* role) {
  if (s.size() < rank)
    throw ShapeError(std::string(role) + " must have rank " + std::to_string(rank) +
                     " or more, got " + shape_str(s));
}
inline void expect_same(const Shape& a, const Shape& b, const char* role_a, const char* role_b) {
  if (a != b)
    throw ShapeError(std::string(role_a) + " " + shape_str(a) + " and " + role_b + " " +
                     shape_str(b) + " differ");
}

// The rows of an op along the last axis (softmax, log_softmax): x [..., C] -> y of x's
// shape, C >= 1, since the kernels divide the element count by C. Nothing is multiplied
// here; the output's element count is checked with every op output's (infer_output_shapes).
inline std::vector<Shape> last_axis_rows_shape(const Shape& x, const char* op) {
  expect_min_rank(x, 1, "x");
  if (x.back() < 1)
    throw ShapeError("x " + shape_str(x) + ": " + op + " needs a last dimension of 1 or more");
  return {x};
}
// The row length of such an op: the last dimension.
template <class T>
std::size_t row_length(const TensorRef<T>& t) {
  return static_cast<std::size_t>(t.shape.back());
}

}  // namespace plangrad
