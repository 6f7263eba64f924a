#!/usr/bin/env python3
"""The circle and ball recipes of examples/circle and examples/ball in Debian's PyTorch, on
the exact points the examples wrote (`--write-data DIR`), for scripts/reproduce.sh.

    /usr/bin/python3 scripts/torch_repro.py TASK DIR [--seed S] [--epochs E] [--log FILE]

TASK: circle-mlp (2-25-25-25-2, ReLU, tanh output, MSE on one-hot targets, SGD lr 0.1,
batch 100, 250 epochs), circle-paper-bn (2-100-50-20-1, dense -> batchnorm -> ReLU, one
logit, binary cross-entropy, Adam lr 2e-3, weight decay 0.05 / 1000, batch 64, 1000 epochs)
or ball (conv 3->5 and 5->1, 3x3 padding 1, ReLU, dense 16->10->1, binary cross-entropy,
Adam lr 3e-3, weight decay 0.05 / 1000, batch 64, 1000 epochs). DIR holds train.txt and
test.txt, one example per line: its features, then its 0/1 label. PyTorch's default
initialization from torch.manual_seed(S), one shuffle per epoch, the last shorter batch
kept, --threads T (default 1) threads, accuracy in eval mode (class 1 when the logit is positive; the larger
output for circle-mlp). --log writes one JSON object per epoch (train loss: the mean of the
epoch's step losses; test loss and accuracy), as plangrad's fit log. Prints one JSON line.
"""
import argparse
import json
import time

import numpy as np
import torch

nn = torch.nn


def recipe(task):
    if task == "circle-mlp":
        net = nn.Sequential(nn.Linear(2, 25), nn.ReLU(), nn.Linear(25, 25), nn.ReLU(), nn.Linear(25, 25), nn.ReLU(),
                            nn.Linear(25, 2), nn.Tanh())
        return net, torch.optim.SGD(net.parameters(), lr=0.1), 100, 250
    if task == "circle-paper-bn":
        layers, width = [], 2
        for w in (100, 50, 20):
            layers += [nn.Linear(width, w), nn.BatchNorm1d(w), nn.ReLU()]
            width = w
        net = nn.Sequential(*layers, nn.Linear(20, 1))
        return net, torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=0.05 / 1000), 64, 1000
    if task == "ball":
        net = nn.Sequential(nn.Unflatten(1, (3, 4, 4)), nn.Conv2d(3, 5, 3, padding=1), nn.ReLU(),
                            nn.Conv2d(5, 1, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16, 10), nn.ReLU(),
                            nn.Linear(10, 1))
        return net, torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=0.05 / 1000), 64, 1000
    raise SystemExit(f"unknown task {task}")


def load(path):
    table = np.loadtxt(path, dtype=np.float32, ndmin=2)
    return torch.from_numpy(table[:, :-1].copy()), torch.from_numpy(table[:, -1].copy())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=("circle-mlp", "circle-paper-bn", "ball"))
    ap.add_argument("data")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--log")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    x_train, label_train = load(f"{args.data}/train.txt")
    x_test, label_test = load(f"{args.data}/test.txt")
    one_hot = args.task == "circle-mlp"
    if one_hot:
        loss_fn = nn.MSELoss()
        target = lambda labels: nn.functional.one_hot(labels.long(), 2).float()
        predict = lambda out: out.argmax(1).float()
    else:
        loss_fn = nn.BCEWithLogitsLoss()
        target = lambda labels: labels.reshape(-1, 1)
        predict = lambda out: (out[:, 0] > 0).float()
    y_train, y_test = target(label_train), target(label_test)

    torch.manual_seed(args.seed)
    net, opt, batch, epochs = recipe(args.task)
    if args.epochs is not None:
        epochs = args.epochs
    log = open(args.log, "w") if args.log else None

    def evaluate(x, y, labels):
        net.eval()
        with torch.no_grad():
            out = net(x)
            result = loss_fn(out, y).item(), (predict(out) == labels).float().mean().item()
        net.train()
        return result

    seconds = 0.0
    net.train()
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        perm = torch.randperm(len(x_train))
        losses = []
        for i in range(0, len(x_train), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(net(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        seconds += time.perf_counter() - start
        if log:
            val_loss, val_acc = evaluate(x_test, y_test, label_test)
            _, train_acc = evaluate(x_train, y_train, label_train)
            log.write(json.dumps({"epoch": epoch, "loss": sum(losses) / len(losses), "val_loss": val_loss,
                                  "train_accuracy": train_acc, "val_accuracy": val_acc}, separators=(",", ":")) + "\n")
    if log:
        log.close()
    _, train_acc = evaluate(x_train, y_train, label_train)
    _, test_acc = evaluate(x_test, y_test, label_test)
    print(json.dumps({"example": args.task, "framework": "pytorch", "seed": args.seed, "test_accuracy": round(test_acc, 4),
                      "train_accuracy": round(train_acc, 4), "train_seconds": round(seconds, 4)}), flush=True)


if __name__ == "__main__":
    main()
