#!/usr/bin/env bash
# make test: the suite as three pytest processes side by side, each with the cluster its
# tests need (they mostly wait on those clusters, not on the CPU):
#   kwok       tests/unit and tests/integration, on a control plane with kwok's nodes
#   real-node  tests/e2e, on a real node (the add-on's package aside)
#   add-on     tests/e2e/addon, the add-on installed on a second real node with Services
# The kwok tier reports as it goes; the other two are printed once they end (their logs
# stay in build/test-tiers/). Any tier failing, or running no test, fails the run.
# The benchmark's own tests (marked bench) are left to `make test-bench`.
# Usage: tests/run_tiers.sh PYTHON [pytest flags for every tier]
set -u
py=$1; shift
set -- -m "not bench" "$@"
logs=build/test-tiers
mkdir -p "$logs"
"$py" -m pytest -q -ra "$@" tests/e2e --ignore=tests/e2e/addon >"$logs/real-node.log" 2>&1 & real=$!
"$py" -m pytest -q -ra "$@" tests/e2e/addon >"$logs/add-on.log" 2>&1 & addon=$!
"$py" -m pytest -q -ra "$@" tests/unit tests/integration; status=$?
for tier in real-node add-on; do
  pid=$real; [[ $tier == add-on ]] && pid=$addon
  wait "$pid" || status=1
  echo "=== the $tier tier (its log: $logs/$tier.log) ==="
  cat "$logs/$tier.log"
done
exit $(( status != 0 ))
