"""Intake's tables for working together around one young person (issue 13): the shared plan of a
family, the young person's and parents' own voice with their consent, case conferences, and the
append-only history of every change. Personal text is encrypted (EncryptedText)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from netsterk.crypto import EncryptedText
from netsterk.db import utcnow
from services.intake.models import Base


class Plan(Base):
    """One family, one plan: keyed by the network and the household's pseudonymous key."""
    __tablename__ = "family_plan"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    household_key: Mapped[str] = mapped_column(String(64), index=True)
    contact_person: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    contact_organisation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    contact_organisation: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanReferral(Base):
    """The referrals (of one young person or household) that share a plan."""
    __tablename__ = "family_plan_referral"

    plan_id: Mapped[str] = mapped_column(ForeignKey("family_plan.id"), primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True, unique=True)


class PlanItem(Base):
    """A goal (in the family's words), an action (who does what by when) or a progress note.
    `audience`: partners (every engaged partner) or school (also the school); `own`: only the
    organisation that wrote it and the coordinator."""
    __tablename__ = "family_plan_item"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("family_plan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))             # goal | action | note
    text: Mapped[str] = mapped_column(EncryptedText)
    audience: Mapped[str] = mapped_column(String(8), default="partners")
    owner_organisation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    owner_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="open")   # open | done
    created_by: Mapped[str] = mapped_column(String(200))
    created_organisation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Voice(Base):
    """What the young person and the parents want, what worries them, what already helps, and
    their consent: with whom it (and the plan) may be shared. Withdrawal is kept as a date."""
    __tablename__ = "referral_voice"

    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    from_whom: Mapped[str] = mapped_column(String(16))       # young_person | parents | both
    wishes: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    worries: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    what_helps: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    share_partners: Mapped[bool] = mapped_column(Boolean, default=False)
    share_school: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_given_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Conference(Base):
    """A case conference on a referral: proposed times, invitees, attendance, decisions and the
    actions that became workflow tasks."""
    __tablename__ = "case_conference"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    referral_id: Mapped[str] = mapped_column(String(36), index=True)
    reason: Mapped[str] = mapped_column(String(16))          # no_offer | declined | request
    status: Mapped[str] = mapped_column(String(12), default="proposed")  # proposed | invited | held
    location: Mapped[str] = mapped_column(String(200))
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    proposed_times: Mapped[list] = mapped_column(JSON, default=list)     # ISO datetimes (UTC)
    invitees: Mapped[str] = mapped_column(EncryptedText)     # JSON [{email, role, name}]
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE of the invitation
    confirmed_time: Mapped[str | None] = mapped_column(String(40), nullable=True)  # one of proposed_times
    invited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    held_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    attendance: Mapped[list] = mapped_column(JSON, default=list)          # invitee indexes present
    decisions: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    actions: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)  # JSON [{text, owner, due}]
    tasks_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WraparoundHistory(Base):
    """Append-only audit of every change to plans, voices and conferences: who, what, when, why.
    No personal text here: the item, the action and the names of the fields that changed."""
    __tablename__ = "wraparound_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(16))         # plan | voice | conference
    subject_id: Mapped[str] = mapped_column(String(36), index=True)
    item_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    referral_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fields: Mapped[list] = mapped_column(JSON, default=list)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@event.listens_for(WraparoundHistory, "before_update")
@event.listens_for(WraparoundHistory, "before_delete")
def _append_only(_mapper, _connection, _target):
    raise ValueError("wraparound_history is append-only")
