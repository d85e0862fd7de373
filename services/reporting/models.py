"""reporting's own tables. Nothing here names or contacts a person: network, area, age band,
school level, categories, channel, dates, partners and offers, coded reasons and outcomes, and a
pseudonymous person key (wiped when the referral is anonymised).

- `event_log`: every consumed event (reduced to the fields reporting uses), append-only, in
  arrival order: `netsterk reports rebuild` replays it into fresh fact tables.
- facts: `referral_fact`, `transition_fact`, `stage_fact`, `engagement_fact`, `gap_fact`.
- `report_cell`: the pre-aggregated counts the dashboard reads (kept equal to the sum of every
  referral's and gap's contributions, see services/reporting/facts.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from netsterk.db import ProcessedMessageMixin, utcnow


class Base(DeclarativeBase):
    """The metadata of reporting's own database."""


class EventLog(Base):
    __tablename__ = "event_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64))
    referral_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    body: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("event_type", "message_id", name="uq_event_log_message"),)


class ReferralFact(Base):
    __tablename__ = "referral_fact"

    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(32))
    # when the state above was reached (payload "at" of the state change applied last)
    state_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # from referral_submitted (null until it arrived)
    neighbourhood: Mapped[str | None] = mapped_column(String(100), nullable=True)
    age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    school_level: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    urgency: Mapped[str | None] = mapped_column(String(16), nullable=True)
    direct: Mapped[bool] = mapped_column(Boolean, default=False)
    person_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    repeat_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # closure
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    re_engaged: Mapped[str | None] = mapped_column(String(16), nullable=True)
    anonymised: Mapped[bool] = mapped_column(Boolean, default=False)
    # what this referral adds to report_cell now: [[view, period, dim, value, n, on_time, late,
    # days, late_days], ...]; replaced (old subtracted, new added) whenever a fact changes
    contributions: Mapped[list] = mapped_column(JSON, default=list)


class TransitionFact(Base):
    """Every state change of a referral (payload of referral_state_changed, reduced)."""
    __tablename__ = "transition_fact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(String(36), index=True)
    network: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_state: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StageFact(Base):
    """One stay of a referral in a state: derived from its transitions, recomputed on each."""
    __tablename__ = "stage_fact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(String(36), index=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(32))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    organisation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class EngagementFact(Base):
    __tablename__ = "engagement_fact"

    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    offer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    organisation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    status_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    proposed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reason_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    end_outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    direct: Mapped[bool] = mapped_column(Boolean, default=False)


class GapFact(Base):
    __tablename__ = "gap_fact"

    gap_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    referral_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    neighbourhood: Mapped[str | None] = mapped_column(String(100), nullable=True)
    age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    school_level: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    contributions: Mapped[list] = mapped_column(JSON, default=list)


class ReportCell(Base):
    """Pre-aggregated counts: one row per (network, view, month, dimension, value)."""
    __tablename__ = "report_cell"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(64))
    view: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(7))          # YYYY-MM
    dim: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(100))
    n: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    days: Mapped[float] = mapped_column(Float, default=0.0)
    late_days: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (
        UniqueConstraint("network", "view", "period", "dim", "value", name="uq_report_cell"),
        Index("ix_report_cell_lookup", "network", "view", "period"),
    )


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Event message ids reporting already applied (idempotent consumers)."""
