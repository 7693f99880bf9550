#!/usr/bin/env bash
# `make run`: runs the quickstart job. Until the orchestrator lands (issue 7) there is no job
# to run, so this runs the nearest real thing — `scorch doctor`, which measures what this
# machine gives scorch — and says so.
set -euo pipefail
build_dir=${1:-build}
scorch="$build_dir/bin/scorch"
if "$scorch" run --help >/dev/null 2>&1 && [[ -f configs/quickstart.yaml ]] && \
   ! "$scorch" run configs/quickstart.yaml --help 2>&1 | grep -q "not built yet"; then
  exec "$scorch" run configs/quickstart.yaml
fi
echo "make run: the quickstart job needs the orchestrator (issue 7), not built yet."
echo "make run: running the nearest real thing instead: scorch doctor"
echo
"$scorch" doctor
