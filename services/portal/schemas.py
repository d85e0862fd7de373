"""Validation of the arguments of workflow actions sent from the portal (forms and JSON).

Each action's arguments follow docs/contracts.md (`workflow_bridge.act`). `by` is always the
logged-in user (or the engaged organisation on partner pages, "reporter" on the reporter's link
page), never taken from the request. The workflow's validators check again (state, tokens)."""
from __future__ import annotations

import re

from netsterk.i18n import both

COORDINATOR_ACTIONS = ("complete_draft", "confirm_school_efforts", "triage", "ask_information",
                       "redirect", "mark_duplicate", "choose_partner", "extend_deadline",
                       "acknowledge", "withdraw", "close")
PARTNER_ACTIONS = ("partner_respond", "submit_feedback", "ask_help", "report_end")
TRIAGE_DECISIONS = ("accept", "reject", "redirect")
DECLINE_REASONS = ("no_capacity", "outside_area", "not_our_expertise", "family_unreachable", "other")
END_OUTCOMES = ("goal_reached", "partly_reached", "not_reached", "stopped")
RE_ENGAGED = ("yes", "partly", "no")
MAX_TEXT = 2000
MAX_SHORT = 200
MAX_EXTENSION = 60
COMMAND_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


class ActionError(ValueError):
    """Arguments that do not fit an action; `message` is shown to the user (nl / en)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _text(data: dict, field: str, *, required: bool, max_len: int = MAX_TEXT) -> str:
    value = data.get(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ActionError(field, both("portal.error.not_text"))
    value = value.strip()
    if required and not value:
        raise ActionError(field, both("field.required"))
    if len(value) > max_len:
        raise ActionError(field, both("field.too_long", max=max_len))
    return value


def _choice(data: dict, field: str, choices: tuple[str, ...]) -> str:
    value = data.get(field)
    if value not in choices:
        raise ActionError(field, both("field.invalid_choice", choices=", ".join(choices)))
    return value


def _flag(data: dict, field: str) -> bool:
    value = data.get(field)
    if isinstance(value, bool):
        return value
    if value in ("1", "true", "yes", "on", 1):
        return True
    if value in ("0", "false", "no", "", None, 0):
        return False
    raise ActionError(field, both("field.invalid_choice", choices="1, 0"))


def _number(data: dict, field: str, low: int, high: int) -> int:
    value = data.get(field)
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high or (isinstance(value, float) and value != number):
        raise ActionError(field, both("field.invalid_number", min=low, max=high))
    return number


def _ids(value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ActionError("offer_ids", both("portal.error.choose_offer"))
    ids = list(dict.fromkeys(v.strip() for v in value))
    if not ids:
        raise ActionError("offer_ids", both("portal.error.choose_offer"))
    return ids


def command_id(value) -> str | None:
    """The form's (or API caller's) id of this command: a double submit is applied once."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not COMMAND_ID.match(value):
        raise ActionError("command_id", both("portal.error.command_id"))
    return value


def coordinator_args(action: str, data: dict, by: str) -> dict:
    """The `act` arguments of a coordinator action; `data` is a form or JSON object.
    mark_duplicate's `target` (a reference or id) is resolved by the caller."""
    if action not in COORDINATOR_ACTIONS:
        raise ActionError("action", both("portal.error.unknown_action", action=action[:40]))
    if not isinstance(data, dict):
        raise ActionError("args", both("portal.error.args_object"))
    if action == "complete_draft":
        return {"by": by, "school_efforts_done": _flag(data, "school_efforts_done"),
                "summary": _text(data, "summary", required=False)}
    if action == "confirm_school_efforts":
        return {"by": by, "summary": _text(data, "summary", required=True)}
    if action == "triage":
        decision = _choice(data, "decision", TRIAGE_DECISIONS)
        reason = _text(data, "reason", required=decision != "accept")
        return {"by": by, "decision": decision, "reason": reason}
    if action == "ask_information":
        return {"by": by, "question": _text(data, "question", required=True)}
    if action == "redirect":
        return {"by": by, "to_service": _text(data, "to_service", required=True, max_len=MAX_SHORT),
                "reason": _text(data, "reason", required=True)}
    if action == "mark_duplicate":
        return {"by": by, "target_referral_id": _text(data, "target", required=True, max_len=64),
                "reason": _text(data, "reason", required=False)}
    if action == "choose_partner":
        return {"by": by, "offer_ids": _ids(data.get("offer_ids", []))}
    if action == "extend_deadline":
        return {"by": by, "deadline": _text(data, "deadline", required=True, max_len=MAX_SHORT),
                "working_days": _number(data, "working_days", 1, MAX_EXTENSION),
                "reason": _text(data, "reason", required=True)}
    if action == "acknowledge":
        return {"by": by, "note": _text(data, "note", required=False)}
    if action == "withdraw":
        return {"by": by, "reason": _text(data, "reason", required=True)}
    return {"by": by, "re_engaged": _choice(data, "re_engaged", RE_ENGAGED),
            "what_was_done": _text(data, "what_was_done", required=True),
            "reason": _text(data, "reason", required=False)}


def respond_args(data: dict, token: str, by: str) -> dict:
    accept = _flag(data, "accept")
    if accept:
        return {"token": token, "accept": True, "by": by, "reason": ""}
    reason = _choice(data, "reason", DECLINE_REASONS)
    note = _text(data, "note", required=reason == "other")
    return {"token": token, "accept": False, "by": by, "reason": reason, "note": note}


def feedback_args(data: dict, token: str, by: str) -> dict:
    return {"token": token, "by": by, "text": _text(data, "text", required=True)}


def help_args(data: dict, token: str, by: str) -> dict:
    return {"token": token, "by": by, "text": _text(data, "text", required=True)}


def end_args(data: dict, token: str, by: str) -> dict:
    return {"token": token, "by": by, "outcome": _choice(data, "outcome", END_OUTCOMES),
            "text": _text(data, "text", required=True)}


def answer_args(data: dict, token: str) -> dict:
    return {"token": token, "by": "reporter", "answer": _text(data, "answer", required=True),
            "channel": "link"}


def school_efforts_args(data: dict, token: str) -> dict:
    return {"token": token, "by": "school", "summary": _text(data, "summary", required=True)}


def form_data(form) -> dict:
    """A werkzeug form as a plain dict; `offer_ids` keeps every checked value."""
    data = {key: form.get(key) for key in form.keys() if key != "csrf_token"}   # the CSRF token is no action data
    data["offer_ids"] = form.getlist("offer_ids")
    return data
