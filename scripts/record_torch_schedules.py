#!/usr/bin/python3
"""Records the learning rates of torch.optim.lr_scheduler's schedulers, step by step, into
tests/fixtures/torch_schedules.json, which tests/test_lr_schedule.cpp compares
plangrad's LrSchedule with (each case names the schedule text plangrad parses to the
same settings).

    /usr/bin/python3 scripts/record_torch_schedules.py

Uses Debian's PyTorch (python3-torch), float64. The rate of step t is
param_groups[0]['lr'] after t calls of scheduler.step(), i.e. the rate step t trains at.
"""
import json
import os
import warnings

import torch

warnings.filterwarnings("ignore")

BASE_LR = 0.1
S = torch.optim.lr_scheduler


def rates(make, steps, base_lr=BASE_LR):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


CASES = [
    ("linear:8:start_factor=0.25", "LinearLR(start_factor=0.25, total_iters=8)", 12,
     lambda o: S.LinearLR(o, start_factor=0.25, total_iters=8)),
    ("linear:10:start_factor=1:end_factor=0.1", "LinearLR(start_factor=1.0, end_factor=0.1, total_iters=10)", 14,
     lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10)),
    ("cosine:20:eta_min=0.001", "CosineAnnealingLR(T_max=20, eta_min=0.001)", 21,
     lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.001)),
    ("cosine:30:warmup=5", "SequentialLR([LinearLR(start_factor=1/3, total_iters=5), CosineAnnealingLR(T_max=25)], "
     "milestones=[5])", 31,
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=1.0 / 3, total_iters=5),
                                  S.CosineAnnealingLR(o, T_max=25)], milestones=[5])),
    ("onecycle:0.1:total=50", "OneCycleLR(max_lr=0.1, total_steps=50, cycle_momentum=False)", 50,
     lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=50, cycle_momentum=False)),
    ("onecycle:0.05:total=37:pct_start=0.25:div_factor=10:final_div_factor=100",
     "OneCycleLR(max_lr=0.05, total_steps=37, pct_start=0.25, div_factor=10, final_div_factor=100, "
     "cycle_momentum=False)", 37,
     lambda o: S.OneCycleLR(o, max_lr=0.05, total_steps=37, pct_start=0.25, div_factor=10,
                            final_div_factor=100, cycle_momentum=False)),
    ("onecycle:2:total=1000", "OneCycleLR(max_lr=2, total_steps=1000, cycle_momentum=False)", 1000,
     lambda o: S.OneCycleLR(o, max_lr=2.0, total_steps=1000, cycle_momentum=False)),
]


def main():
    doc = {
        "recorded_by": "scripts/record_torch_schedules.py",
        "torch": torch.__version__,
        "base_lr": BASE_LR,
        "cases": [{"schedule": text, "torch": what, "rates": rates(make, steps)}
                  for text, what, steps, make in CASES],
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "torch_schedules.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
