#!/usr/bin/env python3
"""The recipes of examples/mnist in Debian's PyTorch, for comparison.

    /usr/bin/python3 scripts/torch_mnist.py DATA_DIR [--model mlp|cnn|resnet] [--epochs E]
                                            [--seeds 1,2,3] [--no-normalize] [--threads T]
                                            [--lr LR] [--widths 16,32,64] [--blocks 1]

DATA_DIR holds the four IDX files (gzipped or not), as scripts/prepare_data.sh leaves them.
--model mlp (default): 784-256-128-10 with ReLU, SGD lr 0.05 momentum 0.9, 5 epochs.
--model cnn: [conv 3x3 pad 1, batchnorm, ReLU, max-pool 2] with 16 then 32 channels,
flatten, dense 1568 -> 10; Adam lr 1e-3, 2 epochs.
--model resnet: networks/resnet.hpp's residual CNN (stem conv 3x3, batchnorm, ReLU, max-pool 2; three
stages of --widths channels, each --blocks residual blocks relu(x + bn(conv(relu(bn(conv(x))))))
with bias-free 3x3 convolutions, a conv 3x3 stride 2 with batchnorm and ReLU between stages;
global average pooling, dropout 0.2, dense -> 10); Adam with OneCycleLR per step peaking at
--lr (default 5e-3; PyTorch's defaults but cycle_momentum=False, as plangrad's onecycle),
5 epochs. All: PyTorch's default initialization,
softmax cross-entropy, batch 128 (the last, shorter batch kept), one shuffle per epoch,
--threads T (default 1) threads, test accuracy in eval mode and the training loop's time. Pixels are scaled to [0, 1] and, unless
--no-normalize, standardized with the training images' mean and standard deviation
(what plangrad's normalize node does). Prints the test accuracy and the training time per
seed.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def find(directory, stem):
    for name in sorted(os.listdir(directory)):
        if name.startswith(stem):
            return os.path.join(directory, name)
    raise SystemExit(f"{directory}: no file starting with {stem}")


class Block(torch.nn.Module):
    """relu(x + bn(conv(relu(bn(conv(x)))))), 3x3 convolutions without bias."""

    def __init__(self, width):
        super().__init__()
        nn = torch.nn
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width))

    def forward(self, x):
        return torch.relu(x + self.body(x))


def resnet(widths, blocks):
    """networks/resnet.hpp's network."""
    nn = torch.nn

    def conv_bn_relu(cin, cout, stride):
        return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    layers = conv_bn_relu(1, widths[0], 1) + [nn.MaxPool2d(2)]
    for stage, width in enumerate(widths):
        if stage > 0:
            layers += conv_bn_relu(widths[stage - 1], width, 2)
        layers += [Block(width) for _ in range(blocks)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(widths[-1], 10)]
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--model", choices=("mlp", "cnn", "resnet"), default="mlp")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--no-normalize", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--lr", type=float, help="resnet: the one-cycle peak (default 5e-3)")
    ap.add_argument("--widths", default="16,32,64", help="resnet: the three stages' channels")
    ap.add_argument("--blocks", type=int, default=1, help="resnet: residual blocks per stage")
    args = ap.parse_args()
    epochs = args.epochs if args.epochs is not None else {"cnn": 2}.get(args.model, 5)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    x_train = read_idx(find(args.data, "train-images")).reshape(-1, 784).astype(np.float32) / 255
    y_train = read_idx(find(args.data, "train-labels")).astype(np.int64)
    x_test = read_idx(find(args.data, "t10k-images")).reshape(-1, 784).astype(np.float32) / 255
    y_test = read_idx(find(args.data, "t10k-labels")).astype(np.int64)
    if not args.no_normalize:
        mean, std = float(x_train.mean(dtype=np.float64)), float(x_train.std(dtype=np.float64))
        print(f"input normalization: mean {mean:.4f}, std {std:.4f}")
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    x_train, y_train, x_test, y_test = map(torch.from_numpy, (x_train, y_train, x_test, y_test))

    if args.model in ("cnn", "resnet"):
        x_train, x_test = x_train.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    nn = torch.nn
    for seed in (int(s) for s in args.seeds.split(",")):
        torch.manual_seed(seed)
        schedule = None
        if args.model == "cnn":
            net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Flatten(), nn.Linear(1568, 10))
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        elif args.model == "resnet":
            net = resnet([int(w) for w in args.widths.split(",")], args.blocks)
            opt = torch.optim.Adam(net.parameters())
            steps = epochs * ((len(x_train) + 127) // 128)
            schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr or 5e-3, total_steps=steps,
                                                           cycle_momentum=False)
        else:
            net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
            opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        net.train()
        start = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(len(x_train))
            for i in range(0, len(x_train), 128):
                idx = perm[i:i + 128]
                opt.zero_grad()
                torch.nn.functional.cross_entropy(net(x_train[idx]), y_train[idx]).backward()
                opt.step()
                if schedule:
                    schedule.step()
        seconds = time.perf_counter() - start
        net.eval()
        with torch.no_grad():
            predicted = torch.cat([net(x_test[i:i + 1000]).argmax(1) for i in range(0, len(x_test), 1000)])
            accuracy = (predicted == y_test).float().mean().item()
        print(f"seed {seed}: test accuracy {100 * accuracy:.2f}% (trained in {seconds:.2f} s)", flush=True)


if __name__ == "__main__":
    main()
