#!/usr/bin/env bash
# `make bench`: runs every benchmark binary; each writes bench/results/<name>.json.
set -euo pipefail
build_dir=${1:-build}
mkdir -p bench/results
shopt -s nullglob
found=0
for b in "$build_dir"/bench/*_bench; do
  found=1
  name=$(basename "$b" _bench)
  echo "== bench: $name"
  "$b" --out "bench/results/$name.json"
done
[[ $found == 1 ]] || echo "make bench: no benchmarks built yet"
