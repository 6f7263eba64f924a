"""Where plangrad's time goes: `bash bench/run.sh --profile [--workloads W1,W3,W4]`.

Two views of the same training (or inference) steps, grouped into categories (GEMM,
element-wise kernels, conv im2col/col2im, batchnorm, pooling, losses, optimizer,
executor):

  perf    `perf record -e cpu-clock` samples on the Release build (build-bench/, AVX-512
          code as benchmarked): time shares. Hardware counters are not available on
          this virtual machine; the cpu-clock timer is.
  callgrind  instruction counts on an AVX2 build (build-bench/prof: valgrind 3.19 cannot
          run AVX-512), collected inside Executor::run only: repeatable on a busy machine,
          and they give exact call counts (GEMM calls per step). Instructions are not time:
          an FMA-dense GEMM kernel retires more per cycle than a scalar libm call, and
          valgrind counts every iteration of a `rep stos` (memset) as one instruction.

Needs perf and/or valgrind (Debian: linux-perf, valgrind); skips what is missing.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

# (category, regex on the symbol); first match wins.
CATEGORIES = [
    ("harness", r"^main$|clock_gettime|__introsort|__insertion_sort|Executor<float>::loss|"
                r"minor_faults|thread_cpu_us|getrusage"),
    ("gemm (OpenBLAS)", r"^sgemm|^cblas_sgemm|gemm_beta|^plangrad::gemm|xt::blas"),
    ("memset (GEMM beta=0, fills)", r"memset"),
    ("conv2d im2col/col2im/bias", r"conv2d_(forward|backward)|im2col|col2im"),
    ("batchnorm", r"batchnorm_"),
    ("max_pool2d", r"max_pool2d_|window_argmax"),
    ("element-wise (bias, activations)", r"add_bias_|relu_|tanh_|sigmoid_|add_forward|add_backward|"
                                         r"tanhf|expm1f"),
    ("losses (incl. libm exp/log)", r"mse_|sce_|bce_|log_sum_exp|class_index|expf|logf|log1pf"),
    ("optimizer", r"SGD<|Adam<|sqrtf"),
    ("executor", r"Executor<float>::run|memmove|memcpy"),
]


def categorize(symbol):
    for name, rx in CATEGORIES:
        if re.search(rx, symbol):
            return name
    return "other"


def table(title, costs, unit):
    """costs: list of (symbol, dso, value). Prints category shares and the top symbols."""
    total = sum(v for _, _, v in costs) or 1
    kernel = sum(v for _, d, v in costs if "kernel" in d)
    user = [(s, d, v) for s, d, v in costs if "kernel" not in d]
    by_cat = {}
    for s, _, v in user:
        c = categorize(s)
        by_cat[c] = by_cat.get(c, 0) + v
    harness = by_cat.pop("harness", 0)
    step = sum(by_cat.values()) or 1
    print(f"\n{title}: {total:,} {unit}; kernel {100 * kernel / total:.1f}%, harness "
          f"{100 * harness / total:.1f}%; shares below are of the rest (the step's user-space work)")
    for c, v in sorted(by_cat.items(), key=lambda kv: -kv[1]):
        print(f"  {100 * v / step:6.1f}%  {c}")
    print("  top symbols:")
    for s, d, v in sorted(user, key=lambda t: -t[2])[:12]:
        if categorize(s) != "harness":
            print(f"    {100 * v / step:6.1f}%  {s[:90]}  [{os.path.basename(d)}]")


def perf_view(binary, workload, iters, out_dir):
    data = os.path.join(out_dir, f"perf.{workload}.data")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    run = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "10000", "-o", data, binary,
                          "--workloads", workload, "--iters", str(iters), "--warmup", "5", "--no-gemm-only"],
                         env=env, capture_output=True, text=True)
    if run.returncode != 0:
        print(f"perf record failed: {run.stderr.strip()[:300]}")
        return
    print(run.stdout.strip())
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,sym",
                          "-F", "sample,dso,sym", "-t", "|"], capture_output=True, text=True)
    costs = []
    for line in rep.stdout.splitlines():
        if line.startswith("#") or "|" not in line:
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 3 or not parts[0].isdigit():
            continue
        sym = re.sub(r"^\[[.k]\]\s*", "", parts[2])
        costs.append((sym, parts[1], int(parts[0])))
    table(f"perf {workload} ({iters} steps)", costs, "cpu-clock samples")


def callgrind_view(binary, workload, iters, out_dir):
    out = os.path.join(out_dir, f"callgrind.{workload}.out")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                          "--toggle-collect=plangrad::Executor<float>::run()", binary, "--workloads", workload,
                          "--iters", str(iters), "--warmup", "1", "--no-gemm-only"],
                         env=env, capture_output=True, text=True)
    if run.returncode != 0:
        print(f"valgrind failed: {run.stderr.strip()[-300:]}")
        return
    steps = iters + 1
    ann = subprocess.run(["callgrind_annotate", "--inclusive=no", "--auto=no", "--threshold=100", out],
                         capture_output=True, text=True).stdout
    ann = ann.split("file:function", 1)[-1]  # the per-function table
    costs = []
    for line in ann.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*?):(.*?)(?:\s+\[(.*)\])?$", line)
        if not m or "PROGRAM TOTALS" in line:
            continue
        costs.append((m.group(3), m.group(4) or "", int(m.group(1).replace(",", ""))))
    # Self costs of one function come in one row per source file it inlines: merge them.
    merged, dso = {}, {}
    for s, d, v in costs:
        merged[s] = merged.get(s, 0) + v
        dso[s] = dso.get(s) or d
    costs = [(s, dso[s], v) for s, v in merged.items()]
    table(f"callgrind {workload} ({steps} steps, {sum(v for *_, v in costs) // steps:,} instructions/step)",
          costs, "instructions")
    tree = subprocess.run(["callgrind_annotate", "--tree=caller", "--inclusive=yes", "--auto=no",
                           "--threshold=100", out], capture_output=True, text=True).stdout
    # The caller tree: blocks separated by blank lines, "< caller (Nx)" lines above "* callee".
    # plangrad::gemm's callers are the ops (matmul, conv2d), with call counts and inclusive cost.
    for block in tree.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines or not re.search(r"\*\s+\S*kernels/blas.cpp:void plangrad::gemm<float>", lines[-1]):
            continue
        total = int(lines[-1].split()[0].replace(",", ""))
        parts = []
        for l in lines[:-1]:
            m = re.search(r"::(\w+)<float[^(]*\(.*\(([\d,]+)x\)", l)
            if m:
                ir = int(l.split()[0].replace(",", ""))
                parts.append(f"{m.group(1)} {int(m.group(2).replace(',', '')) / steps:g}/step "
                             f"({ir // steps:,} instr/step)")
        if parts:
            print(f"  GEMM (plangrad::gemm inclusive): {total // steps:,} instructions/step; calls: "
                  + "; ".join(parts))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p.add_argument("--workloads", default="W1,W3,W4")
    a = p.parse_args()
    build = os.path.join(a.root, "build-bench")
    out_dir = os.path.join(build, "profile")
    os.makedirs(out_dir, exist_ok=True)
    # Steps per profile: about a second of perf samples; a few steps under valgrind.
    perf_iters = {"W1": 50000, "W2": 10000, "W3": 500, "W4": 30, "W5-mlp": 20000, "W5-cnn": 10000}
    cg_iters = {"W1": 200, "W2": 50, "W3": 5, "W4": 1, "W5-mlp": 200, "W5-cnn": 100}
    names = [w for w in a.workloads.split(",") if w]

    have_perf = shutil.which("perf") is not None
    if have_perf:
        for w in names:
            perf_view(os.path.join(build, "bench_workloads"), w, perf_iters.get(w, 100), out_dir)
    else:
        print("perf not found (apt-get install linux-perf): skipping the time view")

    if shutil.which("valgrind") is None:
        print("valgrind not found (apt-get install valgrind): skipping the instruction view")
        return
    prof = os.path.join(build, "prof")
    print("\n== building the AVX2 profile build in build-bench/prof (valgrind cannot run AVX-512)")
    subprocess.run(["cmake", "-S", a.root, "-B", prof, "-DCMAKE_BUILD_TYPE=Release", "-DPLANGRAD_BUILD_TESTS=OFF",
                    "-DPLANGRAD_NATIVE=OFF", "-DCMAKE_CXX_FLAGS=-march=x86-64-v3 -g -fno-omit-frame-pointer"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", prof, "--target", "bench_workloads", "-j2"], check=True,
                   stdout=subprocess.DEVNULL)
    for w in names:
        callgrind_view(os.path.join(prof, "bench_workloads"), w, cg_iters.get(w, 5), out_dir)


if __name__ == "__main__":
    sys.exit(main())
