#!/usr/bin/python3
"""Prints PyTorch's global average pooling (x.mean((2, 3))) and its input gradient for one
input and one output gradient: the values tests/test_op_global_avg_pool2d.cpp compares
plangrad's global_avg_pool2d with.
Run with Debian's PyTorch: /usr/bin/python3 scripts/record_torch_global_avg_pool2d.py"""
import torch

# x [2, 3, 2, 3]: 0.25 * ((7 i) mod 23) - 2.5, multiples of 1/4 (exact in float).
x = (0.25 * ((7 * torch.arange(36, dtype=torch.float64)) % 23) - 2.5).reshape(2, 3, 2, 3).requires_grad_()
dy = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.5]], dtype=torch.float64)
y = x.mean((2, 3))
y.backward(dy)
print("x:", ", ".join("%.17g" % v for v in x.detach().flatten().tolist()))
print("y:", ", ".join("%.17g" % v for v in y.detach().flatten().tolist()))
print("dx:", ", ".join("%.17g" % v for v in x.grad.flatten().tolist()))
