#!/usr/bin/env bash
# The test suite, in separate pytest runs: nameko services (eventlet monkey-patched) and the
# Temporal workflows must never share a process. Exit 5 (no tests collected) is a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export PYTHONWARNINGS="ignore::DeprecationWarning"
failed=()

run() {  # name, pytest args...
  local name=$1; shift
  echo "=== $name: pytest $*"
  $PY -m pytest -q -p no:cacheprovider "$@"
  local code=$?
  if [ $code -eq 5 ]; then echo "!!! $name collected no tests: that is a failure"; failed+=("$name(no tests)");
  elif [ $code -ne 0 ]; then failed+=("$name(exit $code)"); fi
}

run services services
run workflows workflows
if [ "${NETSTERK_SKIP_SLOW:-0}" = 1 ]; then
  run system tests -m "not slow"
else
  run system tests
fi

if [ ${#failed[@]} -gt 0 ]; then echo "FAILED: ${failed[*]}"; exit 1; fi
echo "all test runs passed"
