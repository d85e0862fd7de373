"""matching's tables for making the offer known (issue 13): information sessions and trainings that
partners announce for the network's professionals, and the registrations for them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from netsterk.crypto import EncryptedText
from netsterk.db import utcnow
from services.matching.models import Base


class InfoSession(Base):
    __tablename__ = "info_session"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network: Mapped[str] = mapped_column(String(64), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))               # information | training
    title: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(String(64))               # a concern category of the network
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    location: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SessionRegistration(Base):
    """A professional registered for a session: name and e-mail encrypted, one per e-mail hash."""
    __tablename__ = "info_session_registration"
    __table_args__ = (UniqueConstraint("session_id", "email_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("info_session.id"), index=True)
    name: Mapped[str] = mapped_column(EncryptedText)
    organisation: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(EncryptedText)
    email_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
