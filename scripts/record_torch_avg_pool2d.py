#!/usr/bin/python3
"""Prints PyTorch's avg_pool2d and its input gradient for one input and one output gradient
per setting: the values tests/test_op_avg_pool2d.cpp compares plangrad's avg_pool2d with.
Run with Debian's PyTorch: /usr/bin/python3 scripts/record_torch_avg_pool2d.py"""
import torch
import torch.nn.functional as F

# x [1, 2, 4, 5]: 0.25 * ((7 i) mod 23) - 2.5, multiples of 1/4 (exact in float).
x0 = (0.25 * ((7 * torch.arange(40, dtype=torch.float64)) % 23) - 2.5).reshape(1, 2, 4, 5)
print("x:", ", ".join("%.17g" % v for v in x0.flatten().tolist()))
settings = [
    ("kernel [2, 2], stride the kernel", dict(kernel_size=(2, 2))),
    ("kernel [3, 3], stride [1, 2], padding [1, 1]", dict(kernel_size=(3, 3), stride=(1, 2), padding=(1, 1))),
    ("the same, count_include_pad=False",
     dict(kernel_size=(3, 3), stride=(1, 2), padding=(1, 1), count_include_pad=False)),
]
for name, kw in settings:
    x = x0.clone().requires_grad_()
    y = F.avg_pool2d(x, **kw)
    # dy: 0.5 * ((3 i) mod 7) - 1.5, as many as y has elements.
    dy = (0.5 * ((3 * torch.arange(y.numel(), dtype=torch.float64)) % 7) - 1.5).reshape(y.shape)
    y.backward(dy)
    print(name, "y", list(y.shape), ":", ", ".join("%.17g" % v for v in y.detach().flatten().tolist()))
    print(name, "dx:", ", ".join("%.17g" % v for v in x.grad.flatten().tolist()))
