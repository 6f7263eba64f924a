#!/usr/bin/python3
"""Prints PyTorch's layer norm over the last axis with a gain and bias (F.layer_norm, eps
1e-5) and the gradients of x, gain and bias for one input and one output gradient: the
values tests/test_op_layer_norm.cpp compares plangrad's layer_norm with.
Run with Debian's PyTorch: /usr/bin/python3 scripts/record_torch_layer_norm.py"""
import torch
import torch.nn.functional as F

# x [2, 3, 4]: 0.25 * ((7 i) mod 23) - 2.5, multiples of 1/4 (exact in float); the last
# row is shifted by 1000, where a one-pass variance would cancel.
x = (0.25 * ((7 * torch.arange(24, dtype=torch.float64)) % 23) - 2.5).reshape(2, 3, 4)
x[1, 2] += 1000.0
x.requires_grad_()
gamma = torch.tensor([1.5, -0.5, 2.0, 0.75], dtype=torch.float64, requires_grad=True)
beta = torch.tensor([0.25, 0.0, -1.0, 0.5], dtype=torch.float64, requires_grad=True)
dy = (0.5 * ((3 * torch.arange(24, dtype=torch.float64)) % 7) - 1.5).reshape(2, 3, 4)
y = F.layer_norm(x, (4,), gamma, beta, eps=1e-5)
y.backward(dy)
fmt = lambda t: ", ".join("%.17g" % v for v in t.flatten().tolist())
print("x:", fmt(x.detach()))
print("y:", fmt(y.detach()))
print("dx:", fmt(x.grad))
print("dgamma:", fmt(gamma.grad))
print("dbeta:", fmt(beta.grad))
