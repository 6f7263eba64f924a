#!/usr/bin/env python3
"""plangrad's tabular recipes in PyTorch, on the same train/test split.

The split is plangrad's split_rows (datasets/csv.hpp), reimplemented here: a Fisher-Yates
shuffle of the row indices from plangrad's Rng(seed) (splitmix64 seeding xoshiro256**,
below(n) = (next() * n) >> 64), the first round(n * test) held out. Features standardized
with the training rows' mean and population standard deviation (a regression's target
too); an MLP with ReLU hidden layers and PyTorch's default initialization; the task's
loss (cross-entropy on class indices, binary cross-entropy on one logit, MSE on the
standardized target); Adam; batches reshuffled every epoch, the last shorter one kept.
Class labels are numbered as plangrad numbers them: integers are the indices, other
labels sorted. Prints one JSON line: the test accuracy (classifiers) or the test RMSE,
MAE and R^2 in the target's units (regression), and which rows were held out.

    scripts/torch_tabular.py --task regression [--data data/diabetes.csv] [--seed 1]   # examples/regression.cpp's recipe
    scripts/torch_tabular.py --task classification --data data/wine.csv --target class --hidden 16 \
        --lr 0.01 --batch 16
"""
import argparse
import csv
import json
import math
import time

import torch

MASK = (1 << 64) - 1


class Rng:
    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed = (seed + 0x9E3779B97F4A7C15) & MASK
            z = seed
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def next(self):
        s = self.s
        result = (self.rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self.rotl(s[3], 45)
        return result

    def below(self, n):
        return (self.next() * n) >> 64


def split_rows(n, fraction, seed):
    order = list(range(n))
    rng = Rng(seed)
    for i in range(n - 1, 0, -1):
        j = rng.below(i + 1)
        order[i], order[j] = order[j], order[i]
    held = min(max(int(math.floor(n * fraction + 0.5)), 1), n - 1)  # std::round: halves away from zero
    return sorted(order[held:]), sorted(order[:held])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", choices=["classification", "binary", "regression"], default="regression")
    p.add_argument("--data", default="data/diabetes.csv")
    p.add_argument("--target", default="progression")
    p.add_argument("--test", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", default="64,32")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)

    with open(a.data, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    t = header.index(a.target)
    x = torch.tensor([[float(v) for i, v in enumerate(r) if i != t] for r in rows], dtype=torch.float32)
    labels = [r[t] for r in rows]
    kept, held = split_rows(len(rows), a.test, a.seed)
    if a.task == "regression":
        y = torch.tensor([[float(v)] for v in labels], dtype=torch.float32)
    else:
        if all(v.isdigit() for v in labels):
            index = {v: int(v) for v in set(labels)}
        else:
            index = {v: i for i, v in enumerate(sorted(set(labels[i] for i in kept)))}
        y = torch.tensor([index[v] for v in labels])
        if a.task == "binary":
            y = y.float().unsqueeze(1)
    xtr, ytr, xte, yte = x[kept], y[kept], x[held], y[held]
    xm, xs = xtr.double().mean(0), xtr.double().std(0, unbiased=False)
    xs[xs == 0] = 1
    xm, xs = xm.float(), xs.float()
    xtr_n, xte_n = (xtr - xm) / xs, (xte - xm) / xs
    ytr_n = ytr
    if a.task == "regression":
        ym, ys = ytr.double().mean(0).float(), ytr.double().std(0, unbiased=False).float()
        ytr_n = (ytr - ym) / ys
    outputs = {"regression": 1, "binary": 1, "classification": int(y.max()) + 1}[a.task]

    layers, width = [], x.shape[1]
    for h in [int(w) for w in a.hidden.split(",") if w]:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, outputs))
    loss_fn = {"regression": torch.nn.functional.mse_loss,
               "binary": torch.nn.functional.binary_cross_entropy_with_logits,
               "classification": torch.nn.functional.cross_entropy}[a.task]
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xtr_n, ytr_n), batch_size=a.batch,
                                         shuffle=True)
    start = time.perf_counter()
    for _ in range(a.epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    line = {"example": "torch_tabular", "task": a.task, "seed": a.seed, "epochs": a.epochs,
            "train_seconds": time.perf_counter() - start}
    with torch.no_grad():
        out = model(xte_n)
    if a.task == "regression":
        err = (out * ys + ym - yte).double()
        line["test_rmse"] = err.pow(2).mean().sqrt().item()
        line["test_mae"] = err.abs().mean().item()
        line["test_r2"] = 1 - err.pow(2).sum().item() / (yte.double() - yte.double().mean()).pow(2).sum().item()
    else:
        pred = (out > 0).float() if a.task == "binary" else out.argmax(1)
        line["test_accuracy"] = (pred == yte).float().mean().item()
    line.update({"test_rows": len(held), "first_test_row": held[0], "test_row_sum": sum(held)})
    print(json.dumps(line))


if __name__ == "__main__":
    main()
