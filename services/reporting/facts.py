"""What each referral and gap adds to the pre-aggregated `report_cell` table.

A referral's contributions are recomputed from its facts whenever one of them changes; the
difference to what it contributed before is applied to the cells (atomic upserts). So the cells
always equal the sum of every fact's contributions, whatever order the events came in, and a
rebuild from the event log gives the same cells."""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from services.reporting.models import EngagementFact, ReferralFact, ReportCell, StageFact

UNKNOWN = "unknown"
ALL = "all"
EVERY_PARTNER = "*"
AGE_BANDS = ((6, 11, "6-11"), (12, 15, "12-15"), (16, 18, "16-18"), (19, 25, "19-25"))
LATENESS = ((1, "1"), (5, "2-5"))      # days late: 1, 2-5, >5
METRICS = ("n", "on_time", "late", "days", "late_days")

# the views of report_cell and their dimensions (single: every item has one value, so the
# values of a dimension add up to the view's total; multi: an item can have several)
REFERRAL_DIMS = {"neighbourhood": "single", "age_band": "single", "school_level": "single",
                 "channel": "single", "source": "single", "repeat": "single", "category": "multi"}
GAP_DIMS = {"reason": "single", "neighbourhood": "single", "age_band": "single",
            "school_level": "single", "category": "multi"}


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back: they are UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def period(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m")


def age_band(age) -> str | None:
    if not isinstance(age, int) or isinstance(age, bool):
        return None
    for low, high, band in AGE_BANDS:
        if low <= age <= high:
            return band
    return "other"


def lateness_bucket(days_late: int) -> str:
    for limit, bucket in LATENESS:
        if days_late <= limit:
            return bucket
    return ">5"


def _days(start: datetime, end: datetime) -> float:
    return round((as_utc(end) - as_utc(start)).total_seconds() / 86400, 6)


def _timed(view: str, moment: datetime, dim: str, value: str, start: datetime,
           due: datetime | None) -> list:
    """One timed step: counted, on time or late against its deadline, how long, how late."""
    end = as_utc(moment)
    on_time = late = 0
    late_days = 0.0
    if due is not None:
        if end <= as_utc(due):
            on_time = 1
        else:
            late = 1
            late_days = float(math.ceil(_days(due, end)))
    return [view, period(end), dim, value, 1, on_time, late, _days(start, end), late_days]


def referral_contributions(fact: ReferralFact, stages: list[StageFact],
                           engagements: list[EngagementFact]) -> list[list]:
    rows: list[list] = []
    if fact.submitted_at is not None:
        month = period(fact.submitted_at)
        values = {"all": ALL, "neighbourhood": fact.neighbourhood or UNKNOWN,
                  "age_band": fact.age_band or UNKNOWN, "school_level": fact.school_level or UNKNOWN,
                  "channel": fact.channel or UNKNOWN,
                  "source": "direct" if fact.direct else "contact_point",
                  "repeat": "repeat" if (fact.repeat_number or 1) > 1 else "first"}
        rows += [["referrals", month, dim, value, 1, 0, 0, 0.0, 0.0] for dim, value in values.items()]
        rows += [["referrals", month, "category", c, 1, 0, 0, 0.0, 0.0]
                 for c in sorted(set(fact.categories or []))]
    for stage in stages:
        if stage.left_at is None:
            continue
        step = _timed("stages", stage.left_at, stage.state, EVERY_PARTNER, stage.entered_at, stage.due_at)
        rows.append(step)
        if stage.organisation_id:
            rows.append(step[:3] + [stage.organisation_id] + step[4:])
        if step[6]:
            rows.append(["lateness", step[1], stage.state, lateness_bucket(int(step[8])), 1, 0, 0, 0.0, 0.0])
    for engagement in engagements:
        organisation = engagement.organisation_id or UNKNOWN
        if engagement.answered_at is not None and engagement.proposed_at is not None:
            rows.append(_timed("partner_response", engagement.answered_at, organisation, EVERY_PARTNER,
                               engagement.proposed_at, _response_due(engagement, stages)))
        if engagement.status == "declined" and engagement.answered_at is not None:
            month = period(engagement.answered_at)
            rows.append(["declines", month, "reason", engagement.reason_code or UNKNOWN, 1, 0, 0, 0.0, 0.0])
            rows.append(["declines", month, "organisation", organisation, 1, 0, 0, 0.0, 0.0])
        if engagement.accepted_at is not None:
            rows.append(["outcomes", period(engagement.accepted_at), engagement.offer_id,
                         outcome(fact, engagement), 1, 0, 0, 0.0, 0.0])
    return rows


def _response_due(engagement: EngagementFact, stages: list[StageFact]) -> datetime | None:
    """The partner's answer deadline: the due time of the awaiting_partner stay it was asked in."""
    proposed = as_utc(engagement.proposed_at)
    due = None
    for stage in stages:
        if stage.state == "awaiting_partner" and as_utc(stage.entered_at) <= proposed:
            due = stage.due_at
    return due


def outcome(fact: ReferralFact, engagement: EngagementFact) -> str:
    """Outcome per offer: re-engaged with school (yes / partly / no) once the referral closed with
    that answer, stopped, ended (without a coded answer), or still in care."""
    if fact.re_engaged in ("yes", "partly", "no"):
        return f"re_engaged_{fact.re_engaged}"
    if engagement.end_outcome == "stopped":
        return "stopped"
    if engagement.status in ("ended", "declined") or fact.closed_at is not None:
        return "ended"
    return "in_care"


def gap_contributions(gap) -> list[list]:
    month = period(gap.at)
    values = {"all": ALL, "reason": gap.reason, "neighbourhood": gap.neighbourhood or UNKNOWN,
              "age_band": gap.age_band or UNKNOWN, "school_level": gap.school_level or UNKNOWN}
    rows = [["gaps", month, dim, value, 1, 0, 0, 0.0, 0.0] for dim, value in values.items()]
    for category in sorted(set(gap.categories or [])):
        rows.append(["gaps", month, "category", category, 1, 0, 0, 0.0, 0.0])
        rows.append(["gap_need_where", month, category, gap.neighbourhood or UNKNOWN, 1, 0, 0, 0.0, 0.0])
    return rows


def _summed(rows) -> dict[tuple, list]:
    total: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0.0, 0.0])
    for row in rows or []:
        key, values = tuple(row[:4]), row[4:]
        for i, value in enumerate(values):
            total[key][i] += value
    return total


