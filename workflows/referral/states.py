"""The referral lifecycle as data: states, the allowed moves, FHIR Task status, and the
coordinator/partner actions each state accepts (DESIGN §4).

`None` as the from-state is the start of a workflow.
"""
from __future__ import annotations

from netsterk.contracts import FINAL_STATES, STATES

START = None

# the one transition table: from-state -> the states it may move to
TRANSITIONS: dict[str | None, frozenset[str]] = {
    START: frozenset({"draft", "awaiting_school_efforts", "triage", "in_progress"}),
    "draft": frozenset({"awaiting_school_efforts", "triage", "withdrawn"}),
    "awaiting_school_efforts": frozenset({"triage", "withdrawn"}),
    "triage": frozenset({"matching", "rejected", "redirected", "merged", "withdrawn"}),
    "matching": frozenset({"awaiting_partner", "withdrawn"}),
    "awaiting_partner": frozenset({"in_progress", "matching", "withdrawn"}),
    "in_progress": frozenset({"closed", "withdrawn"}),
    "closed": frozenset(),
    "redirected": frozenset(),
    "rejected": frozenset(),
    "withdrawn": frozenset(),
    "merged": frozenset(),
}

# FHIR R4 Task.status per state, for interoperability
FHIR_TASK_STATUS: dict[str, str] = {
    "draft": "draft",
    "awaiting_school_efforts": "on-hold",
    "triage": "received",
    "matching": "accepted",
    "awaiting_partner": "requested",
    "in_progress": "in-progress",
    "closed": "completed",
    "redirected": "cancelled",
    "rejected": "rejected",
    "withdrawn": "cancelled",
    "merged": "cancelled",
}

# the Temporal updates (actions) a state accepts
ACTIONS: dict[str, tuple[str, ...]] = {
    "draft": (),
    "awaiting_school_efforts": ("confirm_school_efforts",),
    "triage": ("triage",),
    "matching": ("choose_partner",),
    "awaiting_partner": ("partner_respond",),
    "in_progress": ("submit_feedback", "close"),
    "closed": (),
    "redirected": (),
    "rejected": (),
    "withdrawn": (),
    "merged": (),
}
ALL_ACTIONS = ("confirm_school_efforts", "triage", "choose_partner", "partner_respond",
               "submit_feedback", "close")

TRIAGE_DECISIONS = {"accept": "matching", "reject": "rejected", "redirect": "redirected"}

assert set(TRANSITIONS) - {START} == set(STATES) == set(FHIR_TASK_STATUS) == set(ACTIONS)
assert all(not TRANSITIONS[s] for s in FINAL_STATES)


class InvalidTransition(ValueError):
    """A move the transition table does not allow."""


def check_transition(from_state: str | None, to_state: str) -> None:
    if to_state not in STATES:
        raise InvalidTransition(f"unknown state {to_state!r}")
    if from_state is not START and from_state not in TRANSITIONS:
        raise InvalidTransition(f"unknown state {from_state!r}")
    if to_state not in TRANSITIONS[from_state]:
        origin = "the start" if from_state is START else repr(from_state)
        raise InvalidTransition(f"a referral cannot move from {origin} to {to_state!r}")


def allowed_actions(state: str | None) -> list[str]:
    return list(ACTIONS.get(state, ())) if state else []


def is_final(state: str | None) -> bool:
    return state in FINAL_STATES
