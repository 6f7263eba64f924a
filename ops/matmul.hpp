// matmul: a[N,K] x b[K,M] -> y[N,M], on BLAS.
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& matmul_op();

}  // namespace plangrad
