"""nameko/eventlet and temporalio never load in one process (DESIGN §3)."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["intake", "matching", "notifications", "reporting", "portal"]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in (ROOT / folder).rglob("*.py"):
        for name in imported_modules(path):
            if name.split(".")[0] in forbidden or name in forbidden:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_services_never_import_temporalio():
    assert offenders("services", ("temporalio",)) == []


def test_workflows_never_import_nameko_or_eventlet():
    assert offenders("workflows", ("nameko", "eventlet", "netsterk.nameko_support")) == []


def loaded_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print(','.join(sorted(m.split('.')[0] for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.strip().split(","))


@pytest.mark.parametrize("module", ["workflows.worker", "workflows.bridge", "netsterk_ops.cli",
                                    "netsterk_ops.health"])
def test_temporal_side_processes_do_not_load_nameko(module):
    loaded = loaded_after_import(module)
    assert "nameko" not in loaded and "eventlet" not in loaded


@pytest.mark.parametrize("service", SERVICES)
def test_service_processes_do_not_load_temporalio(service):
    assert "temporalio" not in loaded_after_import(f"services.{service}.service")
