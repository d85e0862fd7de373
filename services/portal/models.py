"""The portal's own tables: staff users, the task read model, processed messages."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from netsterk import ratelimit
from netsterk.crypto import EncryptedJSON, EncryptedText
from netsterk.db import ProcessedMessageMixin, utcnow

ROLES = ("coordinator", "partner_staff", "network_admin", "analyst", "ops")


class Base(DeclarativeBase):
    """Metadata of the portal's own database."""


class User(Base):
    __tablename__ = "portal_user"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    network: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lang: Mapped[str] = mapped_column(String(2), default="nl")
    # 0003: the second factor (TOTP secret encrypted at rest; confirmed once a code was entered),
    # the last time step used (a code works once), the session epoch (bumped: old cookies end),
    # and whether the account may sign in at all
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Task(Base):
    """One referral as the coordinator inbox sees it: fed by the workflow's events. Reference,
    network, state, categories, urgency and deadlines in clear; the attention reasons encrypted."""
    __tablename__ = "task"

    referral_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ref: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    categories: Mapped[list] = mapped_column(JSON, default=list)
    # fed by referral_task_updated too (0002): every running timer, the passed ones still waiting
    # for a human, what needs the coordinator, and the event order (revision)
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    deadlines: Mapped[dict] = mapped_column(JSON, default=dict)
    overdue: Mapped[dict] = mapped_column(JSON, default=dict)
    # free-text reasons (a task's text, a partner's name...): encrypted at rest (0004)
    attention: Mapped[list] = mapped_column(EncryptedJSON, default=list)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    anonymised: Mapped[bool] = mapped_column(Boolean, default=False)


class ProcessedMessage(ProcessedMessageMixin, Base):
    """Event message ids the portal already applied (idempotent consumer)."""


# failed sign-ins per user and address (login throttling), shared by every portal instance
RATE_COUNTER = ratelimit.counter_table(Base.metadata)


class PartnerEngagement(Base):
    """A partner's engagement as its staff list sees it, fed by `engagement_changed` (0003).
    References only: no personal data."""
    __tablename__ = "partner_engagement"

    referral_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    offer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    ref: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A personal API token (0005): made by a signed-in user (after the second factor), shown once,
    stored as a SHA-256 hash only. It acts as its user, with the network and role the user had
    when it was made (a later change of either ends it); revoked or expired tokens are refused."""
    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
