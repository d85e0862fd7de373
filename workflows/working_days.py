"""Belgian working days: Monday to Friday, minus Belgian public holidays, a network's school
holidays (optional: the `holidays` package's school calendar of a community, e.g. "Flemish") and
extra closed dates.

Pure functions, safe to call from workflow code (no clock, no I/O). Dates are counted in the
Europe/Brussels calendar; the time of day is kept.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from temporalio import workflow

BRUSSELS = ZoneInfo("Europe/Brussels")


@lru_cache(maxsize=64)
def _belgian_holidays(year: int) -> frozenset[date]:
    """The Belgian public holidays of one year. The holidays package loads modules and reads
    the locale for the names on first use, which the workflow sandbox forbids; the dates
    themselves are pure calendar arithmetic, so the sandbox is lifted for the computation."""
    if workflow.in_workflow():
        with workflow.unsafe.sandbox_unrestricted():
            return frozenset(holidays.Belgium(years=year))
    return frozenset(holidays.Belgium(years=year))


SCHOOL_CALENDARS = ("Flemish", "French", "German")


@lru_cache(maxsize=64)
def _school_holidays(year: int, community: str) -> frozenset[date]:
    """The school holidays of one community of Belgium in one year (weekends included)."""
    if community not in SCHOOL_CALENDARS:
        raise ValueError(f"unknown school calendar {community!r}; known: {', '.join(SCHOOL_CALENDARS)}")
    if workflow.in_workflow():
        with workflow.unsafe.sandbox_unrestricted():
            return frozenset(holidays.Belgium(years=year, subdiv=community, categories=("school",)))
    return frozenset(holidays.Belgium(years=year, subdiv=community, categories=("school",)))


holidays.Belgium(years=2000)   # load the package's lazy modules at import, not inside a workflow


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def is_working_day(day: date, extra_closed_dates=(), school_holidays: str | None = None) -> bool:
    if day.weekday() >= 5:
        return False
    if day in _belgian_holidays(day.year):
        return False
    if school_holidays and day in _school_holidays(day.year, school_holidays):
        return False
    return day not in {_as_date(d) for d in extra_closed_dates}


def add_working_days(start: datetime, n: int, extra_closed_dates=(),
                     school_holidays: str | None = None) -> datetime:
    """`start` moved forward by `n` working days (same local time of day).

    2026-12-24 (Thu) + 1 = 2026-12-28 (Mon): 25 Dec is Christmas, then a weekend.
    A start on a closed day counts from that day: Saturday + 1 = Monday.
    `school_holidays` names a community's school calendar whose holidays are closed days too.
    """
    if n < 0:
        raise ValueError("n must be zero or more working days")
    closed = frozenset(_as_date(d) for d in extra_closed_dates)
    aware = start.tzinfo is not None
    local = start.astimezone(BRUSSELS) if aware else start
    day = local.date()
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, closed, school_holidays):
            remaining -= 1
    moved = datetime.combine(day, local.timetz() if aware else local.time())
    if aware:
        # re-attach the Brussels zone so a DST change in between keeps the local hour
        moved = moved.replace(tzinfo=BRUSSELS).astimezone(start.tzinfo)
    return moved


def add_months(start: datetime, months: int) -> datetime:
    """`start` moved forward by calendar months; the day is clamped to the month's end
    (31 Jan + 1 month = 28/29 Feb). Used for retention periods."""
    if months < 0:
        raise ValueError("months must be zero or more")
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return start.replace(year=year, month=month, day=min(start.day, last_day))
