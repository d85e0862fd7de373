"""Small-cell protection: what an analyst may see of a table of counts.

Rules (every view, chart and export goes through `protect`):
1. Primary suppression: a count of 1 to 4 young people is shown as "<5" (0 and 5+ stay).
2. Complementary suppression: a table shows totals (per row, per column, overall). For every
   group of cells whose total is shown, a reader knows the sum of its hidden cells. The group
   must leave every "<5" cell undetermined: with "<5" cells between 1 and 4 and cells hidden for
   protection ("x") at 5 or more, each "<5" cell must still have at least two possible values.
   Until it does, the smallest shown non-zero cell of the group is hidden as "x"; when no cell is
   left, the group's total is hidden ("x"). Repeated over rows, columns and totals until stable.
3. Tables of the same population share their totals: the monthly totals of a year are protected
   once (`referrals per month`) and every breakdown by a single-valued dimension takes those
   totals as given; a month a breakdown cannot protect is hidden in every table.
Averages (days) are shown only for groups of 5 or more."""
from __future__ import annotations

SMALL_CELL_LIMIT = 5
SUPPRESSED = "<5"
PROTECTED = "x"
TOTAL = "__total__"

SHOWN, PRIMARY, COMPLEMENTARY = "shown", "primary", "complementary"


def suppress(count: int):
    """A count of 1..4 could point at a person: show it as "<5"; 0 and 5+ stay as they are."""
    return SUPPRESSED if 0 < count < SMALL_CELL_LIMIT else count


def _bounds(status: str) -> tuple[float, float]:
    return (1, SMALL_CELL_LIMIT - 1) if status == PRIMARY else (SMALL_CELL_LIMIT, float("inf"))


def group_is_safe(values: dict, status: dict, members: list, total) -> bool:
    """Can a reader who sees the total and the shown members pin down any "<5" member?"""
    hidden = [k for k in members if status[k] != SHOWN]
    if not any(status[k] == PRIMARY for k in hidden):
        return True
    rest = values[total] - sum(values[k] for k in members if status[k] == SHOWN)
    for key in hidden:
        if status[key] != PRIMARY:
            continue
        others = [_bounds(status[k]) for k in hidden if k != key]
        low = max(1, rest - sum(b[1] for b in others))
        high = min(SMALL_CELL_LIMIT - 1, rest - sum(b[0] for b in others))
        if high <= low:
            return False
    return True


def protect(values: dict, groups: list[tuple[list, object]], forced: set = frozenset()) -> dict:
    """The status of every key (SHOWN / PRIMARY / COMPLEMENTARY) after rules 1 and 2.

    `values`: key -> count (cells and totals); `groups`: (member keys, total key); `forced`:
    keys hidden as COMPLEMENTARY from the start (totals another table had to hide)."""
    status = {k: PRIMARY if 0 < v < SMALL_CELL_LIMIT else SHOWN for k, v in values.items()}
    for key in forced:
        if status[key] == SHOWN and values[key] > 0:
            status[key] = COMPLEMENTARY
    changed = True
    while changed:
        changed = False
        for members, total in groups:
            while status[total] == SHOWN and not group_is_safe(values, status, members, total):
                candidates = [k for k in members if status[k] == SHOWN and values[k] > 0]
                if candidates:
                    status[min(candidates, key=lambda k: (values[k], str(k)))] = COMPLEMENTARY
                else:
                    status[total] = COMPLEMENTARY
                changed = True
    return status


def display(value: int, state: str):
    return value if state == SHOWN else SUPPRESSED if state == PRIMARY else PROTECTED


def protect_grid(cells: dict, rows: list, cols: list, *, col_totals: bool = True,
                 given_cols: dict | None = None) -> dict:
    """A rows x cols table of counts with row totals (and, for single-valued dimensions, column
    totals and the grand total). `given_cols`: the status of column totals and grand total
    fixed by another table. Returns {"cells", "row_totals", "col_totals", "grand_total",
    "status"} with display values."""
    values = {(r, c): int(cells.get((r, c), 0)) for r in rows for c in cols}
    for r in rows:
        values[(r, TOTAL)] = sum(values[(r, c)] for c in cols)
    groups = [([(r, c) for c in cols], (r, TOTAL)) for r in rows]
    forced = set()
    if col_totals:
        for c in cols + [TOTAL]:
            values[(TOTAL, c)] = sum(values[(r, c)] for r in rows)
        groups += [([(r, c) for r in rows], (TOTAL, c)) for c in cols + [TOTAL]]
        groups.append(([(TOTAL, c) for c in cols], (TOTAL, TOTAL)))
        forced = {(TOTAL, c) for c, state in (given_cols or {}).items() if state != SHOWN}
    status = protect(values, groups, forced)
    shown = {k: display(values[k], status[k]) for k in values}
    return {
        "cells": [[shown[(r, c)] for c in cols] for r in rows],
        "row_totals": [shown[(r, TOTAL)] for r in rows],
        "col_totals": [shown[(TOTAL, c)] for c in cols] if col_totals else None,
        "grand_total": shown[(TOTAL, TOTAL)] if col_totals else None,
        "status": status,
        "values": values,
    }


def column_states(grid: dict, cols: list) -> dict:
    """The status of a grid's column totals and grand total (to share with other tables)."""
    states = {c: grid["status"][(TOTAL, c)] for c in cols}
    states[TOTAL] = grid["status"][(TOTAL, TOTAL)]
    return states


def public_counts(counts: dict) -> dict:
    """The public counts endpoint: states add up to the total (protected as a group);
    categories do not (a referral can have several), each is suppressed on its own."""
    by_state = counts["by_state"]
    keys = sorted(by_state)
    values = dict(by_state, **{TOTAL: counts["total"]})
    status = protect(values, [(keys, TOTAL)])
    return {
        "network": counts["network"],
        "total": display(counts["total"], status[TOTAL]),
        "by_state": {key: display(by_state[key], status[key]) for key in keys},
        "by_category": {key: suppress(value) for key, value in counts["by_category"].items()},
    }
