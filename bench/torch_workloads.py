"""PyTorch's side of the side-by-side benchmark (bench/workloads.cpp is plangrad's side,
bench/libtorch/ LibTorch C++'s; bench/run.sh alternates them). The same models, batches,
float32 and fixed random inputs; W3-real and W4-real train W3's and W4's models on real
Fashion-MNIST batches (--data DIR) in file order, each step's batch a view of the data set
made before its clock starts. Each workload warms up, then times `iters` steps one by one
and prints the median (and the mean, "mean_us") as one JSON line:
  {"side":"torch","workload":"W3","us":...,"min_us":...,"cpu_us":...,"iters":...,"threads":...}
("cpu_us": the median of this thread's CPU time per step; with one thread it is the
step's whole work, less the time other processes had the core. "faults_per_step": page
faults per step, from the tensors PyTorch allocates afresh each step; on this virtual
machine part of their cost shows in wall time but not in CPU time.)

  /usr/bin/python3 bench/torch_workloads.py [--workloads W1,W3] [--iters N] [--warmup N]
      [--threads T] [--quick] [--w4-optimizer adam|sgd] [--data DIR]
  /usr/bin/python3 bench/torch_workloads.py --summarize results.jsonl [--load "..."]
      the same as bench/summarize.py (no torch needed for this)

A training step is what a PyTorch user writes: zero_grad(set_to_none=True), forward,
loss, backward, optimizer.step(). Inference runs the model in eval() under
torch.inference_mode().
"""
import argparse
import gzip
import json
import os
import resource
import statistics
import sys
import time

ALL = ["W1", "W2", "W3", "W4", "W5-mlp", "W5-cnn", "W5-mlp-b64", "W5-cnn-b64", "W3-real", "W4-real"]
# Timed steps per workload: the same defaults as bench/workloads.cpp.
ITERS = {"W1": 4000, "W2": 2000, "W3": 200, "W4": 20, "W5-mlp": 4000, "W5-cnn": 2000,
         "W5-mlp-b64": 1000, "W5-cnn-b64": 200, "W3-real": 200, "W4-real": 200}
# Warm-up steps where not a tenth of ITERS: the real batches' 20 (then 200 timed, of 468).
WARMUP = {"W3-real": 20, "W4-real": 20}
REAL_BATCH = 128


def read_idx(directory, name):
    """DIR/name or DIR/name.gz (the plain file first, as plangrad's load_mnist_dir)."""
    import numpy as np
    for path, opener in ((os.path.join(directory, name), open), (os.path.join(directory, name + ".gz"), gzip.open)):
        if os.path.exists(path):
            with opener(path, "rb") as f:
                raw = f.read()
            ndim = raw[3]
            dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    raise SystemExit(f"torch_workloads: {directory}: no {name} or {name}.gz")


def real_data(directory):
    """Fashion-MNIST's training set: [n, 784] pixels / 255 (float32), int64 labels."""
    import torch
    images = read_idx(directory, "train-images-idx3-ubyte").reshape(-1, 784)
    labels = read_idx(directory, "train-labels-idx1-ubyte")
    return torch.from_numpy(images.astype("float32") / 255), torch.from_numpy(labels.astype("int64"))


def build(name, w4_optimizer):
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(7)

    def uniform(*shape):
        return torch.rand(*shape, generator=g)

    def labels(n, classes):
        return torch.randint(0, classes, (n,), generator=g)

    torch.manual_seed(1)
    if name == "W1":
        model = nn.Sequential(nn.Linear(2, 25), nn.ReLU(), nn.Linear(25, 25), nn.ReLU(),
                              nn.Linear(25, 25), nn.ReLU(), nn.Linear(25, 2), nn.Tanh())
        x = uniform(100, 2)
        y = nn.functional.one_hot(labels(100, 2), 2).float()
        return model, torch.optim.SGD(model.parameters(), lr=0.1), nn.MSELoss(), x, y, "sgd"
    if name == "W2":
        layers, width = [], 2
        for units in (100, 50, 20):
            layers += [nn.Linear(width, units), nn.BatchNorm1d(units), nn.ReLU()]
            width = units
        model = nn.Sequential(*layers, nn.Linear(width, 1))
        x = uniform(64, 2)
        t = labels(64, 2).float().reshape(64, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        return model, opt, nn.BCEWithLogitsLoss(), x, t, "sgd_momentum_wd"
    if name in ("W3", "W5-mlp", "W5-mlp-b64"):
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                              nn.Linear(128, 10))
        if name.startswith("W5"):
            return model, None, None, uniform(64 if name.endswith("-b64") else 1, 784), None, "none"
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return model, opt, nn.CrossEntropyLoss(), uniform(128, 784), labels(128, 10), "sgd_momentum"
    if name in ("W4", "W5-cnn", "W5-cnn-b64"):
        model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1568, 10))
        if name.startswith("W5"):
            return model, None, None, uniform(64 if name.endswith("-b64") else 1, 1, 28, 28), None, "none"
        if w4_optimizer == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        else:  # plangrad has no Adam yet: the same SGD as its side
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return model, opt, nn.CrossEntropyLoss(), uniform(128, 1, 28, 28), labels(128, 10), w4_optimizer
    raise SystemExit(f"torch_workloads: unknown workload '{name}'")


