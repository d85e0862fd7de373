"""Retention of the audit log: `netsterk audit archive` moves old entries to a JSON-lines file
(0600, written atomically, with the chain's anchors) and removes them; the database keeps an
anchor so `netsterk audit verify` still proves the kept chain, and `verify --archive` proves the
file. On SQLite and PostgreSQL (the triggers let only anchored entries go)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker

from netsterk import audit
from netsterk.db import make_engine, session_scope, upgrade
from netsterk.settings import REPO_ROOT, get_settings
from netsterk.testing import database_of
from services.intake.models import AUDIT

OLD = datetime(2019, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("NETSTERK_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("NETSTERK_AUDIT_KEY", "archive-test-audit-key")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def entry(session, n: int, at: datetime) -> None:
    audit.record(session, AUDIT, actor=f"coord{n % 3}", role="coordinator", action="read", record_type="referral",
                 record_id=f"r-{n}", fields=["first_name"], purpose=f"purpose {n}", network="mechelen",
                 origin="10.0.0.9", at=at)


def cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NETSTERK_")}
    env.update(NETSTERK_VAR_DIR=str(get_settings().var_dir), NETSTERK_INTAKE_DATABASE_URL=url,
               NETSTERK_AUDIT_KEY="archive-test-audit-key")
    return subprocess.run([sys.executable, "-m", "netsterk_ops.cli", "audit", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_archive_moves_old_entries_and_both_chains_still_verify(kind, env, tmp_path):
    with database_of(kind, tmp_path, "intake") as url:
        upgrade("intake", url)
        engine = make_engine(url)
        factory = sessionmaker(engine, expire_on_commit=False)
        try:
            with session_scope(factory) as session:
                for n in range(6):                              # six old entries, then four recent ones
                    entry(session, n, OLD + timedelta(days=n))
                for n in range(6, 10):
                    entry(session, n, datetime.now(timezone.utc))
            with factory() as session, pytest.raises(Exception, match="append-only"):   # not anchored
                session.execute(text("DELETE FROM audit_entry WHERE seq = 1"))
                session.commit()

            first = tmp_path / "archive-1.jsonl"
            done = cli(url, "archive", "--before", "2019-03-04", "--output", str(first))
            assert done.returncode == 0, done.stderr
            assert "archived 3 entries (1–3, before 2019-03-04)" in done.stdout
            assert stat.S_IMODE(first.stat().st_mode) == 0o600
            lines = [json.loads(line) for line in first.read_text().splitlines()]
            assert lines[0]["format"] == "netsterk-audit-archive" and lines[0]["entries"] == 3
            assert lines[0]["from"] == {"seq": 0, "hash": audit.GENESIS}
            assert lines[0]["to"]["seq"] == 3 and lines[0]["to"]["hash"] == lines[-1]["hash"]
            assert [x["seq"] for x in lines[1:]] == [1, 2, 3] and lines[1]["purpose"] == "purpose 0"
            assert not list(tmp_path.glob(".archive-1.jsonl*"))      # no temporary file left

            # the retention period from settings: 60 months back from today takes the other old ones
            second = tmp_path / "archive-2.jsonl"
            done = cli(url, "archive", "--output", str(second))
            assert done.returncode == 0 and "archived 3 entries (4–6" in done.stdout, done.stdout + done.stderr
            header = json.loads(second.read_text().splitlines()[0])
            assert header["from"] == lines[0]["to"] and header["to"]["seq"] == 6
            nothing = cli(url, "archive", "--before", "2019-03-04", "--output", str(tmp_path / "archive-3.jsonl"))
            assert nothing.returncode == 0 and "no entries before" in nothing.stdout
            assert not (tmp_path / "archive-3.jsonl").exists()

            with session_scope(factory) as session:
                assert session.scalar(select(func.min(AUDIT.entry.seq))) == 7
                assert session.scalar(select(func.count()).select_from(AUDIT.entry)) == 4
                entry(session, 10, datetime.now(timezone.utc))           # the chain goes on from its head
                checked = audit.verify(session, AUDIT)
            assert checked["ok"] and checked["entries"] == 5 and checked["anchor_seq"] == 6, checked
            verified = cli(url, "verify")
            assert verified.returncode == 0 and "chain intact, 5 entries (kept from entry 7" in verified.stdout
            for path in (first, second):
                file_check = cli(url, "verify", "--archive", str(path))
                assert file_check.returncode == 0 and "chain intact, 3 entries" in file_check.stdout, file_check.stdout

            # an archive changed afterwards, a gap in it, a forged anchor: each is found
            changed = tmp_path / "changed.jsonl"
            changed.write_text(first.read_text().replace('"purpose 1"', '"purpose x"'))
            broken = cli(url, "verify", "--archive", str(changed))
            assert broken.returncode == 1 and "entry 2: content does not match its hash" in broken.stdout
            gap = tmp_path / "gap.jsonl"
            kept = first.read_text().splitlines()
            gap.write_text("\n".join(kept[:2] + kept[3:]) + "\n")
            assert "entry 3: expected entry 2 here" in cli(url, "verify", "--archive", str(gap)).stdout
            assert cli(url, "verify", "--archive", str(tmp_path / "none.jsonl")).returncode == 2
            with session_scope(factory) as session:
                session.add(AUDIT.anchor(seq=8, hash=session.get(AUDIT.entry, 8).hash, first_seq=7, entries=2,
                                         archived_at=datetime.now(timezone.utc), file_digest="0" * 64, mac="f" * 64))
                session.flush()
                session.execute(text("DELETE FROM audit_entry WHERE seq <= 8"))   # hiding two reads
            forged = cli(url, "verify")
            assert forged.returncode == 1 and "anchor does not match its MAC (forged)" in forged.stdout
            with factory() as session, pytest.raises(Exception, match="append-only"):
                session.execute(text("DELETE FROM audit_anchor"))
                session.commit()
        finally:
            engine.dispose()


def test_archive_refuses_a_broken_chain_and_an_existing_file(env, tmp_path):
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with session_scope(factory) as session:
        for n in range(3):
            entry(session, n, OLD)
    taken = tmp_path / "taken.jsonl"
    taken.write_text("")
    with session_scope(factory) as session, pytest.raises(audit.ArchiveError, match="exists already"):
        audit.archive(session, AUDIT, before=datetime.now(timezone.utc), path=taken)
    with engine.begin() as c:       # tamper (triggers dropped, as an intruder with the database would)
        c.execute(text("DROP TRIGGER audit_entry_no_update"))
        c.execute(text("UPDATE audit_entry SET purpose = 'changed' WHERE seq = 2"))
    refused = cli(url, "archive", "--before", "2030-01-01", "--output", str(tmp_path / "a.jsonl"))
    assert refused.returncode == 1 and "the audit chain is broken" in refused.stderr
    assert not (tmp_path / "a.jsonl").exists()
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(AUDIT.entry)) == 3      # nothing removed
    bad_date = cli(url, "archive", "--before", "gisteren")
    assert bad_date.returncode != 0 and "not a date" in bad_date.stderr
    engine.dispose()
