"""Benchmark: the reporting dashboard at one million referrals.

Generates N synthetic referrals (default 1,000,000) over 10 networks and 24 months, each with its
stages, engagements, declines, outcomes and 5 % gaps. Loads them twice, in the same run:
- into reporting's own SQLite store the way the service keeps it: the pre-aggregated
  `report_cell` table (what the contributions of every fact add up to), plus the flat
  `referral_fact` rows (to show what a query over raw rows costs in SQLite);
- into DuckDB as raw, flat tables (referrals, categories, stages, engagements, gaps).
Then times the dashboard queries of the largest network for one year: reporting's real view
functions (services/reporting/views.py, protection included) against the same aggregations in
DuckDB over the raw rows, and checks both give the same counts. Prints figures; never asserts on
time.

    .venv/bin/python -m bench.bench_reporting [--n 1000000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

NETWORKS = ["mechelen", "antwerpen-kiel", "gent", "genk", "leuven", "brussel", "aalst", "brugge",
            "hasselt", "kortrijk"]
NETWORK_WEIGHTS = [0.3, 0.15, 0.12, 0.08, 0.08, 0.08, 0.05, 0.05, 0.05, 0.04]
CATEGORIES = ["truancy", "motivation", "home_situation", "wellbeing", "learning", "leisure"]
AGE_BANDS = ["6-11", "12-15", "16-18", "19-25", "unknown"]
LEVELS = ["primary", "secondary", "special_needs"]
CHANNELS = ["web", "email", "phone", "api", "direct"]
ORGS = ["arktos", "profo", "pros", "jam", "samenlevingsopbouw", "clb", "huiswerkklas", "cawb"]
REASONS = ["no_capacity", "outside_area", "not_our_expertise", "family_unreachable", "other"]
GAP_REASONS = ["no_offer", "outside_area", "age", "school_level", "languages", "no_capacity",
               "already_engaged", "all_declined"]
OUTCOMES = ["in_care", "re_engaged_yes", "re_engaged_partly", "re_engaged_no", "stopped", "ended"]
STAGES = [("triage", 1.2, 1.0), ("matching", 0.8, 1.0), ("awaiting_partner", 1.5, 2.0),
          ("in_progress", 40.0, None)]


def generate(n: int, seed: int = 8):
    """Flat synthetic facts as pandas DataFrames."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    months = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)]
    ref = pd.DataFrame({
        "referral_id": np.arange(n),
        "network": np.array(NETWORKS)[rng.choice(len(NETWORKS), n, p=NETWORK_WEIGHTS)],
        "period": np.array(months)[rng.integers(0, len(months), n)],
        "neighbourhood": np.char.add("wijk-", rng.integers(1, 26, n).astype(str)),
        "age_band": np.array(AGE_BANDS)[rng.choice(5, n, p=[0.2, 0.4, 0.3, 0.08, 0.02])],
        "school_level": np.array(LEVELS)[rng.choice(3, n, p=[0.3, 0.6, 0.1])],
        "channel": np.array(CHANNELS)[rng.choice(5, n, p=[0.5, 0.2, 0.15, 0.05, 0.1])],
        "repeat": np.where(rng.random(n) < 0.15, "repeat", "first"),
    })
    ref["source"] = np.where(ref["channel"] == "direct", "direct", "contact_point")
    first = rng.integers(0, 6, n)
    second = (first + rng.integers(1, 6, n)) % 6
    has_second = rng.random(n) < 0.4
    cats = pd.concat([
        pd.DataFrame({"referral_id": ref.referral_id, "category": np.array(CATEGORIES)[first]}),
        pd.DataFrame({"referral_id": ref.referral_id[has_second],
                      "category": np.array(CATEGORIES)[second[has_second]]}),
    ]).merge(ref[["referral_id", "network", "period"]], on="referral_id")
    org = np.array(ORGS)[rng.integers(0, len(ORGS), n)]
    stage_frames = []
    for state, mean, due in STAGES:
        days = rng.exponential(mean, n).round(4)
        late = (days > due) if due is not None else np.zeros(n, bool)
        on_time = (days <= due) if due is not None else np.zeros(n, bool)
        late_days = np.where(late, np.ceil(days - (due or 0)), 0.0)
        stage_frames.append(pd.DataFrame({
            "referral_id": ref.referral_id, "network": ref.network, "period": ref.period,
            "state": state, "organisation_id": org if state in ("awaiting_partner", "in_progress") else None,
            "days": days, "on_time": on_time.astype(int), "late": late.astype(int), "late_days": late_days}))
    stages = pd.concat(stage_frames, ignore_index=True)
    declined = rng.random(n) < 0.2
    engagements = pd.DataFrame({
        "referral_id": ref.referral_id, "network": ref.network, "period": ref.period,
        "organisation_id": org, "offer_id": np.char.add(org.astype(str), "-offer"),
        "declined": declined, "reason_code": np.array(REASONS)[rng.integers(0, 5, n)],
        "decline_org": np.array(ORGS)[rng.integers(0, len(ORGS), n)],
        "outcome": np.array(OUTCOMES)[rng.choice(6, n, p=[0.35, 0.25, 0.15, 0.1, 0.1, 0.05])]})
    gapped = rng.random(n) < 0.05
    gaps = ref[gapped][["referral_id", "network", "period", "neighbourhood", "age_band", "school_level"]].copy()
    gaps["reason"] = np.array(GAP_REASONS)[rng.integers(0, len(GAP_REASONS), len(gaps))]
    gaps["category"] = np.array(CATEGORIES)[first[gapped]]
    return ref, cats, stages, engagements, gaps


