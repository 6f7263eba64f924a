// The shapes the Winograd op tests (test_op_conv2d_winograd.cpp, test_op_conv2d_by_winograd.cpp)
// run: the MNIST CNN's second convolution; odd output planes (a last row or column of blocks
// half outside, whose dy past the plane is zero); channels and filters that are no multiple
// of a vector's lanes (tails); a 1x1 output; padding 0 to 2 (dx's 2 to 0); fewer channels
// than the planner would give the ops.
#pragma once

#include "core/tensor.hpp"

namespace plangrad::testing {

struct WinogradCase {
  Dim N, C, F, H, W, ph, pw;
};

inline constexpr WinogradCase kWinogradCases[] = {
    {2, 16, 32, 14, 14, 1, 1}, {3, 8, 8, 5, 7, 1, 1}, {1, 17, 33, 6, 6, 0, 0}, {2, 9, 20, 9, 4, 2, 1},
    {1, 8, 8, 3, 3, 0, 0},     {2, 24, 16, 8, 8, 1, 1}, {1, 3, 5, 4, 6, 1, 0}, {1, 40, 19, 7, 9, 1, 2},
};

}  // namespace plangrad::testing