def apply_difference(session: Session, network: str, old: list, new: list) -> None:
    """Add `new - old` to the cells of `network`, one atomic upsert per changed cell."""
    before, after = _summed(old), _summed(new)
    for key in sorted(set(before) | set(after)):
        delta = [round(a - b, 6) for a, b in zip(after.get(key, [0] * 5), before.get(key, [0] * 5))]
        if any(delta):
            upsert_cell(session, network, key, delta)


def upsert_cell(session: Session, network: str, key: tuple, delta: list) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = dict(zip(METRICS, delta))
    statement = insert(ReportCell).values(network=network, view=key[0], period=key[1], dim=key[2],
                                          value=key[3], **values)
    table = ReportCell.__table__
    statement = statement.on_conflict_do_update(
        index_elements=["network", "view", "period", "dim", "value"],
        set_={name: table.c[name] + statement.excluded[name] for name in METRICS})
    session.execute(statement)


def aggregate(contributions_per_network: dict[str, list]) -> dict[tuple, list]:
    """Cells computed from scratch (rebuild checks, benchmark loading): {(network, view, period,
    dim, value): [n, on_time, late, days, late_days]}."""
    cells = {}
    for network, rows in contributions_per_network.items():
        for key, values in _summed(rows).items():
            cells[(network,) + key] = values
    return cells
