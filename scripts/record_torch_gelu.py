#!/usr/bin/python3
"""Prints PyTorch's gelu with the tanh approximation and its input gradient for one input
and one output gradient: the values tests/test_op_gelu.cpp compares plangrad's gelu with.
Run with Debian's PyTorch: /usr/bin/python3 scripts/record_torch_gelu.py"""
import torch
import torch.nn.functional as F

# Multiples of 1/4 (exact in float), from the negative tail through 0 to the positive one.
x = torch.tensor([[-6.0, -2.5, -1.0, -0.25], [0.0, 0.5, 1.75, 4.0]], dtype=torch.float64, requires_grad=True)
dy = torch.tensor([[1.0, -2.0, 0.5, 0.25], [0.75, 1.0, -1.0, 3.0]], dtype=torch.float64)
y = F.gelu(x, approximate='tanh')
y.backward(dy)
fmt = lambda t: ",\n".join("  {" + ", ".join("%.17g" % v for v in row) + "}" for row in t.tolist())
print("y:\n" + fmt(y.detach()))
print("dx:\n" + fmt(x.grad))
