"""reporting's rules on a real SQLite database: hand-counted figures of the fixture, small-cell
protection (including differencing attacks), rebuild equals live, exports in pandas / DuckDB."""
import io
import itertools
import random

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from netsterk.db import make_engine, session_scope, upgrade
from netsterk.envelope import make_envelope
from services.reporting import domain, export, reports, views
from services.reporting.models import EventLog, ReferralFact
from services.reporting.reports import PRIMARY, PROTECTED, SHOWN, SUPPRESSED, TOTAL, protect_grid
from services.reporting.tests import fixture


@pytest.fixture
def factory(tmp_path):
    url = f"sqlite:///{tmp_path / 'reporting.db'}"
    upgrade("reporting", url)
    engine = make_engine(url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def load(factory, items):
    for _source, event_type, envelope in items:
        with session_scope(factory) as session:
            domain.ingest(session, event_type, envelope)


def cells(factory):
    with session_scope(factory) as session:
        return domain.snapshot_cells(session)


def table(report, table_id):
    return next(t for t in report["tables"] if t["id"] == table_id)


# --- raw figures of the fixture, counted by hand ---------------------------------------------

def test_fixture_figures_match_the_hand_count(factory):
    load(factory, fixture.events("fx"))
    raw = cells(factory)

    def n(view, month, dim, value):
        return raw.get(("fx", view, f"2026-{month:02d}", dim, value), (0,))[0]
    assert (n("referrals", 3, "all", "all"), n("referrals", 4, "all", "all")) == (8, 4)
    assert n("referrals", 3, "neighbourhood", "Nekkerspoel") == 6 and n("referrals", 3, "neighbourhood", "Battel") == 2
    assert n("referrals", 4, "neighbourhood", "Nekkerspoel") == 4
    assert n("referrals", 3, "category", "truancy") == 8 and n("referrals", 3, "category", "wellbeing") == 2
    assert n("referrals", 4, "category", "wellbeing") == 4
    assert n("referrals", 3, "age_band", "12-15") == 6 and n("referrals", 3, "age_band", "6-11") == 2
    assert n("referrals", 4, "age_band", "16-18") == 4
    assert n("referrals", 3, "school_level", "primary") == 2
    assert n("referrals", 4, "source", "direct") == 1 and n("referrals", 4, "source", "contact_point") == 3
    assert n("referrals", 4, "repeat", "repeat") == 1 and n("referrals", 3, "repeat", "first") == 8
    assert n("referrals", 4, "channel", "phone") == 3 and n("referrals", 3, "channel", "email") == 2
    # triage: 3 days, due after 1 -> 2 days late; matching 3 hours, on time; awaiting partner 1 day
    assert raw[("fx", "stages", "2026-03", "triage", "*")] == (1, 0, 1, 3.0, 2.0)
    assert raw[("fx", "lateness", "2026-03", "triage", "2-5")][0] == 1
    assert raw[("fx", "stages", "2026-03", "matching", "*")] == (1, 1, 0, 0.125, 0.0)
    assert raw[("fx", "stages", "2026-03", "awaiting_partner", "*")] == (1, 1, 0, 1.0, 0.0)
    assert raw[("fx", "stages", "2026-03", "awaiting_partner", "arktos")] == (1, 1, 0, 1.0, 0.0)
    assert raw[("fx", "stages", "2026-04", "in_progress", "*")] == (1, 0, 0, 35.0, 0.0)
    assert raw[("fx", "partner_response", "2026-03", "arktos", "*")] == (1, 1, 0, 1.0, 0.0)
    assert raw[("fx", "partner_response", "2026-03", "profo", "*")] == (1, 0, 0, 3.0, 0.0)
    assert n("declines", 3, "reason", "no_capacity") == 1 and n("declines", 3, "organisation", "profo") == 1
    assert n("outcomes", 3, "arktos-naft", "re_engaged_yes") == 1
    assert n("outcomes", 4, "jam-jeugdwerk", "in_care") == 1
    assert n("gaps", 3, "reason", "no_offer") == 1 and n("gap_need_where", 3, "wellbeing", "Battel") == 1
    with session_scope(factory) as session:
        assert domain.gap_counts(session, "fx") == {
            "network": "fx", "total": 1, "by_reason": {"no_offer": 1},
            "by_category": {"truancy": 1, "wellbeing": 1}, "by_age_band": {"6-11": 1}}
        assert domain.counts(session, "fx")["total"] == 12


def test_the_event_log_keeps_no_contact_data_or_free_text(factory):
    load(factory, fixture.events("fx"))
    with session_scope(factory) as session:
        logged = [row.body for row in session.scalars(select(EventLog))]
    assert len(logged) == len(fixture.events("fx"))
    text = repr(logged)
    for secret in ("teacher@school.example", "free text", "no offer for these concerns", "NS-2026-"):
        assert secret not in text
    assert all("age" not in body["payload"] for body in logged)      # only the age band


# --- protection ------------------------------------------------------------------------------

def test_protected_dashboard_of_the_fixture_as_counted_by_hand(factory):
    load(factory, fixture.events("fx"))
    with session_scope(factory) as session:
        report = views.dashboard(session, "fx", 2026)
    month = table(report, "referrals_per_month")
    # April (4) is "<5"; the year total (12) would give it away with March (8): March is hidden
    assert month["cells"][0][2:4] == [PROTECTED, SUPPRESSED] and month["row_totals"] == [12]
    hood = table(report, "referrals_by_neighbourhood")
    assert hood["rows"] == ["Battel", "Nekkerspoel"]
    assert hood["cells"][0][2:4] == [SUPPRESSED, 0] and hood["row_totals"][0] == SUPPRESSED
    assert hood["cells"][1][2:4] == [PROTECTED, SUPPRESSED] and hood["row_totals"][1] == PROTECTED
    assert hood["col_totals"][2:4] == [PROTECTED, SUPPRESSED] and hood["grand_total"] == 12
    category = table(report, "referrals_by_category")
    assert category["col_totals"] is None          # a referral can have several concerns
    assert dict(zip(category["rows"], category["row_totals"])) == {"truancy": 8, "wellbeing": 6}
    stages = table(report, "stages")
    assert stages["rows"] == ["triage", "matching", "awaiting_partner", "in_progress", "closed"] or \
        stages["rows"][:4] == ["triage", "matching", "awaiting_partner", "in_progress"]
    assert all(v in (0, SUPPRESSED) for row in stages["cells"] for v in row)
    assert stages["extra"]["mean_days"][0] == SUPPRESSED            # no mean over 1 young person
    assert table(report, "gaps_by_reason")["row_totals"] == [SUPPRESSED]
    assert table(report, "declines_by_reason")["rows"] == ["no_capacity"]
    outcomes = table(report, "outcomes_per_offer")
    assert outcomes["rows"] == ["arktos-naft", "jam-jeugdwerk"]
    assert outcomes["cells"][0][1] == SUPPRESSED and outcomes["cells"][1][0] == SUPPRESSED


def test_naive_differencing_is_blocked():
    """Nekkerspoel 10, Battel 3, total 13 shown: naive suppression would leave 13 - 10 = 3."""
    grid = protect_grid({("Battel", "n"): 3, ("Nekkerspoel", "n"): 10}, ["Battel", "Nekkerspoel"], ["n"])
    assert grid["row_totals"] == [SUPPRESSED, PROTECTED] and grid["grand_total"] == 13


def test_total_is_hidden_when_no_cell_can_protect_it():
    # 6 = 1 + 5: hiding the 5 still leaves the 1 (the 5 is at least 5), so the total goes
    assert reports.public_counts({"network": "m", "total": 6, "by_state": {"triage": 1, "closed": 5},
                                  "by_category": {"truancy": 6, "leisure": 1}}) == {
        "network": "m", "total": PROTECTED, "by_state": {"closed": PROTECTED, "triage": SUPPRESSED},
        "by_category": {"truancy": 6, "leisure": SUPPRESSED}}
    assert [reports.suppress(n) for n in (0, 1, 4, 5, 12)] == [0, SUPPRESSED, SUPPRESSED, 5, 12]


def _possible_values(grid, rows, cols, values):
    """What a reader can work out: every filling of the hidden cells that agrees with every shown
    figure ("<5" = 1..4, "x" = 5 or more; a hidden cell is never above a shown total it is part
    of). Returns, per "<5" cell, the set of values it can take."""
    status = grid["status"]

    def allowed(key, value):
        state = status[key]
        if state == SHOWN:
            return value == values[key]
        return 1 <= value <= 4 if state == PRIMARY else value >= 5

    def options(r, c):
        key = (r, c)
        if status[key] == SHOWN:
            return [values[key]]
        if status[key] == PRIMARY:
            return [1, 2, 3, 4]
        caps = [values[k] for k in ((r, TOTAL), (TOTAL, c), (TOTAL, TOTAL)) if status[k] == SHOWN]
        return list(range(5, min(caps + [60]) + 1))

    row_fillings = []
    for r in rows:
        fillings = [f for f in itertools.product(*(options(r, c) for c in cols))
                    if allowed((r, TOTAL), sum(f))]
        row_fillings.append(fillings)
    possible = {(r, c): set() for r in rows for c in cols if status[(r, c)] == PRIMARY}
    for combination in itertools.product(*row_fillings):
        column_sums = [sum(row[i] for row in combination) for i in range(len(cols))]
        if not all(allowed((TOTAL, c), column_sums[i]) for i, c in enumerate(cols)):
            continue
        if not allowed((TOTAL, TOTAL), sum(column_sums)):
            continue
        for r_index, r in enumerate(rows):
            for c_index, c in enumerate(cols):
                if (r, c) in possible:
                    possible[(r, c)].add(combination[r_index][c_index])
    return possible


@pytest.mark.parametrize("seed", range(40))
def test_no_small_cell_can_be_worked_out_from_the_totals(seed):
    """A differencing attack by brute force on random 2 x 3 tables with row, column and grand
    totals: every "<5" cell keeps at least two possible values."""
    rng = random.Random(seed)
    rows, cols = ["a", "b"], ["m1", "m2", "m3"]
    cells_ = {(r, c): rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 9, 12]) for r in rows for c in cols}
    grid = protect_grid(cells_, rows, cols)
    values = grid["values"]
    for key, options in _possible_values(grid, rows, cols, values).items():
        assert values[key] in options
        assert len(options) >= 2, f"cell {key} = {values[key]} can be worked out from {grid['cells']}"


