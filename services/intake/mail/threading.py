"""Which referral a mail belongs to: the reference NS-YYYY-NNNNNN as a whole token (not inside a
longer word), then the Message-IDs it answers (In-Reply-To, References)."""
from __future__ import annotations

import re

# a reference only counts as a whole token: no letter, digit, '_' or '-' glued to either side
REFERENCE = re.compile(r"(?<![\w-])NS-(\d{4})-(\d{6})(?![\w-])")
MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def find_reference(text: str | None) -> str | None:
    match = REFERENCE.search(text or "")
    return match.group(0) if match else None


def message_ids(value: str | None) -> list[str]:
    """The <id> tokens of a Message-ID, In-Reply-To or References header, in order, unique."""
    found: list[str] = []
    for token in MESSAGE_ID.findall(value or ""):
        token = f"<{token}>"
        if token not in found:
            found.append(token)
    return found


def normalise_message_id(value: str | None) -> str | None:
    """`<id@host>` from a header that may lack the brackets, be folded, or be empty."""
    value = " ".join((value or "").split())
    if not value:
        return None
    found = message_ids(value)
    if found:
        return found[0]
    token = value.split()[0].strip("<>")
    return f"<{token}>" if token else None


def domain_of(message_id: str | None) -> str:
    return (message_id or "").strip("<>").rpartition("@")[2].lower()


def answers_own_mail(thread_ids: list[str], own_domains: set[str]) -> list[str]:
    """The ids in a mail's thread that were sent by us (Message-ID at one of our domains)."""
    return [mid for mid in thread_ids if domain_of(mid) in own_domains]


def parties_match(sender: str | None, parties: list[str | None]) -> bool:
    """Is the sender one of the referral's parties (case-insensitive address comparison)?"""
    sender = (sender or "").strip().lower()
    return bool(sender) and sender in {(p or "").strip().lower() for p in parties if p}
