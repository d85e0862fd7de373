"""Every alembic revision id fits PostgreSQL's alembic_version.version_num (varchar 32), and each
service's chain has exactly one head."""
import re
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[1]


def test_revision_ids_fit_postgresql_and_each_chain_has_one_head():
    services = sorted(p.parent.parent.name for p in SERVICES.glob("*/migrations/versions"))
    assert {"intake", "matching", "notifications", "portal", "reporting"} <= set(services)
    for service in services:
        revisions, parents = set(), set()
        for path in (SERVICES / service / "migrations" / "versions").glob("*.py"):
            text = path.read_text(encoding="utf-8")
            revision = re.search(r'^revision = "([^"]+)"', text, re.M).group(1)
            parent = re.search(r'^down_revision = (?:"([^"]+)"|None)', text, re.M).group(1)
            assert len(revision) <= 32, f"{path.name}: revision id {revision!r} is {len(revision)} characters"
            revisions.add(revision)
            if parent:
                parents.add(parent)
        assert parents <= revisions, (service, parents - revisions)
        assert len(revisions - parents) == 1, f"{service} has heads {sorted(revisions - parents)}"
