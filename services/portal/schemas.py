"""Validation of the arguments of workflow actions sent from the portal (forms and JSON).

Each action's arguments follow docs/contracts.md (`workflow_bridge.act`). `by` is always the
logged-in user (or the engaged organisation on partner pages), never taken from the request."""
from __future__ import annotations

from netsterk.i18n import both

COORDINATOR_ACTIONS = ("confirm_school_efforts", "triage", "choose_partner", "close")
PARTNER_ACTIONS = ("partner_respond", "submit_feedback")
TRIAGE_DECISIONS = ("accept", "reject", "redirect")
MAX_TEXT = 2000
MAX_SHORT = 200


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
    if value in ("1", "true", "yes", 1):
        return True
    if value in ("0", "false", "no", 0):
        return False
    raise ActionError(field, both("field.invalid_choice", choices="1, 0"))


def _ids(value) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ActionError("offer_ids", both("portal.error.choose_offer"))
    ids = list(dict.fromkeys(v.strip() for v in value))
    if not ids:
        raise ActionError("offer_ids", both("portal.error.choose_offer"))
    return ids


def coordinator_args(action: str, data: dict, by: str) -> dict:
    """The `act` arguments of a coordinator action; `data` is a form or JSON object."""
    if action not in COORDINATOR_ACTIONS:
        raise ActionError("action", both("portal.error.unknown_action", action=action[:40]))
    if not isinstance(data, dict):
        raise ActionError("args", both("portal.error.args_object"))
    if action == "confirm_school_efforts":
        return {"by": by, "summary": _text(data, "summary", required=True)}
    if action == "triage":
        decision = _choice(data, "decision", TRIAGE_DECISIONS)
        reason = _text(data, "reason", required=decision != "accept")
        return {"by": by, "decision": decision, "reason": reason}
    if action == "choose_partner":
        return {"by": by, "offer_ids": _ids(data.get("offer_ids", []))}
    return {"by": by, "outcome": _text(data, "outcome", required=True, max_len=MAX_SHORT),
            "reason": _text(data, "reason", required=False)}


def respond_args(data: dict, token: str, by: str) -> dict:
    accept = _flag(data, "accept")
    reason = _text(data, "reason", required=not accept)
    return {"token": token, "accept": accept, "by": by, "reason": reason}


def feedback_args(data: dict, token: str, by: str) -> dict:
    return {"token": token, "by": by, "text": _text(data, "text", required=True)}


def form_data(form) -> dict:
    """A werkzeug form as a plain dict; `offer_ids` keeps every checked value."""
    data = {key: form.get(key) for key in form.keys()}
    data["offer_ids"] = form.getlist("offer_ids")
    return data
