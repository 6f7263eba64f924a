#!/usr/bin/env python3
"""The cost model of docs/distributed.md: expected speed-up of data-parallel training on R
machines from one machine's measured step time and the gradient's size.

  python3 scripts/distributed_cost_model.py STEP_SECONDS BATCH GRADIENT_BYTES

STEP_SECONDS: one rank's measured time per training step at BATCH rows (one thread);
GRADIENT_BYTES: the floats summed per step, times 4. Everything else is modelled:
- compute per row c = STEP_SECONDS / BATCH; a model k times larger sums k times more bytes
  and costs k times more per row (a wider or deeper CNN), or, the worst case, the same per
  row (parameters that cost little compute, as wide dense layers);
- every machine keeps BATCH rows per step (weak scaling: the global batch grows with R);
- communication is not overlapped with the backward (an upper bound on its cost);
- plangrad's sum, all-gather then add in rank order: (R - 1) messages of G bytes received,
  t = (R - 1) (alpha + G / bw);
- for comparison, a ring all-reduce (MPI_Allreduce's large-message algorithm, not
  deterministic across R but the same on every rank): t = 2 (R - 1) (alpha + G / (R bw));
- speed-up S = R c b / (c b + t); efficiency S / R; the rows per machine for 80%
  efficiency: c b >= 4 t, so b >= 4 t / c.
"""
import sys

NETWORKS = [("10 Gbit/s", 10e9 / 8, 25e-6), ("100 Gbit/s", 100e9 / 8, 10e-6)]
MACHINES = [4, 8, 16, 64]
SIZES = [("MNIST CNN", 1, 1), ("10x, 10x compute", 10, 10), ("100x, 100x compute", 100, 100),
         ("10x, same compute", 10, 1), ("100x, same compute", 100, 1)]


def allgather(r, g, bw, alpha):
    return (r - 1) * (alpha + g / bw)


def ring(r, g, bw, alpha):
    return 2 * (r - 1) * (alpha + g / (r * bw))


def main():
    step, batch, grad = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    c1 = step / batch
    print(f"measured: {step * 1e3:.1f} ms per step at batch {batch} on one rank; {grad:.0f} gradient bytes\n")
    for label, algo in [("plangrad's all-gather + rank-order sum", allgather), ("ring all-reduce (for comparison)", ring)]:
        print(f"**{label}**: speed-up at {batch} rows per machine (efficiency), and rows per machine for 80%\n")
        print("| model | network | " + " | ".join(f"{r} machines" for r in MACHINES) + " |")
        print("|---|---|" + "---|" * len(MACHINES))
        for name, k, kc in SIZES:
            c, g = c1 * kc, grad * k
            for net, bw, alpha in NETWORKS:
                cells = []
                for r in MACHINES:
                    t = algo(r, g, bw, alpha)
                    s = r * c * batch / (c * batch + t)
                    b80 = 4 * t / c
                    cells.append(f"{s:.1f} ({100 * s / r:.0f}%), b80 {b80:.0f}")
                print(f"| {name} ({g / 1e6:.2f} MB) | {net} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
