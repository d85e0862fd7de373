"""scripts/audit.sh's verdict on pip-audit's report: a vulnerability with a fix fails the build,
one without any fix is reported and passes."""
import json
import subprocess
import sys

from netsterk.settings import REPO_ROOT


def verdict(tmp_path, dependencies):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"dependencies": dependencies, "fixes": []}))
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "audit_report.py"), str(report)],
                          capture_output=True, text=True, timeout=30)


def test_unfixable_vulnerability_is_reported_but_does_not_fail(tmp_path):
    done = verdict(tmp_path, [
        {"name": "somelib", "version": "1.0", "vulns": [{"id": "GHSA-xxxx", "fix_versions": []}]},
        {"name": "clean", "version": "2.0", "vulns": []}])
    assert done.returncode == 0
    assert "without a fix" in done.stdout and "somelib 1.0: GHSA-xxxx" in done.stdout
    assert "2 packages, 0 fixable and 1 unfixable" in done.stdout


def test_fixable_vulnerability_fails_with_the_release_to_upgrade_to(tmp_path):
    done = verdict(tmp_path, [
        {"name": "somelib", "version": "1.0", "vulns": [{"id": "PYSEC-1", "fix_versions": ["1.0.1", "1.1"]}]}])
    assert done.returncode == 1 and "somelib 1.0: PYSEC-1 -> fixed in 1.0.1, 1.1" in done.stdout


def test_make_test_runs_the_audit():
    makefile = (REPO_ROOT / "Makefile").read_text()
    target = makefile.split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    assert "scripts/audit.sh" in target
