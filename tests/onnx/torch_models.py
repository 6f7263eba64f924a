"""PyTorch models exported to ONNX for plangrad's import tests (tests/onnx/test_import.cpp).

    /usr/bin/python3 tests/onnx/torch_models.py OUT_DIR

Builds seeded models (an MLP, the MNIST CNN of networks/models.cpp with non-trivial
batchnorm statistics, the residual block of networks/models.cpp, a CNN that flattens with
x.view(x.size(0), -1), and one with the remaining mapped ops), exports each with
torch.onnx.export at opsets 11 to 17, with and without do_constant_folding, with a dynamic
batch axis, and writes PyTorch's outputs for fixed inputs at batch 1 and 64. OUT_DIR gets
the .onnx files, raw little-endian float32 .bin files, and manifest.json:
  {"models": [{"name", "onnx": [{"file", "opset", "folding"}...],
               "cases": [{"batch", "input": {"name", "shape", "file"},
                          "output": {"name", "shape", "file"}}...]}...]}
"""
import json
import os
import sys

import torch
from torch import nn


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, 16)
        self.fc4 = nn.Linear(16, 10)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        h = torch.sigmoid(self.fc2(h))
        h = torch.tanh(self.fc3(h))
        return torch.softmax(self.fc4(h), dim=1)


def mnist_cnn():
    # networks/models.cpp's mnist_cnn: two (conv 3x3 pad 1, batchnorm, relu, 2x2 max
    # pool) blocks of 16 and 32 channels, flatten, dense to 10 logits.
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


class Residual(nn.Module):
    # networks/models.cpp's residual_dag.
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 32)
        self.logits = nn.Linear(32, 10)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        a = torch.tanh(self.fc2(h))
        return self.logits(h + a)


class ViewFlatten(nn.Module):
    # x.view(x.size(0), -1): the Shape/Gather/Unsqueeze/Concat chain before a Reshape.
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, stride=2)
        self.fc = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        return self.fc(h.view(h.size(0), -1))


class Extras(nn.Module):
    # Conv without bias, LeakyReLU, AvgPool with padding (count_include_pad), MaxPool with
    # stride and padding, a Concat of the two pools' outputs along the channels, dropout
    # (eval: none), GlobalAveragePool then Flatten, a MatMul + Add head, LogSoftmax.
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1)
        self.mpool = nn.MaxPool2d(3, stride=1, padding=1)
        self.drop = nn.Dropout(0.3)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.w = nn.Parameter(torch.randn(16, 6) * 0.3)
        self.b = nn.Parameter(torch.randn(6) * 0.1)

    def forward(self, x):
        h = self.pool(nn.functional.leaky_relu(self.bn(self.conv(x)), 0.2))
        h = self.drop(torch.cat([h, self.mpool(h)], dim=1))
        h = torch.flatten(self.gap(h), 1)
        return torch.log_softmax(torch.matmul(h, self.w) + self.b, dim=-1)


def randomize_batchnorm(model):
    # Running statistics and affine parameters away from their initial 0/1, so that an
    # import that mixes them up cannot match.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c) * 0.5)
            m.running_var.copy_(torch.rand(c) * 2 + 0.25)
            m.weight.data.copy_(torch.randn(c) * 0.5 + 1)
            m.bias.data.copy_(torch.randn(c) * 0.2)


MODELS = [
    ("mlp", Mlp, (20,)),
    ("mnist_cnn", mnist_cnn, (1, 28, 28)),
    ("residual", Residual, (16,)),
    ("view_flatten", ViewFlatten, (1, 14, 14)),
    ("extras", Extras, (3, 10, 10)),
]


def write_bin(path, tensor):
    tensor.detach().contiguous().to(torch.float32).numpy().astype("<f4").tofile(path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = {"models": []}
    for index, (name, make, sample) in enumerate(MODELS):
        torch.manual_seed(1000 + index)
        model = make()
        with torch.no_grad():
            randomize_batchnorm(model)
        model.eval()
        entry = {"name": name, "onnx": [], "cases": []}
        for opset in range(11, 18):
            for folding in (True, False):
                file = f"{name}_op{opset}_{'fold' if folding else 'nofold'}.onnx"
                torch.onnx.export(model, torch.zeros((2,) + sample), os.path.join(out, file),
                                  opset_version=opset, do_constant_folding=folding,
                                  input_names=["x"], output_names=["y"],
                                  dynamic_axes={"x": {0: "N"}, "y": {0: "N"}},
                                  # PRESERVE keeps BatchNormalization nodes (EVAL would
                                  # fold them into the convolutions before them).
                                  training=torch.onnx.TrainingMode.PRESERVE)
                entry["onnx"].append({"file": file, "opset": opset, "folding": folding})
        for batch in (1, 64):
            x = torch.randn((batch,) + sample)
            with torch.no_grad():
                y = model(x)
            xf, yf = f"{name}_x{batch}.bin", f"{name}_y{batch}.bin"
            write_bin(os.path.join(out, xf), x)
            write_bin(os.path.join(out, yf), y)
            entry["cases"].append({"batch": batch,
                                   "input": {"name": "x", "shape": list(x.shape), "file": xf},
                                   "output": {"name": "y", "shape": list(y.shape), "file": yf}})
        manifest["models"].append(entry)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    with torch.no_grad():
        main()
