#!/usr/bin/python3
"""Records PyTorch's optimizer steps and learning-rate schedules on fixed inputs and prints
them as C++ arrays for tests/test_optimizer.cpp and tests/test_lr_schedule.cpp.

    /usr/bin/python3 scripts/record_torch_optim.py

Uses Debian's PyTorch (python3-torch). Everything is float64; every number is printed with
repr(), the shortest decimal that reads back to the same double. The fixed inputs (initial
weights and one gradient per step, independent of the weights) are printed too, so the
tests feed exactly these.
"""
import warnings

import torch

torch.set_default_dtype(torch.float64)

W0 = [0.5, -1.25, 2.0]
GRADS = [
    [0.3, -0.2, 0.1],
    [-0.4, 0.25, 0.05],
    [0.15, 0.35, -0.6],
    [0.0, -0.1, 0.45],
    [0.2, 0.2, -0.2],
]

OPTIMIZERS = [
    ("kSgdWeightDecay", "SGD(lr=0.1, weight_decay=0.01)",
     lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01)),
    ("kSgdMomentum", "SGD(lr=0.1, momentum=0.9, weight_decay=0.01)",
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("kSgdNesterov", "SGD(lr=0.05, momentum=0.9, weight_decay=0.02, nesterov=True)",
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.02, nesterov=True)),
    ("kAdam", "Adam(lr=0.01)",
     lambda p: torch.optim.Adam(p, lr=0.01)),
    ("kAdamWeightDecay", "Adam(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)",
     lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("kAdamW", "AdamW(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)",
     lambda p: torch.optim.AdamW(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("kAdamWDefaults", "AdamW(lr=0.01)  (default betas, eps, weight_decay=1e-2)",
     lambda p: torch.optim.AdamW(p, lr=0.01)),
]


def cpp_rows(rows):
    return "{" + ",\n    ".join("{" + ", ".join(repr(float(x)) for x in row) + "}" for row in rows) + "}"


def record_optimizer(make):
    w = torch.tensor(W0, requires_grad=True)
    opt = make([w])
    rows = []
    for g in GRADS:
        opt.zero_grad()
        w.grad = torch.tensor(g)
        opt.step()
        rows.append(w.detach().tolist())
    return rows


def record_schedule(make, epochs, base_lr=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make(opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])  # the rate this epoch trains at
        opt.step()
        sched.step()
    return lrs


SCHEDULES = [
    ("kStepLR", "StepLR(step_size=3, gamma=0.5), base lr 0.1, epochs 0..11", 12,
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    ("kCosineLR", "CosineAnnealingLR(T_max=10, eta_min=0.001), base lr 0.1, epochs 0..10", 11,
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ("kWarmupCosineLR",
     "SequentialLR([LinearLR(start_factor=0.25, total_iters=3), CosineAnnealingLR(T_max=7, eta_min=0.001)],"
     " milestones=[3]), base lr 0.1, epochs 0..10", 11,
     lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
         torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=3),
         torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.001)], milestones=[3])),
]


def main():
    warnings.simplefilter("ignore")  # SequentialLR's deprecation notice about step(epoch)
    print(f"// Recorded by scripts/record_torch_optim.py with PyTorch {torch.__version__} (float64):")
    print("//   /usr/bin/python3 scripts/record_torch_optim.py")
    print(f"const std::vector<double> kW0 = {{{', '.join(repr(x) for x in W0)}}};")
    print(f"const std::vector<std::vector<double>> kGrads = {cpp_rows(GRADS)};")
    print("// The weights after each step.")
    for name, text, make in OPTIMIZERS:
        print(f"// torch.optim.{text}")
        print(f"const std::vector<std::vector<double>> {name} = {cpp_rows(record_optimizer(make))};")
    print()
    print("// Learning rate of each epoch, as the scheduler steps (param_groups[0]['lr']).")
    for name, text, epochs, make in SCHEDULES:
        print(f"// torch.optim.lr_scheduler.{text}")
        lrs = record_schedule(make, epochs)
        print(f"const std::vector<double> {name} = {{{', '.join(repr(x) for x in lrs)}}};")


if __name__ == "__main__":
    main()