def test_month_a_breakdown_cannot_protect_is_hidden_everywhere():
    """Monthly totals are shared by every breakdown: a month that one breakdown can only protect
    by hiding its total is hidden in the per-month table too, and that table stays safe."""
    from services.reporting.facts import apply_difference
    from sqlalchemy.orm import Session
    engine = make_engine("sqlite://")
    from services.reporting.models import Base
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        rows = [["referrals", "2026-01", "all", "all", 6, 0, 0, 0.0, 0.0],
                ["referrals", "2026-01", "neighbourhood", "A", 1, 0, 0, 0.0, 0.0],
                ["referrals", "2026-01", "neighbourhood", "B", 5, 0, 0, 0.0, 0.0],
                ["referrals", "2026-02", "all", "all", 9, 0, 0, 0.0, 0.0],
                ["referrals", "2026-02", "neighbourhood", "B", 9, 0, 0, 0.0, 0.0]]
        apply_difference(session, "n", [], rows)
        tables = views.referral_tables(session, "n", 2026)
    month, hood = tables[0], tables[1]
    assert month["cells"][0][:2] == [PROTECTED, PROTECTED] and month["row_totals"] == [15]
    assert hood["col_totals"][:2] == [PROTECTED, PROTECTED]
    assert hood["cells"] == [[SUPPRESSED] + [0] * 11, [PROTECTED, 9] + [0] * 10] or \
        hood["cells"][0][0] == SUPPRESSED


