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


INFINITY = float("inf")


def _initial_bounds(values: dict, status: dict) -> dict:
    bounds = {}
    for key, state in status.items():
        if state == SHOWN:
            bounds[key] = (values[key], values[key])
        elif state == PRIMARY:
            bounds[key] = (1, SMALL_CELL_LIMIT - 1)
        else:
            bounds[key] = (SMALL_CELL_LIMIT, INFINITY)
    return bounds


def reader_bounds(values: dict, status: dict, groups: list[tuple[list, object]]) -> dict:
    """What a reader can work out about every figure: each group says sum(members) == total
    (whether the total is shown or not); bounds are narrowed over all groups together until
    nothing changes (interval propagation)."""
    bounds = _initial_bounds(values, status)
    changed = True
    rounds = 0
    while changed and rounds < 200:
        changed, rounds = False, rounds + 1
        for members, total in groups:
            low_sum = sum(bounds[k][0] for k in members)
            high_sum = sum(bounds[k][1] for k in members)
            t_low, t_high = bounds[total]
            new_total = (max(t_low, low_sum), min(t_high, high_sum))
            if new_total != bounds[total]:
                bounds[total], changed = new_total, True
            t_low, t_high = bounds[total]
            for key in members:
                low, high = bounds[key]
                others_high = high_sum - high
                others_low = low_sum - low
                new_low = max(low, t_low - others_high) if others_high != INFINITY else low
                new_high = min(high, t_high - others_low) if t_high != INFINITY else high
                if (new_low, new_high) != (low, high):
                    bounds[key], changed = (new_low, new_high), True
                    low_sum += new_low - low
                    high_sum += new_high - high
    return bounds


def exposed(values: dict, status: dict, groups: list[tuple[list, object]]) -> list:
    """The "<5" figures a reader could pin down to one value."""
    bounds = reader_bounds(values, status, groups)
    return [k for k, state in status.items() if state == PRIMARY and bounds[k][1] <= bounds[k][0]]


def protect(values: dict, groups: list[tuple[list, object]], forced: set = frozenset()) -> dict:
    """The status of every key (SHOWN / PRIMARY / COMPLEMENTARY) after rules 1 and 2.

    `values`: key -> count (cells and totals); `groups`: (member keys, total key) with
    sum(members) == total; `forced`: keys hidden as COMPLEMENTARY from the start (totals another
    table had to hide). While a reader could pin down a "<5" figure, the smallest shown non-zero
    member of one of its groups is hidden too, else a shown total of those groups."""
    status = {k: PRIMARY if 0 < v < SMALL_CELL_LIMIT else SHOWN for k, v in values.items()}
    for key in forced:
        if status[key] == SHOWN and values[key] > 0:
            status[key] = COMPLEMENTARY
    while True:
        found = exposed(values, status, groups)
        if not found:
            return status
        key = found[0]
        mine = [g for g in groups if key in g[0] or key == g[1]]
        members = [k for g in mine for k in g[0] if status[k] == SHOWN and values[k] > 0]
        totals = [g[1] for g in mine if status[g[1]] == SHOWN and values[g[1]] > 0]
        candidates = members or totals
        if not candidates:      # nothing left near it: hide every shown figure of the table
            candidates = [k for k in values if status[k] == SHOWN and values[k] > 0]
            if not candidates:
                return status
        status[min(candidates, key=lambda k: (values[k], str(k)))] = COMPLEMENTARY


def display(value: int, state: str):
    return value if state == SHOWN else SUPPRESSED if state == PRIMARY else PROTECTED


def protect_grid(cells: dict, rows: list, cols: list, *, col_totals: bool = True,
                 given_cols: dict | None = None, forced: set = frozenset()) -> dict:
    """A rows x cols table of counts with row totals (and, for single-valued dimensions, column
    totals and the grand total). `given_cols`: the status of column totals and grand total
    fixed by another table. Returns {"cells", "row_totals", "col_totals", "grand_total",
    "status"} with display values."""
    values = {(r, c): int(cells.get((r, c), 0)) for r in rows for c in cols}
    for r in rows:
        values[(r, TOTAL)] = sum(values[(r, c)] for c in cols)
    groups = [([(r, c) for c in cols], (r, TOTAL)) for r in rows]
    forced = set(forced)
    if col_totals:
        for c in cols + [TOTAL]:
            values[(TOTAL, c)] = sum(values[(r, c)] for r in rows)
        groups += [([(r, c) for r in rows], (TOTAL, c)) for c in cols + [TOTAL]]
        groups.append(([(TOTAL, c) for c in cols], (TOTAL, TOTAL)))
        forced |= {(TOTAL, c) for c, state in (given_cols or {}).items() if state != SHOWN}
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
