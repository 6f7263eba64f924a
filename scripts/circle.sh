#!/usr/bin/env bash
# README command 1: set up, build, and train the circle example; prints its accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh plangrad_circle >/dev/null
./build/circle "$@"
