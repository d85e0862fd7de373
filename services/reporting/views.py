"""The dashboard of one network and year, read from the pre-aggregated cells and protected
(services/reporting/reports.py) before anything leaves the service.

Every table: {id, kind, rows, cols, cells, row_totals, col_totals, grand_total, extra}; rows and
cols are codes (the portal translates them through the catalogue)."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.reporting import reports
from services.reporting.facts import GAP_DIMS, REFERRAL_DIMS
from services.reporting.models import ReportCell

STAGE_ORDER = ("draft", "awaiting_school_efforts", "triage", "matching", "awaiting_partner",
               "in_progress")
STAGE_COLS = ("on_time", "late_1", "late_2-5", "late_>5", "no_deadline")
OUTCOME_COLS = ("in_care", "re_engaged_yes", "re_engaged_partly", "re_engaged_no", "stopped", "ended")
REFERRAL_TABLES = ("neighbourhood", "category", "school_level", "age_band", "channel", "source", "repeat")
GAP_TABLES = ("reason", "neighbourhood", "age_band", "school_level")


class InvalidReport(ValueError):
    """A report request with an unusable network or year."""


def months(year: int) -> list[str]:
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)]


def check(network, year) -> tuple[str, int]:
    if not isinstance(network, str) or not network.strip() or len(network) > 64:
        raise InvalidReport("network must be a non-empty code")
    if isinstance(year, str) and year.isdigit():
        year = int(year)
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise InvalidReport("year must be a year between 2000 and 2100")
    return network, year


def years(session: Session, network: str) -> list[int]:
    periods = session.scalars(select(func.substr(ReportCell.period, 1, 4)).distinct()
                              .where(ReportCell.network == network, ReportCell.n > 0))
    return sorted(int(p) for p in periods)


def _cells(session: Session, network: str, view: str, year: int) -> list[ReportCell]:
    return list(session.scalars(select(ReportCell).where(
        ReportCell.network == network, ReportCell.view == view,
        ReportCell.period >= f"{year:04d}-01", ReportCell.period <= f"{year:04d}-12")))


def _table(table_id: str, kind: str, rows: list, cols: list, grid: dict, **extra) -> dict:
    return {"id": table_id, "kind": kind, "rows": list(rows), "cols": list(cols),
            "cells": grid["cells"], "row_totals": grid["row_totals"],
            "col_totals": grid["col_totals"], "grand_total": grid["grand_total"], "extra": extra}


def referral_tables(session: Session, network: str, year: int) -> list[dict]:
    """Referrals per month, then per month and each dimension, protected together (rule 3)."""
    cols = months(year)
    by_dim: dict[str, dict] = defaultdict(dict)
    for cell in _cells(session, network, "referrals", year):
        by_dim[cell.dim][(cell.value, cell.period)] = cell.n
    forced: set = set()
    for _round in range(len(cols) + 2):
        base = reports.protect_grid(by_dim["all"], ["all"], cols, col_totals=False,
                                    forced={("all", c) for c in forced})
        # the base table is one row: its row total is the year total, its columns the months
        given = {c: base["status"][("all", c)] for c in cols}
        given[reports.TOTAL] = base["status"][("all", reports.TOTAL)]
        tables = [_table("referrals_per_month", "trend", ["all"], cols, base)]
        newly = set()
        for dim in REFERRAL_TABLES:
            rows = sorted({value for value, _ in by_dim[dim]})
            single = REFERRAL_DIMS[dim] == "single"
            grid = reports.protect_grid(by_dim[dim], rows, cols, col_totals=single,
                                        given_cols=given if single else None)
            if single:
                newly |= {c for c in cols if grid["status"][(reports.TOTAL, c)] != reports.SHOWN
                          and given[c] == reports.SHOWN}
            tables.append(_table(f"referrals_by_{dim}", "grid", rows, cols, grid, dimension=dim))
        if not newly - forced:
            return tables
        forced |= newly
    return tables


def _one_column(table_id: str, counts: dict, *, dimension: str) -> dict:
    rows = sorted(counts)
    grid = reports.protect_grid({(r, "count"): counts[r] for r in rows}, rows, ["count"])
    return _table(table_id, "list", rows, ["count"], grid, dimension=dimension)


def stage_table(session: Session, network: str, year: int) -> dict:
    """Time in each stage and deadline compliance: on time / late by 1, 2-5, >5 days / no deadline."""
    counts: dict = defaultdict(int)
    days, late_days, totals = defaultdict(float), defaultdict(float), defaultdict(int)
    for cell in _cells(session, network, "stages", year):
        if cell.value != "*":
            continue
        totals[cell.dim] += cell.n
        counts[(cell.dim, "on_time")] += cell.on_time
        counts[(cell.dim, "no_deadline")] += cell.n - cell.on_time - cell.late
        days[cell.dim] += cell.days
        late_days[cell.dim] += cell.late_days
    for cell in _cells(session, network, "lateness", year):
        counts[(cell.dim, f"late_{cell.value}")] += cell.n
    rows = [s for s in STAGE_ORDER if totals.get(s)] + sorted(set(totals) - set(STAGE_ORDER))
    grid = reports.protect_grid(counts, rows, list(STAGE_COLS), col_totals=False)
    late = {r: sum(counts[(r, c)] for c in STAGE_COLS[1:4]) for r in rows}
    return _table("stages", "grid", rows, STAGE_COLS, grid,
                  mean_days=[_mean(days[r], totals[r]) for r in rows],
                  mean_days_late=[_mean(late_days[r], late[r]) for r in rows])


def _mean(total: float, n: int):
    """Averages only over 5 or more young people."""
    return round(total / n, 1) if n >= reports.SMALL_CELL_LIMIT else reports.SUPPRESSED if n else None


def partner_table(session: Session, network: str, year: int) -> dict:
    """Per partner: answers to engagement requests on time / late, and the mean answer time."""
    counts: dict = defaultdict(int)
    days, totals = defaultdict(float), defaultdict(int)
    for cell in _cells(session, network, "partner_response", year):
        totals[cell.dim] += cell.n
        counts[(cell.dim, "on_time")] += cell.on_time
        counts[(cell.dim, "late")] += cell.late
        counts[(cell.dim, "no_deadline")] += cell.n - cell.on_time - cell.late
        days[cell.dim] += cell.days
    rows = sorted(totals)
    cols = ["on_time", "late", "no_deadline"]
    grid = reports.protect_grid(counts, rows, cols)
    return _table("partner_response", "grid", rows, cols, grid,
                  mean_days=[_mean(days[r], totals[r]) for r in rows])


def decline_tables(session: Session, network: str, year: int) -> list[dict]:
    by_dim: dict = defaultdict(lambda: defaultdict(int))
    for cell in _cells(session, network, "declines", year):
        by_dim[cell.dim][cell.value] += cell.n
    return [_one_column(f"declines_by_{dim}", by_dim[dim], dimension=dim)
            for dim in ("reason", "organisation")]


def gap_tables(session: Session, network: str, year: int) -> list[dict]:
    by_dim: dict = defaultdict(lambda: defaultdict(int))
    for cell in _cells(session, network, "gaps", year):
        by_dim[cell.dim][cell.value] += cell.n
    tables = [_one_column(f"gaps_by_{dim}", by_dim[dim], dimension=dim) for dim in GAP_TABLES]
    need_where: dict = defaultdict(int)
    for cell in _cells(session, network, "gap_need_where", year):
        need_where[(cell.dim, cell.value)] += cell.n
    rows = sorted({r for r, _ in need_where})
    cols = sorted({c for _, c in need_where})
    grid = reports.protect_grid(need_where, rows, cols, col_totals=GAP_DIMS["category"] == "single")
    tables.append(_table("gaps_need_where", "grid", rows, cols, grid, dimension="category"))
    return tables


def outcome_table(session: Session, network: str, year: int) -> dict:
    counts: dict = defaultdict(int)
    for cell in _cells(session, network, "outcomes", year):
        counts[(cell.dim, cell.value)] += cell.n
    rows = sorted({r for r, _ in counts})
    grid = reports.protect_grid(counts, rows, list(OUTCOME_COLS))
    return _table("outcomes_per_offer", "grid", rows, OUTCOME_COLS, grid)


def dashboard(session: Session, network, year) -> dict:
    network, year = check(network, year)
    tables = referral_tables(session, network, year)
    tables += [stage_table(session, network, year), partner_table(session, network, year)]
    tables += decline_tables(session, network, year)
    tables += gap_tables(session, network, year)
    tables.append(outcome_table(session, network, year))
    return {"network": network, "year": year, "years": years(session, network), "tables": tables}


def long_rows(report: dict) -> list[dict]:
    """Every shown figure of a dashboard as one row (exports): table, row, column, value as
    shown, and count (null when hidden)."""
    out = []

    def add(table, row, col, shown):
        out.append({"network": report["network"], "year": report["year"], "table": table["id"],
                    "row": str(row), "column": str(col), "value": str(shown),
                    "count": shown if isinstance(shown, (int, float)) else None})
    for table in report["tables"]:
        for r, row in enumerate(table["rows"]):
            for c, col in enumerate(table["cols"]):
                add(table, row, col, table["cells"][r][c])
            add(table, row, "total", table["row_totals"][r])
            for name in ("mean_days", "mean_days_late"):
                if name in table["extra"] and table["extra"][name][r] is not None:
                    add(table, row, name, table["extra"][name][r])
        if table["col_totals"] is not None:
            for c, col in enumerate(table["cols"]):
                add(table, "total", col, table["col_totals"][c])
            add(table, "total", "total", table["grand_total"])
    return out


def this_year() -> int:
    from netsterk.db import utcnow

    return utcnow().year
