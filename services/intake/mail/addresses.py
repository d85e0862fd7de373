"""The contact point's own addresses and domains, from settings."""
from __future__ import annotations

from netsterk.settings import Settings


def _split(value: str) -> list[str]:
    return [item.strip().lower() for item in (value or "").split(",") if item.strip()]


def contact_addresses(settings: Settings) -> set[str]:
    return set(_split(settings.intake_mail_addresses))


def contact_domains(settings: Settings) -> set[str]:
    return set(_split(settings.intake_mail_domains))


def own_domains(settings: Settings) -> set[str]:
    """Domains our own Message-IDs use (notifications: the domain of mail_from) and ours."""
    domains = {settings.mail_from.rpartition("@")[2].lower()}
    domains |= {a.rpartition("@")[2] for a in contact_addresses(settings)}
    return domains | contact_domains(settings)


def is_contact_point(address: str, settings: Settings) -> bool:
    """May the gateway accept mail for this recipient?"""
    address = (address or "").strip().strip("<>").lower()
    if "@" not in address:
        return False
    return address in contact_addresses(settings) or address.rpartition("@")[2] in contact_domains(settings)