# --- rebuild ---------------------------------------------------------------------------------

def test_rebuild_from_the_log_gives_the_same_numbers(factory):
    load(factory, fixture.events("fx"))
    live = cells(factory)
    with session_scope(factory) as session:
        live_report = views.dashboard(session, "fx", 2026)
        summary = domain.rebuild(session)
    assert summary["events"] == len(fixture.events("fx"))
    assert cells(factory) == live
    with session_scope(factory) as session:
        assert views.dashboard(session, "fx", 2026) == live_report


def test_order_of_arrival_does_not_change_the_numbers(factory, tmp_path):
    items = fixture.events("fx")
    submissions = [i for i in items if i[1] == "referral_submitted"]
    others = [i for i in items if i[1] != "referral_submitted"]
    shuffled = list(reversed(others)) + submissions          # every change before its referral
    load(factory, items)
    url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade("reporting", url)
    other = sessionmaker(make_engine(url), expire_on_commit=False)
    load(other, shuffled)
    assert cells(other) == cells(factory)


def test_anonymise_drops_the_person_key_and_keeps_the_counts(factory):
    load(factory, fixture.events("fx"))
    before = cells(factory)
    with session_scope(factory) as session:
        domain.ingest(session, domain.ANONYMISE, make_envelope(domain.ANONYMISE, {
            "referral_id": "fx-r09", "network": "fx", "at": "2028-05-01T00:00:00+00:00"}))
    with session_scope(factory) as session:
        assert session.get(ReferralFact, "fx-r09").person_key is None
        logged = session.scalars(select(EventLog).where(EventLog.referral_id == "fx-r09")).all()
        assert all(row.body["payload"].get("person_key") is None for row in logged)
        domain.rebuild(session)
    assert cells(factory) == before                           # still counted as a repeat


