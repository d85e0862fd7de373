"""The e-mail gateway's tables in intake's database (same metadata as services/intake/models.py).

Raw mail, sender, subject, text and attachments are personal data: encrypted at rest."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from netsterk.crypto import EncryptedText
from netsterk.db import utcnow
from services.intake.models import Base

# received → processed | review | quarantined ; a delivery of a known message → not stored
STATUSES = ("received", "processed", "review", "quarantined")


class MailMessage(Base):
    __tablename__ = "mail_message"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)        # the gateway's store id
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    envelope_from: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    rcpt_tos: Mapped[list] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    raw: Mapped[str] = mapped_column(EncryptedText)                     # base64 of the bytes
    message_id_header: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    from_addr: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    subject: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    text: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    problems: Mapped[list] = mapped_column(JSON, default=list)
    network: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    referral_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    referral_ref: Mapped[str | None] = mapped_column(String(32), nullable=True)
    answers: Mapped[str | None] = mapped_column(String(255), nullable=True)   # Message-ID answered
    review_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MailAttachment(Base):
    __tablename__ = "mail_attachment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    mail_id: Mapped[str] = mapped_column(String(40), ForeignKey("mail_message.id"), index=True)
    name: Mapped[str] = mapped_column(EncryptedText)
    content_type: Mapped[str] = mapped_column(String(127))      # sniffed from the bytes
    declared_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored: Mapped[bool] = mapped_column(Boolean)                # False: over the size limit
    data: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)   # base64, encrypted
