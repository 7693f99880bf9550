#!/usr/bin/env bash
# `make bench`: runs every benchmark binary; each writes bench/results/<name>.json.
set -euo pipefail
build_dir=${1:-build}
mkdir -p bench/results
shopt -s nullglob
benches=("$build_dir"/bench/*_bench)
found=0
i=0
for b in "${benches[@]}"; do
  found=1
  i=$((i + 1))
  name=$(basename "$b" _bench)
  echo "== bench [$i/${#benches[@]}]: $name"
  start=$SECONDS
  "$b" --out "bench/results/$name.json"
  echo "   $name done in $((SECONDS - start)) s (bench total $SECONDS s)"
done
[[ $found == 1 ]] || echo "make bench: no benchmarks built yet"

# The learner's MPI all-reduce figures need 2 ranks: run learner_bench --allreduce under
# mpirun (when the build has MPI) and fold them into bench/results/learner.json under "allreduce".
if [[ -x "$build_dir/bench/learner_bench" ]] && grep -q '^SCORCH_WITH_MPI:BOOL=ON' "$build_dir/CMakeCache.txt" 2>/dev/null; then
  mpi_flags=(-np 2 --oversubscribe)
  [[ $(id -u) == 0 ]] && mpi_flags+=(--allow-run-as-root)
  echo "== bench: learner MPI all-reduce (mpirun ${mpi_flags[*]})"
  mpirun "${mpi_flags[@]}" "$build_dir/bench/learner_bench" --allreduce --out bench/results/learner_allreduce.json
fi
if [[ -f bench/results/learner_allreduce.json ]]; then
  python3 - <<'PY'
import json, pathlib
res = pathlib.Path("bench/results")
path = res / "learner.json"
doc = json.loads(path.read_text()) if path.exists() else {}
doc["allreduce"] = json.loads((res / "learner_allreduce.json").read_text())
path.write_text(json.dumps(doc, indent=2) + "\n")
PY
fi

# The reward issue reports grader and HTTP figures in one file: fold the HTTP load figures
# into bench/results/reward.json under "http" (reward_bench keeps other top-level keys).
if [[ -f bench/results/reward_http.json ]]; then
  python3 - <<'PY'
import json, pathlib
res = pathlib.Path("bench/results")
path = res / "reward.json"
doc = json.loads(path.read_text()) if path.exists() else {}
doc["http"] = json.loads((res / "reward_http.json").read_text())
path.write_text(json.dumps(doc, indent=2) + "\n")
PY
fi

# The orchestrator issue reports the quickstart's time split beside the dispatch figures: fold
# quickstart_bench's output into bench/results/orchestrator.json under "quickstart".
if [[ -f bench/results/quickstart.json ]]; then
  python3 - <<'PY'
import json, pathlib
res = pathlib.Path("bench/results")
path = res / "orchestrator.json"
doc = json.loads(path.read_text()) if path.exists() else {}
doc["quickstart"] = json.loads((res / "quickstart.json").read_text())
path.write_text(json.dumps(doc, indent=2) + "\n")
PY
fi
