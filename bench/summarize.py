#!/usr/bin/env python3
"""The per-step table of bench/run.sh: plangrad against each peer that ran.

    /usr/bin/python3 bench/summarize.py RESULTS.jsonl [MORE.jsonl ...] [--load "..."]

Reads every side's JSON lines (bench_workloads: "plangrad", torch_workloads.py: "torch",
bench/libtorch: "libtorch", bench/onednn: "onednn", bench/ort: "ort"; bench/max_rss.py's
"kind":"memory" lines) and prints, per workload, each side's median over rounds of its per-process medians, wall time
("us") and thread CPU time ("cpu_us"), and the ratios plangrad / peer (below 1: plangrad
faster); then the peak memory table (max RSS per side, the largest over its processes);
then one JSON line per workload:
  {"workload":"W3","plangrad_us":..,"torch_us":..,"ratio":..,"libtorch_us":..,
   "libtorch_ratio":..,...,"plangrad_rss_mib":..,...}
"ratio" and "cpu_ratio" are plangrad / PyTorch (the table's first peer); the other peers'
are "<side>_ratio" and "<side>_cpu_ratio". Needs no torch.
"""
import argparse
import json
import statistics

ORDER = ["W1", "W2", "W3", "W4", "W3-real", "W4-real", "W5-mlp", "W5-cnn", "W5-mlp-b64", "W5-cnn-b64"]
PEERS = ["torch", "libtorch", "onednn", "ort"]
NAMES = {"plangrad": "plangrad", "torch": "PyTorch", "libtorch": "LibTorch", "onednn": "oneDNN", "ort": "ORT"}


def load(paths):
    steps, memory = {}, {}
    for path in paths:
        with open(path) as f:
            for text in f:
                text = text.strip()
                if not text.startswith("{"):
                    continue
                r = json.loads(text)
                into = memory if r.get("kind") == "memory" else steps
                into.setdefault(r["workload"], {}).setdefault(r["side"], []).append(r)
    return steps, memory


def med(rs, key):
    vals = [r[key] for r in rs if key in r]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def cell(v, width=9, digits=1):
    return f"{v:{width}.{digits}f}" if v is not None else f"{'-':>{width}}"


def summarize(paths, load_note=""):
    steps, memory = load(paths)
    names = [w for w in ORDER if w in steps or w in memory]
    names += [w for w in list(steps) + list(memory) if w not in names]
    names = list(dict.fromkeys(names))
    peers = [p for p in PEERS if any(p in steps.get(w, {}) for w in steps)]

    head1 = f"{'workload':10} {'plangrad':>9}"
    head2 = f"{'':10} {'wall us':>9}"
    for p in peers:
        head1 += f" {NAMES[p]:>9} {'pg/' + NAMES[p]:>11}"
        head2 += f" {'wall us':>9} {'':>11}"
    head1 += f" | {'pg cpu':>9}" + "".join(f" {NAMES[p] + ' cpu':>12}" for p in peers) + " | rounds  notes"
    head2 += f" | {'us':>9}" + "".join(f" {'us':>12}" for p in peers) + " |"
    print(head1)
    print(head2)
    out = []
    for w in names:
        by_side = steps.get(w, {})
        pg = by_side.get("plangrad", [])
        line = {"workload": w, "plangrad_us": med(pg, "us")}
        if not by_side:
            out.append(line)
            continue
        first = (pg or next(iter(by_side.values())))[0]
        for p in peers:
            rs = by_side.get(p, [])
            line[f"{p}_us"] = med(rs, "us")
            key = "ratio" if p == "torch" else f"{p}_ratio"
            line[key] = ratio(line["plangrad_us"], line[f"{p}_us"])
        line["plangrad_cpu_us"] = med(pg, "cpu_us")
        for p in peers:
            line[f"{p}_cpu_us"] = med(by_side.get(p, []), "cpu_us")
            key = "cpu_ratio" if p == "torch" else f"{p}_cpu_ratio"
            line[key] = ratio(line["plangrad_cpu_us"], line[f"{p}_cpu_us"])
        line.update({"threads": first["threads"], "rounds": max(len(v) for v in by_side.values()),
                     "iters": first["iters"], "optimizer": first["optimizer"]})
        for side in ["plangrad"] + peers:
            if any("mean_us" in r for r in by_side.get(side, [])):
                line[f"{side}_mean_us"] = med(by_side[side], "mean_us")
        notes = [f"opt={first['optimizer']}"]
        for side in ["plangrad"] + peers:
            line[f"{side}_faults_per_step"] = med(by_side.get(side, []), "faults_per_step")
        if line.get("torch_faults_per_step") is not None:
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
        if any("data" in r for r in pg):
            notes.append(f"real batches; mean us: " + ", ".join(
                f"{NAMES[s]} {line[f'{s}_mean_us']:.1f}" for s in ["plangrad"] + peers if line.get(f"{s}_mean_us")))
        for p in peers:
            rs = by_side.get(p, [])
            if rs and pg and rs[0]["optimizer"] != pg[0]["optimizer"]:
                notes.append(f"OPTIMIZERS DIFFER: {p} {rs[0]['optimizer']}")
        if load_note:
            line["load"] = load_note
        text = f"{w:10} {cell(line['plangrad_us'])}"
        for p in peers:
            key = "ratio" if p == "torch" else f"{p}_ratio"
            text += f" {cell(line[f'{p}_us'])} {cell(line[key], 11, 3)}"
        text += f" | {cell(line['plangrad_cpu_us'])}" + "".join(f" {cell(line[f'{p}_cpu_us'], 12)}" for p in peers)
        print(f"{text} | {line['rounds']:6}  {'; '.join(notes)}")
        out.append(line)
    print("pg/X = plangrad / X (below 1: plangrad faster); medians over rounds of per-process medians")

    if memory:
        sides = [s for s in ["plangrad"] + PEERS if any(s in memory[w] for w in memory)]
        print("\npeak memory (max RSS of one process building the workload and running its steps), MiB")
        print(f"{'workload':10}" + "".join(f" {NAMES[s]:>9}" for s in sides) + "  steps")
        for w in [w for w in names if w in memory]:
            rss = {s: max(r["max_rss_kib"] for r in memory[w][s]) / 1024.0 for s in sides if s in memory[w]}
            iters = max(r["iters"] for rs in memory[w].values() for r in rs)
            print(f"{w:10}" + "".join(f" {cell(rss.get(s))}" for s in sides) + f"  {iters}")
            line = next((l for l in out if l["workload"] == w), None)
            if line is None:
                line = {"workload": w}
                out.append(line)
            for s, v in rss.items():
                line[f"{s}_rss_mib"] = round(v, 1)
    for line in out:
        print(json.dumps(line, separators=(",", ":")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="+")
    ap.add_argument("--load", default="", help="a note on the machine's load, copied into each JSON line")
    a = ap.parse_args()
    summarize(a.results, a.load)


if __name__ == "__main__":
    main()
