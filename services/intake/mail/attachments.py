"""Attachments: the type comes from the content (magic bytes), never from the sender's label;
names are made safe; nothing is ever executed or shown inline (served only as a download)."""
from __future__ import annotations

import re
import unicodedata

# (prefix, offset, content type); checked in order
MAGIC = (
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"BM", 0, "image/bmp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"RIFF", 0, "application/x-riff"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"PK\x05\x06", 0, "application/zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),
    (b"{\\rtf", 0, "application/rtf"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", 0, "application/vnd.rar"),
    (b"MZ", 0, "application/x-msdownload"),
    (b"\x7fELF", 0, "application/x-executable"),
    (b"#!", 0, "application/x-sh"),
    (b"-----BEGIN PGP", 0, "application/pgp-encrypted"),
    (b"ftyp", 4, "video/mp4"),
    (b"ID3", 0, "audio/mpeg"),
)
# zip containers we can tell apart by the first member's name
ZIP_KINDS = (
    (b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    (b"mimetypeapplication/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.text"),
)
EXECUTABLE = frozenset({"application/x-msdownload", "application/x-executable", "application/x-sh"})
MAX_NAME = 150


def sniff(data: bytes) -> str:
    """The content type told by the bytes themselves."""
    head = data[:512]
    for prefix, offset, content_type in MAGIC:
        if head[offset:offset + len(prefix)] == prefix:
            if content_type == "application/zip":
                window = data[:4096]
                for marker, kind in ZIP_KINDS:
                    if marker in window:
                        return kind
            if content_type == "application/x-riff" and head[8:12] == b"WEBP":
                return "image/webp"
            return content_type
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "text/html"
    if stripped.startswith(b"<svg") or (stripped.startswith(b"<?xml") and b"<svg" in data[:2048].lower()):
        return "image/svg+xml"
    if stripped.startswith(b"<?xml"):
        return "application/xml"
    if not data:
        return "application/x-empty"
    if _looks_like_text(data[:8192]):
        return "text/plain"
    return "application/octet-stream"


def _looks_like_text(sample: bytes) -> bool:
    if b"\x00" in sample:
        return False
    for encoding in ("utf-8", "cp1252"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\r\n\t\f")
        return controls <= len(text) // 100
    return False


def safe_name(name: str | None, fallback: str = "attachment") -> str:
    """A file name without folders, control characters or leading dots, at most 150 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip().lstrip(".")
    if not name:
        return fallback
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:MAX_NAME]
    return name
