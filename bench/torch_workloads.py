"""PyTorch's side of the side-by-side benchmark (bench/workloads.cpp is plangrad's side;
bench/run.sh alternates the two). The same models, batches, float32 and fixed random
inputs; each workload warms up, then times `iters` steps one by one and prints the median
as one JSON line:
  {"side":"torch","workload":"W3","us":...,"min_us":...,"cpu_us":...,"iters":...,"threads":...}
("cpu_us": the median of this thread's CPU time per step; with one thread it is the
step's whole work, less the time other processes had the core. "faults_per_step": page
faults per step, from the tensors PyTorch allocates afresh each step; on this virtual
machine part of their cost shows in wall time but not in CPU time.)

  /usr/bin/python3 bench/torch_workloads.py [--workloads W1,W3] [--iters N] [--warmup N]
      [--threads T] [--quick] [--w4-optimizer adam|sgd]
  /usr/bin/python3 bench/torch_workloads.py --summarize results.jsonl [--load "..."]
      reads both sides' lines, prints the table and one JSON line per workload (no torch
      needed for this)

A training step is what a PyTorch user writes: zero_grad(set_to_none=True), forward,
loss, backward, optimizer.step(). Inference runs the model in eval() under
torch.inference_mode().
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

ALL = ["W1", "W2", "W3", "W4", "W5-mlp", "W5-cnn"]
# Timed steps per workload: the same defaults as bench/workloads.cpp.
ITERS = {"W1": 4000, "W2": 2000, "W3": 200, "W4": 20, "W5-mlp": 4000, "W5-cnn": 2000}


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
    if name in ("W3", "W5-mlp"):
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                              nn.Linear(128, 10))
        if name == "W5-mlp":
            return model, None, None, uniform(1, 784), None, "none"
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return model, opt, nn.CrossEntropyLoss(), uniform(128, 784), labels(128, 10), "sgd_momentum"
    if name in ("W4", "W5-cnn"):
        model = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1568, 10))
        if name == "W5-cnn":
            return model, None, None, uniform(1, 1, 28, 28), None, "none"
        if w4_optimizer == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        else:  # plangrad has no Adam yet: the same SGD as its side
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return model, opt, nn.CrossEntropyLoss(), uniform(128, 1, 28, 28), labels(128, 10), w4_optimizer
    raise SystemExit(f"torch_workloads: unknown workload '{name}'")


def run(name, iters, warmup, w4_optimizer):
    import torch

    model, opt, loss_fn, x, target, optimizer = build(name, w4_optimizer)
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

    for _ in range(warmup):
        step()
    us, cpu, loss_sum = [], [], 0.0
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    faults0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    for _ in range(iters):
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
            "min_us": round(min(us), 2), "cpu_us": round(statistics.median(cpu), 2),
            "faults_per_step": round(faults, 2), "iters": iters, "threads": torch.get_num_threads(),
            "optimizer": optimizer, "loss": loss_sum / iters, "torch": torch.__version__}
    print(json.dumps(line, separators=(",", ":")), flush=True)


def summarize(path, load):
    """Per side, the median over rounds of the per-process medians, of wall time ("us") and
    of thread CPU time ("cpu_us"); ratio = plangrad / torch."""
    rows = {}
    with open(path) as f:
        for text in f:
            text = text.strip()
            if not text.startswith("{"):
                continue
            r = json.loads(text)
            rows.setdefault(r["workload"], {}).setdefault(r["side"], []).append(r)
    order = [w for w in ALL if w in rows] + [w for w in rows if w not in ALL]

    def med(rs, key):
        vals = [r[key] for r in rs if key in r]
        return statistics.median(vals) if vals else None

    def ratio(a, b):
        return round(a / b, 3) if a and b else None

    def cell(v, width=10, digits=1):
        return f"{v:{width}.{digits}f}" if v is not None else f"{'-':>{width}}"

    print(f"{'workload':8} {'plangrad':>10} {'torch':>10} {'ratio':>6} | {'pg cpu':>10} {'torch cpu':>10} "
          f"{'ratio':>6} | rounds  notes")
    print(f"{'':8} {'wall us':>10} {'wall us':>10} {'':>6} | {'us':>10} {'us':>10} {'':>6} |")
    out = []
    for w in order:
        pg, th = rows[w].get("plangrad", []), rows[w].get("torch", [])
        first = (pg or th)[0]
        line = {"workload": w, "plangrad_us": med(pg, "us"), "torch_us": med(th, "us"),
                "ratio": ratio(med(pg, "us"), med(th, "us")),
                "plangrad_cpu_us": med(pg, "cpu_us"), "torch_cpu_us": med(th, "cpu_us"),
                "cpu_ratio": ratio(med(pg, "cpu_us"), med(th, "cpu_us")),
                "threads": first["threads"], "rounds": max(len(pg), len(th)),
                "iters": first["iters"], "optimizer": first["optimizer"]}
        notes = [f"opt={first['optimizer']}"]
        line["plangrad_faults_per_step"] = med(pg, "faults_per_step")
        line["torch_faults_per_step"] = med(th, "faults_per_step")
        if line["torch_faults_per_step"] is not None:
            notes.append(f"faults/step {line['plangrad_faults_per_step']} vs {line['torch_faults_per_step']}")
        if pg and "gemm_only_us" in pg[0]:
            line.update({"gflops": round(pg[0]["gemm_mflop"] * 1e-3 / (line["plangrad_us"] * 1e-6), 2),
                         "gemm_only_us": med(pg, "gemm_only_us"),
                         "gemm_only_cpu_us": med(pg, "gemm_only_cpu_us"),
                         "step_over_gemm": ratio(line["plangrad_us"], med(pg, "gemm_only_us")),
                         "cpu_step_over_gemm": ratio(line["plangrad_cpu_us"], med(pg, "gemm_only_cpu_us"))})
            notes.append(f"{line['gflops']} GFLOP/s; gemm-only {line['gemm_only_us']:.1f} us wall, "
                         f"{line['gemm_only_cpu_us']:.1f} cpu; step/gemm {line['step_over_gemm']} wall, "
                         f"{line['cpu_step_over_gemm']} cpu")
        if th and pg and th[0]["optimizer"] != pg[0]["optimizer"]:
            notes.append(f"OPTIMIZERS DIFFER: torch {th[0]['optimizer']}")
        if load:
            line["load"] = load
        print(f"{w:8} {cell(line['plangrad_us'])} {cell(line['torch_us'])} {cell(line['ratio'], 6, 2)} | "
              f"{cell(line['plangrad_cpu_us'])} {cell(line['torch_cpu_us'])} {cell(line['cpu_ratio'], 6, 2)} | "
              f"{line['rounds']:6}  {'; '.join(notes)}")
        out.append(line)
    print("ratio = plangrad / torch (below 1: plangrad faster); medians over rounds of per-process medians")
    for line in out:
        print(json.dumps(line, separators=(",", ":")))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--workloads", default="all")
    p.add_argument("--iters", type=int, default=0)
    p.add_argument("--warmup", type=int, default=-1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--w4-optimizer", choices=["adam", "sgd"], default="sgd")
    p.add_argument("--summarize", metavar="FILE")
    p.add_argument("--load", default="")
    a = p.parse_args()
    if a.summarize:
        summarize(a.summarize, a.load)
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
        iters = 1 if a.quick else a.iters or ITERS[name]
        warmup = 1 if a.quick else a.warmup if a.warmup >= 0 else max(3, ITERS[name] // 10)
        run(name, iters, warmup, a.w4_optimizer)


if __name__ == "__main__":
    main()
