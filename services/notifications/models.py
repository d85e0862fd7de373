"""notifications' own table: every outgoing e-mail, stored before it is sent.

The address and the body are personal data: encrypted at rest."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from netsterk.crypto import EncryptedText
from netsterk.db import ProcessedMessageMixin, utcnow

STATUSES = ("pending", "sent", "failed")


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
    status: Mapped[str] = mapped_column(String(8), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # when the next delivery attempt may start; also a lease while an attempt runs
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Event message ids notifications already applied (idempotent consumer)."""
