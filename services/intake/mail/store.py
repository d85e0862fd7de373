"""The gateway's durable store of raw messages, written before the SMTP answer 250.

Layout under the store directory:
    pending/<id>.json   envelope sender, recipients, sha256, size, received_at
    pending/<id>.eml    the raw bytes exactly as received (its rename is the commit point)
Each file is written to a temp file, fsynced, renamed, and the directory fsynced. A message stays
in pending/ until intake confirmed it holds its own (encrypted) copy; then both files go. Both
files are encrypted with the field keys (netsterk/crypto.py): raw mail and the sender's address
are personal data, even for the seconds they wait here (issue 10). Files written before that
(clear) are still read."""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.fernet import InvalidToken

from netsterk import crypto


def _open(data: bytes) -> bytes:
    """Decrypt a stored file; a file from before encryption (clear) is returned as it is."""
    try:
        return crypto.decrypt_bytes(data)
    except (InvalidToken, ValueError, TypeError):
        return data


@dataclass(frozen=True)
class StoredMail:
    id: str
    sha256: str
    size: int
    mail_from: str
    rcpt_tos: list[str]
    received_at: str


class RawStore:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.pending_dir = self.directory / "pending"
        self._lock = threading.Lock()

    def ensure(self) -> None:
        self.pending_dir.mkdir(parents=True, exist_ok=True)

    def _write(self, path: Path, data: bytes) -> None:
        temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def _sync_dir(self) -> None:
        fd = os.open(self.pending_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def save(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> StoredMail:
        """Store durably; raises OSError when it cannot (the gateway then answers 451)."""
        self.ensure()
        stored = StoredMail(
            id=f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}",
            sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), mail_from=mail_from or "",
            rcpt_tos=list(rcpt_tos), received_at=datetime.now(timezone.utc).isoformat())
        with self._lock:
            self._write(self.pending_dir / f"{stored.id}.json",
                        crypto.encrypt_bytes(json.dumps(stored.__dict__, ensure_ascii=True).encode("ascii")))
            self._write(self.pending_dir / f"{stored.id}.eml", crypto.encrypt_bytes(raw))
            self._sync_dir()
        return stored

    def pending(self) -> list[str]:
        """Ids of stored messages not yet handed to intake, oldest first."""
        if not self.pending_dir.is_dir():
            return []
        return sorted(p.stem for p in self.pending_dir.glob("*.eml") if not p.name.startswith("."))

    def load(self, mail_id: str) -> tuple[StoredMail, bytes]:
        meta = json.loads(_open((self.pending_dir / f"{mail_id}.json").read_bytes()).decode("ascii"))
        raw = _open((self.pending_dir / f"{mail_id}.eml").read_bytes())
        return StoredMail(**meta), raw

    def raw_path(self, mail_id: str) -> Path:
        return self.pending_dir / f"{mail_id}.eml"

    def done(self, mail_id: str) -> None:
        """Intake holds the message: remove the gateway's copy (raw mail is personal data)."""
        with self._lock:
            (self.pending_dir / f"{mail_id}.eml").unlink(missing_ok=True)
            (self.pending_dir / f"{mail_id}.json").unlink(missing_ok=True)
            self._sync_dir()

    def clean_orphans(self) -> int:
        """Temp files and metadata left by a crash before the .eml rename (never answered 250)."""
        removed = 0
        if not self.pending_dir.is_dir():
            return 0
        for path in self.pending_dir.iterdir():
            orphan_meta = path.suffix == ".json" and not path.with_suffix(".eml").exists()
            if path.name.startswith(".") or orphan_meta:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