def test_bad_payloads_are_refused(factory):
    sub = fixture.events("fx")[0][2]
    moved = next(e for _s, t, e in fixture.events("fx") if t == "referral_state_changed")
    with session_scope(factory) as session:
        with pytest.raises(domain.InvalidEvent, match="to_state"):
            domain.ingest(session, "referral_state_changed",
                          dict(moved, payload=dict(moved["payload"], to_state="flying")))
        with pytest.raises(domain.InvalidEvent, match="at must be an ISO 8601"):
            domain.ingest(session, "referral_state_changed", dict(moved, payload=dict(moved["payload"], at="x")))
        with pytest.raises(domain.InvalidEvent, match="referral_id"):
            domain.ingest(session, "referral_submitted", dict(sub, payload=dict(sub["payload"], referral_id="")))
        with pytest.raises(domain.InvalidEvent, match="status must be one of"):
            domain.ingest(session, "engagement_changed", make_envelope("engagement_changed", {
                "referral_id": "r", "network": "fx", "offer_id": "o", "status": "maybe", "at": "2026-01-01"}))
        with pytest.raises(domain.InvalidQuery):
            domain.counts(session, "")
    with pytest.raises(views.InvalidReport, match="year"):
        views.check("fx", 1850)


# --- exports ---------------------------------------------------------------------------------

def test_exports_open_in_pandas_and_duckdb(factory, tmp_path):
    import duckdb
    import pandas

    load(factory, fixture.events("fx"))
    with session_scope(factory) as session:
        report = views.dashboard(session, "fx", 2026)
    frame = pandas.read_csv(io.StringIO(export.to_csv(report)))
    month = frame[(frame.table == "referrals_per_month") & (frame.column == "total")]
    assert month["value"].tolist() == ["12"]
    assert set(frame[frame.table == "referrals_by_neighbourhood"]["value"]) >= {SUPPRESSED, PROTECTED}
    path = tmp_path / "export.parquet"
    path.write_bytes(export.to_parquet(report))
    assert pandas.read_parquet(path).shape == frame.shape
    rows = duckdb.sql(f"SELECT value, count FROM read_parquet('{path}') WHERE \"table\" = "
                      "'referrals_by_category' AND \"row\" = 'truancy' AND \"column\" = 'total'").fetchall()
    assert rows == [("8", 8.0)]
    # nothing small leaks through the numeric column
    small = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}') WHERE count BETWEEN 1 AND 4 "
                       "AND \"column\" NOT LIKE 'mean%'").fetchall()[0][0]
    assert small == 0
    html = export.periodic_report(report, "en")
    assert html.startswith("<!doctype html>") and "<svg" in html and "Referrals per month" in html
