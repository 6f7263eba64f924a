#!/usr/bin/env python3
"""The job table: what users run, timed end to end, plangrad against PyTorch.

    /usr/bin/python3 bench/job.py [--build DIR] [--data DIR] [--rounds R] [--threads 1,2]
                                  [--jobs fashion-cnn,fashion-mlp,circle] [--quick]

Each job is one whole training run of an example's recipe on real data, and its PyTorch
twin with the same recipe on the same data (scripts/torch_mnist.py, scripts/torch_repro.py):
  fashion-cnn  one epoch of Fashion-MNIST (60,000 images), the MNIST CNN, Adam, batch 128
               (build/mnist --model cnn --epochs 1)
  fashion-mlp  one epoch of Fashion-MNIST, the 784-256-128-10 MLP, SGD momentum, batch 128
               (build/mnist --model mlp --epochs 1)
  circle       the circle MLP's 250 epochs on 1,000 points (build/circle; PyTorch on the
               points the example writes with --write-data)
Both sides report the training loop's own time (data loading and evaluation excluded, the
same on both sides); each process's peak memory is its maximum resident set (wait4's
ru_maxrss). The sides run alternately (plangrad, PyTorch, plangrad, ...) for R rounds per
thread count, so both see the same machine. Threads: OPENBLAS_NUM_THREADS=T for plangrad
(its kernels' pool takes OpenBLAS's count), torch.set_num_threads(T) and
OMP/MKL/OPENBLAS_NUM_THREADS=T for PyTorch. The table gives per job and thread count the
median time of each side, its range (min-max), the ratio of the medians (plangrad /
PyTorch; below 1: plangrad faster) and the peak RSS; one JSON line per row follows.
--quick: one round, circle at 5 epochs and the MNIST jobs on the 8,000 MNIST digits of
data/mnist (shows the script works; the figures mean nothing).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"


def run_measured(cmd, threads):
    """Runs cmd, returns (stdout, peak RSS in MiB) from wait4 on exactly this child."""
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read()
        if proc.returncode != 0:
            sys.exit(f"job.py: {' '.join(cmd)} failed ({proc.returncode}):\n{err.read()}{text}")
    return text, usage.ru_maxrss / 1024.0


def plangrad_seconds(text):
    last = [line for line in text.splitlines() if line.startswith("{")]
    if not last:
        sys.exit("job.py: plangrad printed no result line:\n" + text)
    return float(json.loads(last[-1])["train_seconds"])


def torch_mnist_seconds(text):
    m = re.search(r"trained in ([0-9.]+) s", text)
    if not m:
        sys.exit("job.py: torch_mnist.py printed no time:\n" + text)
    return float(m.group(1))


def torch_repro_seconds(text):
    last = [line for line in text.splitlines() if line.startswith("{")]
    if not last:
        sys.exit("job.py: torch_repro.py printed no result line:\n" + text)
    return float(json.loads(last[-1])["train_seconds"])


def jobs(build, data, quick, scratch):
    # --quick trains on the 8,000 real MNIST digits instead of Fashion-MNIST's 60,000.
    fashion = os.path.join(data, "mnist" if quick else "fashion-mnist")
    circle_epochs = ["--epochs", "5"] if quick else []
    circle_points = os.path.join(scratch, "circle")
    os.mkdir(circle_points)
    # The circle's points, for PyTorch: the same 1,000 training points the example draws.
    run_measured([os.path.join(build, "circle"), "--write-data", circle_points] + circle_epochs, 1)
    table = {}
    for model in ("cnn", "mlp"):
        table[f"fashion-{model}"] = (
            lambda t, model=model: [os.path.join(build, "mnist"), "--data", fashion, "--model", model,
                                    "--epochs", "1", "--seed", "1"],
            plangrad_seconds,
            lambda t, model=model: [PYTHON, os.path.join(ROOT, "scripts", "torch_mnist.py"), fashion, "--model", model,
                                    "--epochs", "1", "--seeds", "1", "--threads", str(t)],
            torch_mnist_seconds,
        )
    table["circle"] = (
        lambda t: [os.path.join(build, "circle")] + circle_epochs,
        plangrad_seconds,
        lambda t: [PYTHON, os.path.join(ROOT, "scripts", "torch_repro.py"), "circle-mlp", circle_points,
                   "--threads", str(t)] + circle_epochs,
        torch_repro_seconds,
    )
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--data", default=os.path.join(ROOT, "data"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--jobs", default="fashion-cnn,fashion-mlp,circle")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rounds = 1 if args.quick else args.rounds
    if rounds < 1:
        sys.exit("job.py: --rounds takes a positive integer")
    threads = [int(t) for t in args.threads.split(",")]
    with tempfile.TemporaryDirectory(prefix="plangrad-job-") as scratch:
        table = jobs(args.build, args.data, args.quick, scratch)
        names = args.jobs.split(",")
        for name in names:
            if name not in table:
                sys.exit(f"job.py: unknown job '{name}' (jobs: {', '.join(table)})")
        with open("/proc/loadavg") as f:
            load_before = " ".join(f.read().split()[:3])
        rows = []
        for name in names:
            pg_cmd, pg_parse, th_cmd, th_parse = table[name]
            for t in threads:
                pg, th, pg_rss, th_rss = [], [], [], []
                for _ in range(rounds):
                    text, rss = run_measured(pg_cmd(t), t)
                    pg.append(pg_parse(text))
                    pg_rss.append(rss)
                    text, rss = run_measured(th_cmd(t), t)
                    th.append(th_parse(text))
                    th_rss.append(rss)
                rows.append({"job": name, "threads": t, "rounds": rounds,
                             "plangrad_s": statistics.median(pg), "plangrad_min": min(pg), "plangrad_max": max(pg),
                             "torch_s": statistics.median(th), "torch_min": min(th), "torch_max": max(th),
                             "ratio": statistics.median(pg) / statistics.median(th),
                             "plangrad_rss_mib": max(pg_rss), "torch_rss_mib": max(th_rss)})
                print(f"job.py: {name} at {t} thread(s): plangrad {rows[-1]['plangrad_s']:.2f} s, "
                      f"PyTorch {rows[-1]['torch_s']:.2f} s", file=sys.stderr, flush=True)
        with open("/proc/loadavg") as f:
            load_after = " ".join(f.read().split()[:3])
    print(f"job table: {rounds} rounds, load average before {load_before}, after {load_after}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    print(f"{'job':<12} {'threads':>7} {'plangrad s (range)':>22} {'PyTorch s (range)':>22} {'ratio':>6} "
          f"{'RSS MiB pg / torch':>19}")
    for r in rows:
        pg = f"{r['plangrad_s']:.3g} ({r['plangrad_min']:.3g}-{r['plangrad_max']:.3g})"
        th = f"{r['torch_s']:.3g} ({r['torch_min']:.3g}-{r['torch_max']:.3g})"
        print(f"{r['job']:<12} {r['threads']:>7} {pg:>22} {th:>22} {r['ratio']:>6.3f}"
              f" {r['plangrad_rss_mib']:>9.0f} / {r['torch_rss_mib']:.0f}")
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
