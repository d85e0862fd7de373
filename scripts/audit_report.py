"""Reads pip-audit's JSON report (scripts/audit.sh): prints every vulnerability and exits 1 only
when one of them has a fixed release to upgrade to; one without any fix is reported, not failing."""
from __future__ import annotations

import json
import sys


def classify(data: dict) -> tuple[list[tuple], list[tuple]]:
    fixable, unfixable = [], []
    for dep in data.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            row = (dep["name"], dep.get("version"), vuln["id"], ", ".join(vuln.get("fix_versions") or []))
            (fixable if vuln.get("fix_versions") else unfixable).append(row)
    return fixable, unfixable


def main(path: str) -> int:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    fixable, unfixable = classify(data)
    for title, rows in (("vulnerabilities WITH a fix (upgrade the pin in pyproject.toml):", fixable),
                        ("vulnerabilities without a fix (reported, not failing):", unfixable)):
        if rows:
            print(title)
            for name, version, vid, fix in rows:
                print(f"  {name} {version}: {vid}" + (f" -> fixed in {fix}" if fix else ""))
    print(f"audit: {len(data.get('dependencies', []))} packages, {len(fixable)} fixable and "
          f"{len(unfixable)} unfixable vulnerabilities")
    return 1 if fixable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
