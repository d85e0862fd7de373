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
    "draft": frozenset({"awaiting_school_efforts", "triage", "merged", "withdrawn"}),
    "awaiting_school_efforts": frozenset({"triage", "withdrawn"}),
    "triage": frozenset({"matching", "rejected", "redirected", "merged", "withdrawn"}),
    "matching": frozenset({"awaiting_partner", "redirected", "withdrawn"}),
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
_ALWAYS = ("withdraw", "extend_deadline", "acknowledge")
ACTIONS: dict[str, tuple[str, ...]] = {
    "draft": ("complete_draft", "mark_duplicate") + _ALWAYS,
    "awaiting_school_efforts": ("confirm_school_efforts",) + _ALWAYS,
    "triage": ("triage", "ask_information", "answer_information", "redirect",
               "mark_duplicate") + _ALWAYS,
    "matching": ("choose_partner", "redirect") + _ALWAYS,
    "awaiting_partner": ("partner_respond",) + _ALWAYS,
    "in_progress": ("submit_feedback", "close", "partner_respond", "choose_partner", "ask_help",
                    "report_end") + _ALWAYS,
    "closed": (),
    "redirected": (),
    "rejected": (),
    "withdrawn": (),
    "merged": (),
}
ALL_ACTIONS = ("complete_draft", "confirm_school_efforts", "triage", "ask_information",
               "answer_information", "redirect", "mark_duplicate", "choose_partner",
               "partner_respond", "submit_feedback", "ask_help", "report_end", "extend_deadline",
               "acknowledge", "withdraw", "close")
# who may ask for an action (the portal maps its pages to these)
COORDINATOR_ACTIONS = ("complete_draft", "confirm_school_efforts", "triage", "ask_information",
                       "redirect", "mark_duplicate", "choose_partner", "extend_deadline",
                       "acknowledge", "withdraw", "close")
# tasks with due dates (the actions a case conference decided, issue 13): allowed in every open
# state, outside the table above (versioned by `workflow.patched("case-conference")`)
TASK_ACTIONS = ("add_tasks", "complete_task")
PARTNER_ACTIONS = ("partner_respond", "submit_feedback", "ask_help", "report_end")
REPORTER_ACTIONS = ("answer_information",)

# coded answers
DECLINE_REASONS = ("no_capacity", "outside_area", "not_our_expertise", "family_unreachable", "other")
END_OUTCOMES = ("goal_reached", "partly_reached", "not_reached", "stopped")
RE_ENGAGED = ("yes", "partly", "no")

TRIAGE_DECISIONS = {"accept": "matching", "reject": "rejected", "redirect": "redirected"}

assert set(TRANSITIONS) - {START} == set(STATES) == set(FHIR_TASK_STATUS) == set(ACTIONS)
assert all(not TRANSITIONS[s] for s in FINAL_STATES)
assert {a for actions in ACTIONS.values() for a in actions} == set(ALL_ACTIONS)
assert set(COORDINATOR_ACTIONS + PARTNER_ACTIONS + REPORTER_ACTIONS) == set(ALL_ACTIONS)


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
