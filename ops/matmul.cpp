#include "ops/matmul.hpp"

#include "kernels/blas.hpp"
#include "ops/kernel_util.hpp"

namespace plangrad {
namespace {

std::vector<Shape> matmul_shape(const std::vector<Shape>& in, const Attrs&) {
  expect_rank(in[0], 2, "a");
  expect_rank(in[1], 2, "b");
  if (in[0][1] != in[1][0])
    throw ShapeError("inner dimensions " + std::to_string(in[0][1]) + " and " +
                     std::to_string(in[1][0]) + " differ (a " + shape_str(in[0]) + ", b " +
                     shape_str(in[1]) + ")");
  return one_output({in[0][0], in[1][1]});
}

// matmul: a[N,K] x b[K,M] -> y[N,M]
template <class T>
void matmul_forward(const OpArgs<T>& a) {
  const Dim N = a.in[0].dim(0), K = a.in[0].dim(1), M = a.in[1].dim(1);
  gemm<T>(false, false, N, M, K, T(1), a.in[0].data, a.in[1].data, T(0), a.out[0].data);
}

// y = a b  =>  da = dy b^T  [N,M]x[M,K],   db = a^T dy  [K,N]x[N,M]
// BLAS transposes the operands in place; beta = 1 accumulates into the gradient.
template <class T>
void matmul_backward(const OpArgs<T>& a) {
  const Dim N = a.in[0].dim(0), K = a.in[0].dim(1), M = a.in[1].dim(1);
  const T* dy = a.d_out[0].data;
  if (a.d_in[0])
    gemm<T>(false, true, N, K, M, T(1), dy, a.in[1].data, a.accumulates(0) ? T(1) : T(0),
            a.d_in[0].data);
  if (a.d_in[1])
    gemm<T>(true, false, K, M, N, T(1), a.in[0].data, dy, a.accumulates(1) ? T(1) : T(0),
            a.d_in[1].data);
}

}  // namespace

const OpDef& matmul_op() {
  static const OpDef def = [] {
    OpDef d;
    d.name = "matmul";
    d.inputs = {"a", "b"};
    d.outputs = {"y"};
    d.shape = matmul_shape;
    d.differentiable = {true, true};
    d.backward_reads_in = {true, true};
    d.backward_reads_out = {false};
    PLANGRAD_SET_KERNELS(d, matmul_forward, matmul_backward);
    return d;
  }();
  return def;
}

}  // namespace plangrad