def cells_from(ref, cats, stages, engagements, gaps):
    """The report_cell rows these facts contribute (services/reporting/facts.py, vectorised)."""
    import pandas as pd

    def counted(frame, view, dim, value_column, keys=("network", "period")):
        grouped = frame.groupby(list(keys) + [value_column], observed=True).size().reset_index(name="n")
        return grouped.rename(columns={value_column: "value"}).assign(view=view, dim=dim)
    parts = [counted(ref.assign(all="all"), "referrals", "all", "all")]
    for dim in ("neighbourhood", "age_band", "school_level", "channel", "source", "repeat"):
        parts.append(counted(ref, "referrals", dim, dim))
    parts.append(counted(cats, "referrals", "category", "category"))
    timed = stages.groupby(["network", "period", "state"]).agg(
        n=("days", "size"), on_time=("on_time", "sum"), late=("late", "sum"), days=("days", "sum"),
        late_days=("late_days", "sum")).reset_index()
    parts.append(timed.rename(columns={"state": "dim"}).assign(view="stages", value="*"))
    per_org = stages[stages.organisation_id.notna()].groupby(["network", "period", "state", "organisation_id"]).agg(
        n=("days", "size"), on_time=("on_time", "sum"), late=("late", "sum"), days=("days", "sum"),
        late_days=("late_days", "sum")).reset_index()
    parts.append(per_org.rename(columns={"state": "dim", "organisation_id": "value"}).assign(view="stages"))
    late = stages[stages.late == 1].assign(bucket=lambda f: pd.cut(
        f.late_days, [0, 1, 5, 1e9], labels=["1", "2-5", ">5"]).astype(str))
    lateness = late.groupby(["network", "period", "state", "bucket"]).size().reset_index(name="n")
    parts.append(lateness.rename(columns={"state": "dim", "bucket": "value"}).assign(view="lateness"))
    response = stages[stages.state == "awaiting_partner"].groupby(["network", "period", "organisation_id"]).agg(
        n=("days", "size"), on_time=("on_time", "sum"), late=("late", "sum"), days=("days", "sum"),
        late_days=("late_days", "sum")).reset_index()
    parts.append(response.rename(columns={"organisation_id": "dim"}).assign(view="partner_response", value="*"))
    declines = engagements[engagements.declined]
    parts.append(counted(declines, "declines", "reason", "reason_code"))
    parts.append(counted(declines, "declines", "organisation", "decline_org"))
    outcomes = engagements.groupby(["network", "period", "offer_id", "outcome"]).size().reset_index(name="n")
    parts.append(outcomes.rename(columns={"offer_id": "dim", "outcome": "value"}).assign(view="outcomes"))
    parts.append(counted(gaps.assign(all="all"), "gaps", "all", "all"))
    for dim in ("reason", "neighbourhood", "age_band", "school_level", "category"):
        parts.append(counted(gaps, "gaps", dim, dim))
    need = gaps.groupby(["network", "period", "category", "neighbourhood"]).size().reset_index(name="n")
    parts.append(need.rename(columns={"category": "dim", "neighbourhood": "value"}).assign(view="gap_need_where"))
    cells = pd.concat(parts, ignore_index=True)
    for column in ("on_time", "late", "days", "late_days"):
        cells[column] = cells[column].fillna(0) if column in cells else 0
    return cells[["network", "view", "period", "dim", "value", "n", "on_time", "late", "days", "late_days"]]


