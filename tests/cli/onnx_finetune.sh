#!/bin/sh
# An imported PyTorch CNN fine-tuned by plangrad: PyTorch (python3-torch) trains a small
# CNN (conv, batchnorm, relu, max pool, twice; flatten; linear) on the first 2000
# Fashion-MNIST training images for one epoch and exports it to ONNX with a dynamic batch;
# `plangrad import-onnx --loss softmax_cross_entropy` reads it, `plangrad eval` measures it
# on the 10000 test images, `plangrad train` trains it one epoch on 12000 more, and the
# test accuracy must go up (and the imported model must have kept PyTorch's accuracy).
#
#   onnx_finetune.sh WORKDIR PLANGRAD DATA_DIR
#
# DATA_DIR is data/fashion-mnist (scripts/prepare_data.sh); without it the test fails.
set -u
work=$1 cli=$2 data=$3
rm -rf "$work"
mkdir -p "$work"
export OPENBLAS_NUM_THREADS=1

. "$(dirname "$0")/lib.sh"
accuracy() { echo "$out" | tail -n 1 | sed -n 's/.*"accuracy":\([-0-9.e]*\).*/\1/p'; }

[ -f "$data/train-images-idx3-ubyte.gz" ] || [ -f "$data/train-images-idx3-ubyte" ] ||
  fail "no Fashion-MNIST in $data (bash scripts/prepare_data.sh)"

/usr/bin/python3 - "$data" "$work/cnn.onnx" "$work/torch_accuracy" <<'PY' || fail "PyTorch could not train and export the CNN (python3-torch)"
import gzip, os, sys
import numpy as np
import torch
from torch import nn

data, out, accuracy_file = sys.argv[1], sys.argv[2], sys.argv[3]

def idx(name):
    path = os.path.join(data, name)
    opener = gzip.open if not os.path.exists(path) else open
    with opener(path if os.path.exists(path) else path + ".gz", "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

torch.manual_seed(3)
x = torch.tensor(idx("train-images-idx3-ubyte")[:2000], dtype=torch.float32).unsqueeze(1) / 255
y = torch.tensor(idx("train-labels-idx1-ubyte")[:2000], dtype=torch.int64)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(16 * 7 * 7, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
model.train()
for i in range(0, 2000, 64):
    opt.zero_grad()
    nn.functional.cross_entropy(model(x[i:i + 64]), y[i:i + 64]).backward()
    opt.step()
model.eval()
with torch.no_grad():
    tx = torch.tensor(idx("t10k-images-idx3-ubyte"), dtype=torch.float32).unsqueeze(1) / 255
    ty = torch.tensor(idx("t10k-labels-idx1-ubyte"), dtype=torch.int64)
    right = int((model(tx).argmax(1) == ty).sum())
with open(accuracy_file, "w") as f:
    f.write(str(right / len(ty)))
torch.onnx.export(model, x[:2], out, opset_version=13, input_names=["x"], output_names=["logits"],
                  do_constant_folding=False,
                  dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}},
                  training=torch.onnx.TrainingMode.PRESERVE)
PY

run "$cli" import-onnx "$work/cnn.onnx" "$work/cnn.json" --loss softmax_cross_entropy
expect_rc 0
run "$cli" eval "$work/cnn.json" --data "$data"
expect_rc 0
before=$(accuracy)
[ -n "$before" ] || fail "no accuracy in plangrad eval's output"
# PyTorch's one epoch on 2000 images: well above chance (0.1), and far from done.
awk -v a="$before" 'BEGIN { exit !(a >= 0.5 && a <= 0.85) }' || fail "imported accuracy $before, expected 0.5 to 0.85"
# The same model in plangrad: PyTorch's test accuracy, give or take an image on a tie.
torch_accuracy=$(cat "$work/torch_accuracy")
awk -v a="$before" -v t="$torch_accuracy" 'BEGIN { d = a - t; exit !(d <= 0.0002 && d >= -0.0002) }' ||
  fail "imported accuracy $before, PyTorch's $torch_accuracy"

run "$cli" train "$work/cnn.json" --data "$data" --epochs 1 --subset 12000 --batch 64 --lr 0.02 --momentum 0.9 \
  --progress off --out "$work/tuned.json"
expect_rc 0
run "$cli" eval "$work/tuned.json" --data "$data"
expect_rc 0
after=$(accuracy)
[ -n "$after" ] || fail "no accuracy in plangrad eval's output after training"
awk -v a="$after" -v b="$before" 'BEGIN { exit !(a >= b + 0.02) }' || fail "accuracy $before -> $after: no improvement"
echo "accuracy $before (PyTorch $torch_accuracy) -> $after"
