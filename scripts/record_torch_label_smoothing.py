#!/usr/bin/python3
"""Prints PyTorch's cross-entropy with label smoothing (F.cross_entropy(z, y,
label_smoothing=eps), mean over rows) and its gradient with respect to the logits, for one
batch at two smoothing values: the values tests/test_op_label_smoothing.cpp compares
plangrad's softmax_cross_entropy with.
Run with Debian's PyTorch: /usr/bin/python3 scripts/record_torch_label_smoothing.py"""
import torch
import torch.nn.functional as F

z0 = [[1.5, -0.5, 0.25, 2.0], [-1.0, 0.75, 3.0, 0.5], [0.0, 0.0, -2.5, 1.25]]
labels = torch.tensor([3, 0, 2])
fmt = lambda t: ",\n".join("  {" + ", ".join("%.17g" % v for v in row) + "}" for row in t.tolist())
for eps in (0.1, 0.35):
    z = torch.tensor(z0, dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(z, labels, label_smoothing=eps)
    loss.backward()
    print("label_smoothing %g loss: %.17g" % (eps, loss.item()))
    print("label_smoothing %g dz:\n" % eps + fmt(z.grad))
