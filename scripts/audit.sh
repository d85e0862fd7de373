#!/usr/bin/env bash
# Dependency audit (pip-audit, PyPI's advisory database / OSV) of the packages installed in .venv.
# pip-audit runs from its own virtualenv (.venv-audit) so its dependencies never mix with ours.
# Exit 1 when a vulnerability HAS a fixed release (upgrade the pin in pyproject.toml); a
# vulnerability without any fix is reported but does not fail the build. Exit 0 with a warning
# when the advisory service cannot be reached (reported, so nobody mistakes it for a clean run).
set -uo pipefail
cd "$(dirname "$0")/.."
AUDIT_VENV=${NETSTERK_AUDIT_VENV:-.venv-audit}
PIP_AUDIT_VERSION=2.10.1
SITE=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

if [ ! -x "$AUDIT_VENV/bin/pip-audit" ]; then
  python3 -m venv "$AUDIT_VENV" && "$AUDIT_VENV/bin/pip" install --quiet --disable-pip-version-check \
    "pip-audit==$PIP_AUDIT_VERSION" || { echo "!!! audit: could not install pip-audit"; exit 1; }
fi

report=$(mktemp)
trap 'rm -f "$report"' EXIT
"$AUDIT_VENV/bin/pip-audit" --path "$SITE" --skip-editable --format json --progress-spinner off \
  --desc off --timeout 30 > "$report" 2> "$report.err"
code=$?
if [ ! -s "$report" ]; then
  echo "!!! audit: pip-audit produced no report (exit $code); the advisory service may be unreachable:"
  tail -5 "$report.err"; rm -f "$report.err"
  exit 0
fi
rm -f "$report.err"
.venv/bin/python scripts/audit_report.py "$report"
