"""reporting's own tables: one pseudonymous fact per referral (no personal data) and the
idempotency record of the events it consumed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from netsterk.db import ProcessedMessageMixin, utcnow


class Base(DeclarativeBase):
    """The metadata of reporting's own database."""


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


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Event message ids reporting already applied (idempotent consumers)."""
