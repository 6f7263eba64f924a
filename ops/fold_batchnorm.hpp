// A convolution's weights with the Eval-mode batchnorm after it folded in, so that the
// convolution alone computes conv + batchnorm (planner/fold_batchnorm.cpp puts these ops
// into Eval-mode inference plans):
//   fold_conv_bn(w[F,...], b[F], gamma[F], beta[F], running_mean[F], running_var[F])
//       -> (w_folded[F,...], b_folded[F])
//   fold_conv_nobias_bn(w[F,...], gamma[F], beta[F], running_mean[F], running_var[F])
//       -> (w_folded[F,...], b_folded[F])          (b taken as 0)
//   s_f = gamma_f / sqrt(running_var_f + eps)
//   w_folded[f, ...] = w[f, ...] s_f,   b_folded_f = (b_f - running_mean_f) s_f + beta_f
// Attribute: eps (Float, default 1e-5), batchnorm's. Computed in double, rounded once.
// Forward only: no gradient rule (a plan that differentiates through one is a GraphError).
#pragma once

#include "ops/op.hpp"

namespace plangrad {

const OpDef& fold_conv_bn_op();
const OpDef& fold_conv_nobias_bn_op();

}  // namespace plangrad
