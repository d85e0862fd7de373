"""Rate limits shared by every instance (netsterk/ratelimit.py): the counters live in the service's
database, so two intake processes on one database give a client one budget, not two. On SQLite
(`make run`) and PostgreSQL (production). The counting is atomic: two processes hitting one key
at once lose no hit."""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager

import pytest
import requests
from sqlalchemy import select

from netsterk import ratelimit
from netsterk.db import make_engine, upgrade
from netsterk.settings import REPO_ROOT
from netsterk.testing import database_of, free_port, wait_until

HAMMER = """
import sys
from sqlalchemy import MetaData
from netsterk import ratelimit
from netsterk.db import make_engine
url, hits, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
engine = make_engine(url)
table = ratelimit.counter_table(MetaData())
allowed = 0
for _ in range(hits):
    with engine.begin() as connection:
        allowed += ratelimit.hit(connection, table, "shared-key", limit=limit, window=600).allowed
print(allowed)
"""


def env_for(tmp_path, url: str, **extra) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NETSTERK_")}
    env.update(NETSTERK_VAR_DIR=str(tmp_path), NETSTERK_INTAKE_DATABASE_URL=url, NETSTERK_METRICS_PORT="0",
               PYTHONPATH=str(REPO_ROOT), **extra)
    return env


# --- the counter itself ----------------------------------------------------------------------

def test_window_limit_lock_clear_and_purge(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'counters.db'}")
    table = ratelimit.counter_table()
    table.metadata.create_all(engine)
    key = ratelimit.counter_key("public", "10.0.0.1")
    assert "10.0.0.1" not in key                       # no address in clear
    with engine.begin() as c:
        verdicts = [ratelimit.hit(c, table, key, limit=3, window=60, now=1000 + i) for i in range(4)]
        assert [v.allowed for v in verdicts] == [True, True, True, False]
        assert verdicts[-1].retry_after == 57           # the window started at 1000, ends at 1060
        assert ratelimit.hit(c, table, key, limit=3, window=60, now=1060).allowed   # a new window
        # sign-in throttling: the limit-th failure locks for `lock` seconds
        login = ratelimit.counter_key("login", "coord|10.0.0.1")
        for i in range(4):
            assert ratelimit.hit(c, table, login, limit=5, window=900, lock=900, now=2000 + i).allowed
        assert ratelimit.locked_for(c, table, login, now=2004) == 0
        ratelimit.hit(c, table, login, limit=5, window=900, lock=900, now=2004)
        assert ratelimit.locked_for(c, table, login, now=2004) == 900
        assert ratelimit.locked_for(c, table, login, now=2904) == 0
        ratelimit.clear(c, table, login)
        assert ratelimit.purge(c, table, older_than=120, now=1200) == 1       # the idle public key
        assert c.execute(select(table.c.key)).all() == []
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_processes_hitting_one_key_lose_no_hit(kind, tmp_path):
    with database_of(kind, tmp_path, "intake") as url:
        upgrade("intake", url)
        runs = [subprocess.Popen([sys.executable, "-c", HAMMER, url, "60", "70"], cwd=REPO_ROOT,
                                 env=env_for(tmp_path, url), stdout=subprocess.PIPE, text=True)
                for _ in range(2)]
        allowed = [int(run.communicate(timeout=120)[0].strip()) for run in runs]
        assert all(run.returncode == 0 for run in runs)
        engine = make_engine(url)
        with engine.connect() as c:
            table = ratelimit.counter_table()
            hits = c.execute(select(table.c.hits).where(table.c.key == "shared-key")).scalar()
        engine.dispose()
        assert hits == 120                 # every hit of both processes counted
        assert sum(allowed) == 70          # exactly the limit let through, across both


# --- two intake instances, one budget ----------------------------------------------------------

@contextmanager
def intake_instances(tmp_path, url: str, amqp_uri: str, count: int = 2):
    ports = [free_port() for _ in range(count)]
    processes, logs = [], []
    for index, port in enumerate(ports):
        log = open(tmp_path / f"intake-{index}.log", "wb")
        logs.append(log)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "netsterk_ops.run_service", "intake"], cwd=REPO_ROOT, stdout=log,
            stderr=subprocess.STDOUT,
            env=env_for(tmp_path, url, NETSTERK_AMQP_URI=amqp_uri, NETSTERK_INTAKE_PORT=str(port),
                        NETSTERK_INTAKE_RATE_LIMIT="5")))
        if index == 0:      # the first one migrates; then the second starts on the same schema
            wait_until(lambda p=port: requests.get(f"http://127.0.0.1:{p}/health", timeout=2).ok,
                       timeout=90, what="the first intake instance")
    try:
        for port in ports:
            wait_until(lambda p=port: requests.get(f"http://127.0.0.1:{p}/health", timeout=2).ok,
                       timeout=90, what="the intake instances")
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_intake_instances_share_one_budget_per_client(kind, tmp_path, amqp_uri):
    with database_of(kind, tmp_path, "intake") as url, intake_instances(tmp_path, url, amqp_uri) as (first, second):
        statuses = [requests.post(f"{(first, second)[i % 2]}/referrals/new", data={"network": "mechelen"},
                                  timeout=10).status_code for i in range(5)]
        assert 429 not in statuses, statuses      # 5 a minute, spread over both instances
        for base in (second, first):              # the sixth is refused by either instance
            refused = requests.post(f"{base}/referrals/new", data={"network": "mechelen"}, timeout=10)
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert "Te veel aanvragen" in refused.text and "Too many requests" in refused.text
        api = requests.post(f"{second}/api/v1/referrals", json={}, timeout=10)
        assert api.status_code == 429 and "Too many requests" in api.json()["errors"]["_"]
        assert requests.get(f"{first}/referrals/new", timeout=10).status_code == 200   # reading is free


def test_limiter_counts_in_the_database_and_lets_the_request_meet_a_missing_database(tmp_path):
    from netsterk.web_security import RateLimiter

    limiter = RateLimiter(per_minute_of=lambda: 2)
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    assert [limiter.allow(url, "public", "10.0.0.1", now=100 + i)[0] for i in range(3)] == [True, True, False]
    assert limiter.allow(url, "public", "10.0.0.1", now=103) == (False, 57)
    assert limiter.allow(url, "token", "10.0.0.1", now=103) == (True, 0)        # another bucket
    # no rate_counter table (the database is not migrated / away): allowed, the request answers
    assert limiter.allow(f"sqlite:///{tmp_path / 'empty.db'}", "public", "10.0.0.1") == (True, 0)
    assert RateLimiter(per_minute_of=lambda: 0).allow("sqlite:///nowhere/x.db", "public", "x") == (True, 0)
    limiter.dispose()
