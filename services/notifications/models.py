"""notifications' own table: every outgoing e-mail, stored before it is sent.

The address and the body are personal data: encrypted at rest."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from netsterk.crypto import EncryptedText
from netsterk.db import ProcessedMessageMixin, utcnow

STATUSES = ("pending", "sent", "failed")  # a bounced mail is "failed" with last_error "bounced: ..."


class Base(DeclarativeBase):
    """The metadata of the notifications service's own database."""


class OutgoingMail(Base):
    __tablename__ = "outgoing_mail"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    referral_ref: Mapped[str] = mapped_column(String(64), index=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    to: Mapped[str] = mapped_column(EncryptedText)
    template: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(EncryptedText)
    html: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    # keyed hash of the address (netsterk.crypto.pseudonym): bounces find the address's mails
    to_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(8), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # when the next delivery attempt may start; also a lease while an attempt runs
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class FailingAddress(Base):
    """An address a bounce said cannot receive mail (per network); shown to staff, never the address
    in clear outside the encrypted column."""
    __tablename__ = "failing_address"
    __table_args__ = (UniqueConstraint("network", "to_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    to_key: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(EncryptedText)
    status_code: Mapped[str] = mapped_column(String(16), default="")
    reason: Mapped[str] = mapped_column(String(300), default="")
    bounces: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_referral_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)


class UsedLink(Base):
    """A signed single-action link (netsterk/links.py) that was used: it works once."""
    __tablename__ = "used_link"

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    referral_id: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TemplateOverride(Base):
    """A network's own wording of one template in one language (network admin, with preview)."""
    __tablename__ = "template_override"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    template: Mapped[str] = mapped_column(String(64), primary_key=True)
    lang: Mapped[str] = mapped_column(String(2), primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TaskView(Base):
    """notifications' own read model of each referral's task (for the coordinator digest), fed by
    referral_state_changed / referral_task_updated. No personal data."""
    __tablename__ = "task_view"

    referral_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ref: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    overdue: Mapped[dict] = mapped_column(JSON, default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EngagementView(Base):
    """Open and ended engagements per organisation (for the partners' weekly overview), fed by
    engagement_changed. No personal data."""
    __tablename__ = "engagement_view"

    referral_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    offer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ref: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64), index=True)
    organisation_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Webhook(Base):
    """A network's own system that wants the referral events, signed with its secret."""
    __tablename__ = "webhook"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(EncryptedText)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookDelivery(Base):
    """One event for one network's webhook: stored first, posted, retried with backoff."""
    __tablename__ = "webhook_delivery"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)   # network:message_id
    network: Mapped[str] = mapped_column(String(64), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Event message ids notifications already applied (idempotent consumer)."""


class RecipientLanguage(Base):
    """The language a network's staff or partner address wants its e-mails in (the coordinators'
    mailbox, a partner's contact address), set by the network admin. Found by the address key;
    the address itself only encrypted."""
    __tablename__ = "recipient_language"

    network: Mapped[str] = mapped_column(String(64), primary_key=True)
    to_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(EncryptedText)
    lang: Mapped[str] = mapped_column(String(2))
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
