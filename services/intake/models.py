"""Intake's own tables. Personal data of the young person and reporter is encrypted at rest."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from netsterk import ratelimit
from netsterk.audit import audit_models
from netsterk.crypto import EncryptedText
from netsterk.db import OutboxMixin, ProcessedMessageMixin, utcnow


class Base(DeclarativeBase):
    """intake's own metadata (referrals, drafts, links, mail, outbox, processed messages)."""


class Network(Base):
    __tablename__ = "network"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    categories: Mapped[list] = mapped_column(JSON, default=list)
    # 0005: the network admin's own working days per urgency and step (netsterk.deadlines)
    deadlines: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class RefCounter(Base):
    """Last reference number handed out per year: NS-<year>-<number>."""
    __tablename__ = "ref_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Referral(Base):
    __tablename__ = "referral"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(32), default="submitted")
    state_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lang: Mapped[str] = mapped_column(String(2), default="nl")
    # reporter (professional contact data, encrypted)
    reporter_name: Mapped[str] = mapped_column(EncryptedText)
    reporter_organisation: Mapped[str] = mapped_column(String(200))
    reporter_role: Mapped[str] = mapped_column(String(100))
    reporter_email: Mapped[str] = mapped_column(EncryptedText)
    reporter_phone: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    reporter_is_school: Mapped[bool] = mapped_column(Boolean)
    school_email: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    # young person (minimal, encrypted; postcode/age/level/languages stay clear for matching)
    first_name: Mapped[str] = mapped_column(EncryptedText)
    last_name: Mapped[str] = mapped_column(EncryptedText)
    birth_date: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    age: Mapped[int] = mapped_column(Integer)
    school: Mapped[str | None] = mapped_column(String(200), nullable=True)
    grade: Mapped[str | None] = mapped_column(String(50), nullable=True)
    school_level: Mapped[str] = mapped_column(String(16))
    postcode: Mapped[str] = mapped_column(String(4))
    neighbourhood: Mapped[str | None] = mapped_column(String(100), nullable=True)
    languages: Mapped[list] = mapped_column(JSON, default=list)
    person_key: Mapped[str] = mapped_column(String(64), index=True)
    household_key: Mapped[str] = mapped_column(String(64), index=True)
    # the concern
    categories: Mapped[list] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(EncryptedText)
    school_efforts: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    school_efforts_when: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    school_efforts_result: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    consent: Mapped[str] = mapped_column(String(16))
    consent_reason: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    expectations: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    entered_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # a partner's report of a direct engagement: organisation_id, organisation_name, contact_email,
    # offer_id, offer_name (directory data, no personal data of the young person)
    direct_engagement: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    correlation_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReferralLink(Base):
    """A possible duplicate: an open referral of the same young person or household with
    overlapping concerns. The coordinator decides (merge or keep apart)."""
    __tablename__ = "referral_link"

    referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    linked_referral_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    match: Mapped[str] = mapped_column(String(16))          # person | household
    overlapping: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Draft(Base):
    """A form saved as draft: the values encrypted, found again by the hash of a secret token."""
    __tablename__ = "referral_draft"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    network: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Outbox(OutboxMixin, Base):
    """Events waiting for the relay (written with the referral, in one transaction)."""


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Message ids intake's consumers already handled."""


# the audit log of personal data (netsterk/audit.py): every read and change of a referral's or a
# mail's personal data, hash-chained, append-only
AUDIT = audit_models(Base)
AuditEntry, AuditHead, AuditAnchor = AUDIT.entry, AUDIT.head, AUDIT.anchor
# the public form's and API's rate limit per client address (netsterk/web_security.py), shared by
# every intake instance
RATE_COUNTER = ratelimit.counter_table(Base.metadata)
