#!/usr/bin/python3
"""Prints PyTorch's batchnorm running statistics after one Train-mode forward, the values
tests/test_reference_values.cpp compares plangrad's 2-D and 4-D batchnorm with.
Run with Debian's PyTorch: /usr/bin/python3 scripts/record_torch_batchnorm.py"""
import torch


def record(shape):
    n = 1
    for s in shape:
        n *= s
    # The test's inputs: multiples of 1/4, exact in float.
    x = torch.tensor([((i * 37) % 23) * 0.25 - 2.5 for i in range(n)], dtype=torch.float64).reshape(shape)
    bn = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(3, eps=1e-5, momentum=0.1).double()
    bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
    bn.running_var.copy_(torch.tensor([1.0, 2.0, 0.5]))
    bn.train()
    bn(x)
    fmt = lambda t: ", ".join("%.9g" % v for v in t.tolist())
    print(f"{list(shape)}: running_mean {{{fmt(bn.running_mean)}}}, running_var {{{fmt(bn.running_var)}}}")


record([4, 3, 2, 3])
record([5, 3])
