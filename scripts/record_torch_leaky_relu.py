#!/usr/bin/python3
"""Prints PyTorch's leaky_relu and its input gradient for one input and one output
gradient, at the default slope and at 0.2: the values tests/test_op_leaky_relu.cpp
compares plangrad's leaky_relu with.
Run with Debian's PyTorch: /usr/bin/python3 scripts/record_torch_leaky_relu.py"""
import torch
import torch.nn.functional as F

# Multiples of 1/4 (exact in float), with a 0 where the two branches meet.
x0 = [[-2.0, -0.25, 0.0, 0.5], [3.0, -1.5, 1.25, -4.0]]
dy = torch.tensor([[1.0, -2.0, 0.5, 0.25], [0.0, 1.0, -1.0, 3.0]], dtype=torch.float64)
fmt = lambda t: ",\n".join("  {" + ", ".join("%.17g" % v for v in row) + "}" for row in t.tolist())
for alpha in (0.01, 0.2):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y = F.leaky_relu(x, alpha)
    y.backward(dy)
    print("alpha %g y:\n" % alpha + fmt(y.detach()))
    print("alpha %g dx:\n" % alpha + fmt(x.grad))
