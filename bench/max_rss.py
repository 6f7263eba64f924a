#!/usr/bin/env python3
"""Runs one benchmark process and reports its peak memory.

    /usr/bin/python3 bench/max_rss.py CMD [ARG ...]

CMD is one side's benchmark program on one workload (bench_workloads, torch_workloads.py,
libtorch_workloads), printing its JSON line; this prints, for each such line, a memory
line {"side":..,"workload":..,"kind":"memory","max_rss_kib":..,"iters":..,"threads":..}:
the largest resident set of exactly that child process (wait4's ru_maxrss: the whole
process, libraries, interpreter and data included). Exits with the child's status.
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with tempfile.TemporaryFile(mode="w+") as out:
        proc = subprocess.Popen(sys.argv[1:], stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = [json.loads(t) for t in out.read().splitlines() if t.startswith("{")]
    if code != 0:
        sys.exit(f"max_rss.py: {' '.join(sys.argv[1:])} failed ({code})")
    for r in lines:
        print(json.dumps({"side": r["side"], "workload": r["workload"], "kind": "memory",
                          "max_rss_kib": usage.ru_maxrss, "iters": r["iters"], "threads": r["threads"]},
                         separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