def run(name, iters, warmup, w4_optimizer, data_dir):
    import torch

    real = name.endswith("-real")
    model, opt, loss_fn, x, target, optimizer = build(name[:-len("-real")] if real else name, w4_optimizer)
    prepare = None
    if real:
        images, labels = real_data(data_dir)
        batches = len(labels) // REAL_BATCH
        shape = (REAL_BATCH, 1, 28, 28) if name.startswith("W4") else (REAL_BATCH, 784)

        def prepare(i):
            # Batch i in file order: a view of the data set, no copy, made before the clock starts.
            nonlocal x, target
            start = i % batches * REAL_BATCH
            x = images[start:start + REAL_BATCH].view(shape)
            target = labels[start:start + REAL_BATCH]
    if opt is None:
        model.eval()

        def step():
            with torch.inference_mode():
                return model(x)
    else:
        model.train()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), target)
            loss.backward()
            opt.step()
            return loss

    n = 0
    for _ in range(warmup):
        if prepare:
            prepare(n)
        n += 1
        step()
    us, cpu, loss_sum = [], [], 0.0
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    faults0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(iters):
        if prepare:
            prepare(n)
        n += 1
        c0 = cpu_clock()
        t0 = clock()
        out = step()
        t1 = clock()
        cpu.append((cpu_clock() - c0) / 1000.0)
        us.append((t1 - t0) / 1000.0)
        if opt is not None:
            loss_sum += float(out)  # outside the timed region, as on plangrad's side
    faults = (resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - faults0) / iters
    line = {"side": "torch", "workload": name, "us": round(statistics.median(us), 2),
            "min_us": round(min(us), 2), "mean_us": round(sum(us) / len(us), 2),
            "cpu_us": round(statistics.median(cpu), 2),
            "faults_per_step": round(faults, 2), "iters": iters, "threads": torch.get_num_threads(),
            "optimizer": optimizer, "loss": loss_sum / iters, "torch": torch.__version__}
    if real:
        line["data"] = "fashion-mnist train, file order"
    print(json.dumps(line, separators=(",", ":")), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workloads", default="all")
    p.add_argument("--iters", type=int, default=0)
    p.add_argument("--warmup", type=int, default=-1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--w4-optimizer", choices=["adam", "sgd"], default="sgd")
    p.add_argument("--data", default=os.path.join("data", "fashion-mnist"))
    p.add_argument("--summarize", metavar="FILE")
    p.add_argument("--load", default="")
    a = p.parse_args()
    if a.summarize:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import summarize
        summarize.summarize([a.summarize], a.load)
        return
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if os.environ.get(var) != str(a.threads):
            print(f"torch_workloads: note: {var} is {os.environ.get(var)!r}, not {a.threads} "
                  "(run.sh sets it)", file=sys.stderr)
    import torch
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    names = ALL if a.workloads == "all" else [w for w in a.workloads.split(",") if w]
    for name in names:
        if name not in ITERS:
            raise SystemExit(f"torch_workloads: unknown workload '{name}'")
        iters = 1 if a.quick else a.iters or ITERS[name]
        warmup = 1 if a.quick else a.warmup if a.warmup >= 0 else WARMUP.get(name, max(3, ITERS[name] // 10))
        run(name, iters, warmup, a.w4_optimizer, a.data)


if __name__ == "__main__":
    main()
