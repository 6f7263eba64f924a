#!/usr/bin/python3
"""Prints PyTorch's log_softmax along the last axis and its input gradient for one input and
one output gradient, the values tests/test_op_log_softmax.cpp compares plangrad's log_softmax with.
Run with Debian's PyTorch: /usr/bin/python3 scripts/record_torch_log_softmax.py"""
import torch

# The test's inputs: multiples of 1/4, exact in float. Row 1 is shifted by 1000, where an
# unshifted exp overflows; row 2 has a tie for the maximum.
x = torch.tensor([[0.5, -1.25, 2.0, 0.0],
                  [1000.0, 998.5, 1001.25, 999.0],
                  [-3.0, 1.5, 1.5, -0.75]], dtype=torch.float64, requires_grad=True)
dy = torch.tensor([[1.0, -2.0, 0.5, 0.25],
                   [0.0, 1.0, -1.0, 3.0],
                   [2.0, 0.0, -0.5, 1.0]], dtype=torch.float64)
y = torch.log_softmax(x, -1)
y.backward(dy)
fmt = lambda t: ",\n".join("  {" + ", ".join("%.17g" % v for v in row) + "}" for row in t.tolist())
print("y:\n" + fmt(y.detach()))
print("dx:\n" + fmt(x.grad))
