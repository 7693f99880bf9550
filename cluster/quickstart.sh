#!/usr/bin/env bash
# `make run`: runs the quickstart job (configs/quickstart.yaml) with every role embedded in one
# process. A second run never overwrites the first: when runs/quickstart exists, the new run
# gets a timestamped name. At the end it prints where the results are.
set -euo pipefail
build_dir=${1:-build}
scorch="$build_dir/bin/scorch"
name=quickstart
if [[ -e runs/$name ]]; then
  name="quickstart-$(date +%Y%m%d-%H%M%S)"
  echo "make run: runs/quickstart exists (kept); this run is runs/$name"
fi
start=$(date +%s)
"$scorch" run configs/quickstart.yaml --set "job.name=$name"
echo
echo "make run: quickstart finished in $(( $(date +%s) - start )) s."
echo "  eval tables:  runs/$name/eval/*.json"
echo "  metrics:      runs/$name/metrics.jsonl (one line per step)"
echo "  logs:         runs/$name/logs/"
if "$scorch" inspect --help >/dev/null 2>&1 && ! "$scorch" inspect --help 2>&1 | grep -q "not built yet"; then
  echo "  summary:      $scorch inspect runs/$name   (add --html for report.html)"
fi
