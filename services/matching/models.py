"""matching's own tables: the offer directory of each network (organisations, offers, deployable
staff), the engagement facts that make up the capacity picture, ranking rules per network, the
partners' pending changes, the gaps, and the outbox / processed-message records."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from netsterk.crypto import EncryptedText
from netsterk.db import OutboxMixin, ProcessedMessageMixin, utcnow


class Base(DeclarativeBase):
    """The metadata of matching's own database."""


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    website: Mapped[str | None] = mapped_column(String(254), nullable=True)
    how_to_reach: Mapped[str] = mapped_column(Text, default="")
    last_confirmed: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    offers: Mapped[list["Offer"]] = relationship(back_populates="organisation")


class Offer(Base):
    __tablename__ = "offer"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    categories: Mapped[list] = mapped_column(JSON, default=list)
    postcodes: Mapped[list] = mapped_column(JSON, default=list)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    min_age: Mapped[int] = mapped_column(Integer)
    max_age: Mapped[int] = mapped_column(Integer)
    school_levels: Mapped[list] = mapped_column(JSON, default=list)
    # new engagements it can take per capacity period
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    neighbourhoods: Mapped[list] = mapped_column(JSON, default=list)
    opening_hours: Mapped[list] = mapped_column(JSON, default=list)
    how_to_reach: Mapped[str] = mapped_column(Text, default="")
    capacity_period: Mapped[str] = mapped_column(String(8), default="month")
    waiting_list: Mapped[int] = mapped_column(Integer, default=0)
    last_confirmed: Mapped[date | None] = mapped_column(Date, nullable=True)
    # the capacity counter: places taken in the period that starts on `period_start`
    period_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    # a decline "no_capacity" closes the offer until this day (the end of its period)
    full_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="offers")


class Staff(Base):
    """A deployable person of an organisation; personal data encrypted at rest."""
    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    email: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    offer_ids: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Engagement(Base):
    """What matching knows of one offer engaged on one referral (from engagement_changed and
    reserve_place): the capacity picture and the "already engaged" exclusion."""
    __tablename__ = "engagement"
    __table_args__ = (UniqueConstraint("referral_id", "offer_id", name="uq_engagement_referral_offer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(String(64), index=True)
    offer_id: Mapped[str] = mapped_column(String(64), index=True)
    organisation_id: Mapped[str] = mapped_column(String(64), index=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    counted: Mapped[bool] = mapped_column(Boolean, default=False)   # holds a place of the period
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReferralSubject(Base):
    """The pseudonymous facts of a ranked referral (no names): for exclusion, gaps and the
    preview of rule changes on recent referrals."""
    __tablename__ = "referral_subject"

    referral_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    person_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    household_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    request: Mapped[dict] = mapped_column(JSON, default=dict)
    ranked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NetworkRules(Base):
    """Ranking weights and hard rules of one network, changed by its network admin."""
    __tablename__ = "network_rules"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    rules: Mapped[dict] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PendingChange(Base):
    """A partner's edit of its own directory entry, waiting for the network admin. The proposed
    entry holds staff personal data, so it is stored encrypted (JSON text)."""
    __tablename__ = "pending_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    organisation_id: Mapped[str] = mapped_column(String(64), index=True)
    entry: Mapped[str] = mapped_column(EncryptedText)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    submitted_by: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class Gap(Base):
    """A need that no active offer of the network could meet (DESIGN §5)."""
    __tablename__ = "gap"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    postcode: Mapped[str | None] = mapped_column(String(4), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    referral_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    neighbourhood: Mapped[str | None] = mapped_column(String(100), nullable=True)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    school_level: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str] = mapped_column(String(32), default="no_offer")
    detail: Mapped[str] = mapped_column(Text, default="")


class DirectoryVersion(Base):
    """Bumped in the same transaction as any change that alters a network's ranking input
    (directory, capacity, engagements, rules): a process keeps its prepared index until then."""
    __tablename__ = "directory_version"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Outbox(OutboxMixin, Base):
    """Events matching publishes (gap_recorded), written with the state they announce."""


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Event message ids matching already applied (idempotent consumers)."""