def timed(function, repeat: int) -> tuple[float, object]:
    runs, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import duckdb
    from sqlalchemy import text
    from sqlalchemy.orm import sessionmaker

    from netsterk.db import make_engine, session_scope, upgrade
    from services.reporting import views

    t0 = time.perf_counter()
    ref, cats, stages, engagements, gaps = generate(args.n)
    cells = cells_from(ref, cats, stages, engagements, gaps)
    print(f"generated {len(ref):,} referrals, {len(cats):,} category rows, {len(stages):,} stage rows, "
          f"{len(engagements):,} engagements, {len(gaps):,} gaps -> {len(cells):,} cells "
          f"in {time.perf_counter() - t0:.1f} s")

    url = f"sqlite:///{tempfile.mkdtemp(prefix='netsterk-bench-')}/reporting.db"
    upgrade("reporting", url)
    engine = make_engine(url)
    t0 = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO report_cell (network, view, period, dim, value, n, on_time, late, days, late_days) "
            "VALUES (:network, :view, :period, :dim, :value, :n, :on_time, :late, :days, :late_days)"),
            cells.to_dict("records"))
        connection.execute(text(
            "INSERT INTO referral_fact (referral_id, network, categories, state, submitted_at, updated_at, "
            "neighbourhood, age_band, school_level, channel, direct, repeat_number, anonymised) "
            "VALUES (:referral_id, :network, '[]', 'closed', :submitted_at, :submitted_at, :neighbourhood, "
            ":age_band, :school_level, :channel, :direct, :repeat_number, 0)"),
            [{"referral_id": str(r.referral_id), "network": r.network, "submitted_at": f"{r.period}-15 00:00:00",
              "neighbourhood": r.neighbourhood, "age_band": r.age_band, "school_level": r.school_level,
              "channel": r.channel, "direct": r.source == "direct", "repeat_number": 2 if r.repeat == "repeat" else 1}
             for r in ref.itertuples()])
    print(f"SQLite load (cells + {len(ref):,} flat referral facts): {time.perf_counter() - t0:.1f} s")

    db = duckdb.connect()
    t0 = time.perf_counter()
    for name, frame in (("referrals", ref), ("categories", cats), ("stages", stages),
                        ("engagements", engagements), ("gaps", gaps)):
        db.register(f"{name}_frame", frame)
        db.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
    print(f"DuckDB load (raw rows): {time.perf_counter() - t0:.1f} s")

    network, year = "mechelen", 2026
    factory = sessionmaker(engine, expire_on_commit=False)
    where = f"network = '{network}' AND period BETWEEN '{year}-01' AND '{year}-12'"
    cases = [
        ("referrals per month/neighbourhood/category/level (+trend, protected)",
         lambda s: views.referral_tables(s, network, year),
         f"SELECT 'neighbourhood' d, neighbourhood v, period, count(*) FROM referrals WHERE {where} GROUP BY ALL "
         f"UNION ALL SELECT 'school_level', school_level, period, count(*) FROM referrals WHERE {where} GROUP BY ALL "
         f"UNION ALL SELECT 'age_band', age_band, period, count(*) FROM referrals WHERE {where} GROUP BY ALL "
         f"UNION ALL SELECT 'channel', channel, period, count(*) FROM referrals WHERE {where} GROUP BY ALL "
         f"UNION ALL SELECT 'source', source, period, count(*) FROM referrals WHERE {where} GROUP BY ALL "
         f"UNION ALL SELECT 'repeat', repeat, period, count(*) FROM referrals WHERE {where} GROUP BY ALL "
         f"UNION ALL SELECT 'category', category, period, count(*) FROM categories WHERE {where} GROUP BY ALL"),
        ("time per stage + deadline compliance",
         lambda s: views.stage_table(s, network, year),
         f"SELECT state, count(*), sum(on_time), sum(late), avg(days), "
         f"sum(CASE WHEN late = 1 AND late_days <= 1 THEN 1 ELSE 0 END), "
         f"sum(CASE WHEN late_days > 1 AND late_days <= 5 THEN 1 ELSE 0 END), "
         f"sum(CASE WHEN late_days > 5 THEN 1 ELSE 0 END) FROM stages WHERE {where} GROUP BY state"),
        ("deadline compliance per partner",
         lambda s: views.partner_table(s, network, year),
         f"SELECT organisation_id, count(*), sum(on_time), sum(late), avg(days) FROM stages "
         f"WHERE {where} AND state = 'awaiting_partner' GROUP BY 1"),
        ("declines by reason / partner",
         lambda s: views.decline_tables(s, network, year),
         f"SELECT reason_code, count(*) FROM engagements WHERE {where} AND declined GROUP BY 1 "
         f"UNION ALL SELECT decline_org, count(*) FROM engagements WHERE {where} AND declined GROUP BY 1"),
        ("gaps: need, where, for whom",
         lambda s: views.gap_tables(s, network, year),
         f"SELECT category, neighbourhood, count(*) FROM gaps WHERE {where} GROUP BY ALL "
         f"UNION ALL SELECT reason, age_band, count(*) FROM gaps WHERE {where} GROUP BY ALL"),
        ("outcomes per offer",
         lambda s: views.outcome_table(s, network, year),
         f"SELECT offer_id, outcome, count(*) FROM engagements WHERE {where} GROUP BY ALL"),
        ("whole dashboard (every table, protected)",
         lambda s: views.dashboard(s, network, year), None),
    ]
    print(f"\ndashboard of {network!r} {year} ({int((ref.network == network).sum()):,} referrals in the "
          f"network, {args.n:,} in all), median of {args.repeat} runs, ms:")
    print(f"{'query':<70} {'reporting (SQLite cells)':>24} {'DuckDB (raw rows)':>18}")
    with session_scope(factory) as session:
        for label, ours, duck in cases:
            ms, _result = timed(lambda: ours(session), args.repeat)
            duck_ms = timed(lambda: db.execute(duck).fetchall(), args.repeat)[0] if duck else None
            print(f"{label:<70} {ms:>24.1f} {duck_ms if duck_ms is None else round(duck_ms, 1)!s:>18}")

        # same counts in both engines: year total per neighbourhood, SQLite cells vs DuckDB rows
        sqlite_counts = dict(session.execute(text(
            "SELECT value, sum(n) FROM report_cell WHERE network = :network AND view = 'referrals' "
            "AND dim = 'neighbourhood' AND period BETWEEN :a AND :b GROUP BY value"),
            {"network": network, "a": f"{year}-01", "b": f"{year}-12"}).all())
        duck_counts = dict(db.execute(f"SELECT neighbourhood, count(*) FROM referrals WHERE {where} "
                                      "GROUP BY 1").fetchall())
        print(f"\nsame counts per neighbourhood in both engines: {sqlite_counts == duck_counts}")
        raw_ms = timed(lambda: session.execute(text(
            "SELECT neighbourhood, substr(submitted_at, 1, 7), count(*) FROM referral_fact "
            "WHERE network = :network AND submitted_at >= :a AND submitted_at < :b GROUP BY 1, 2"),
            {"network": network, "a": f"{year}-01-01", "b": f"{year + 1}-01-01"}).all(), args.repeat)[0]
        print(f"for comparison, referrals per neighbourhood and month over the raw SQLite facts "
              f"(no pre-aggregation): {raw_ms:.1f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
