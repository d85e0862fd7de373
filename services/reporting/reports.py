"""Pure report shaping: the public (pseudonymous) view suppresses small cells."""
from __future__ import annotations

SMALL_CELL_LIMIT = 5
SUPPRESSED = "<5"


def suppress(count: int):
    """A count of 1..4 could point at a person: show it as "<5"; 0 and 5+ stay as they are."""
    return SUPPRESSED if 0 < count < SMALL_CELL_LIMIT else count


def public_counts(counts: dict) -> dict:
    return {
        "network": counts["network"],
        "total": suppress(counts["total"]),
        "by_state": {key: suppress(value) for key, value in counts["by_state"].items()},
        "by_category": {key: suppress(value) for key, value in counts["by_category"].items()},
    }
