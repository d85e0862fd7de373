"""What plan.py, voice.py and conference.py share: who is asking (the viewer the portal vouches
for), refusals with a status, the append-only history, and the audit of every read and change of
their personal data in intake's one hash-chained audit log (netsterk/audit.py through
privacy.log: who, role, record, field names, purpose, origin — never the texts)."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from netsterk.db import utcnow
from netsterk.i18n import both
from netsterk.refusal import Refusal
from services.intake.models import Referral
from services.intake.wraparound_models import WraparoundHistory

ROLES = ("coordinator", "partner", "school")
MAX_TEXT = 4000


def viewer_of(raw) -> dict:
    """{role, by, network, organisation_id?, organisation_name?, can_edit?}: the portal checked the
    login or the link; intake checks the shape and scopes everything by it."""
    if not isinstance(raw, dict) or raw.get("role") not in ROLES or not raw.get("network"):
        raise Refusal(403, both("wrap.forbidden"))
    viewer = {"role": raw["role"], "network": str(raw["network"]), "by": str(raw.get("by") or raw["role"])[:200],
              "origin": str(raw.get("origin") or "portal")[:200]}
    if viewer["role"] == "partner":
        if not raw.get("organisation_id"):
            raise Refusal(403, both("wrap.forbidden"))
        viewer.update(organisation_id=str(raw["organisation_id"]),
                      organisation_name=str(raw.get("organisation_name") or "")[:200],
                      can_edit=bool(raw.get("can_edit")))
    return viewer


def referral_in_network(session: Session, referral_id: str, network: str) -> Referral:
    """The referral, only in the viewer's network (another network's referral is not found)."""
    referral = session.get(Referral, str(referral_id or ""))
    if referral is None or referral.network != network or not referral.household_key:
        raise Refusal(404, both("portal.error.not_found"))
    return referral


def text(data: dict, key: str, *, required: bool = True, limit: int = MAX_TEXT) -> str | None:
    value = data.get(key)
    value = value.strip() if isinstance(value, str) else value
    if value in (None, ""):
        if required:
            raise Refusal(422, both("field.required"), key)
        return None
    if not isinstance(value, str):
        raise Refusal(422, both("field.required"), key)
    if len(value) > limit:
        raise Refusal(422, both("wrap.too_long", limit=limit), key)
    return value


def choice(data: dict, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = data.get(key) or default
    if value not in choices:
        raise Refusal(422, both("field.invalid_choice", choices=", ".join(choices)), key)
    return value


def a_date(data: dict, key: str, *, required: bool = False) -> date | None:
    value = data.get(key)
    if value in (None, ""):
        if required:
            raise Refusal(422, both("field.required"), key)
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Refusal(422, both("wrap.bad_date"), key) from None


# why each kind of record is read or changed (the audit entry's purpose)
PURPOSES = {"plan": "family plan (wraparound care)", "voice": "the young person's voice (wraparound care)",
            "conference": "case conference (wraparound care)"}
# history actions that are not a create or an update in the audit log's terms
AUDIT_ACTIONS = {"voice_recorded": "create", "conference_proposed": "create",
                 "invitations_sent": "disclose", "tasks_created": "disclose"}


def audit_action(history_action: str) -> str:
    if history_action in AUDIT_ACTIONS:
        return AUDIT_ACTIONS[history_action]
    return "create" if history_action.endswith("_added") else "update"


def chain(session: Session, viewer: dict, subject: str, subject_id: str, action: str, *,
          referral_id: str | None, fields) -> None:
    """One entry in intake's hash-chained audit log for a read or change of plan / voice /
    conference data (field names only)."""
    from services.intake.privacy import log

    referral = session.get(Referral, referral_id) if referral_id else None
    log(session, {"username": viewer["by"], "role": viewer["role"], "network": viewer["network"],
                  "origin": viewer.get("origin")}, action, record_type=subject, record_id=subject_id,
        fields=fields, purpose=PURPOSES[subject], network=viewer["network"],
        record_ref=referral.ref if referral is not None else None)


def audit(session: Session, viewer: dict, subject: str, subject_id: str, action: str, *,
          item_id: str | None = None, referral_id: str | None = None, fields=()) -> None:
    """A change: the wraparound history (shown with the plan) and the audit log."""
    session.add(WraparoundHistory(
        network=viewer["network"], subject=subject, subject_id=subject_id, item_id=item_id,
        referral_id=referral_id, action=action, by=viewer["by"],
        organisation_id=viewer.get("organisation_id"), fields=sorted(fields), at=utcnow()))
    chain(session, viewer, subject, subject_id, audit_action(action), referral_id=referral_id, fields=fields)


def anonymise(session: Session, referral_id: str) -> bool:
    """After retention (`referral_anonymise`): the referral's voice and case conferences lose their
    personal text; the family plan too once every referral in it is anonymised. Returns whether
    anything changed. The history keeps who/what/when (no personal text is in it)."""
    from sqlalchemy import select

    from services.intake.wraparound_models import Conference, Plan, PlanItem, PlanReferral, Voice

    changed = False
    voice = session.get(Voice, referral_id)
    if voice is not None and (voice.wishes or voice.worries or voice.what_helps):
        voice.wishes = voice.worries = voice.what_helps = None
        changed = True
    for conference in session.scalars(select(Conference).where(Conference.referral_id == referral_id)):
        if conference.invitees != "[]" or conference.decisions or conference.actions:
            conference.invitees, conference.decisions, conference.actions = "[]", None, None
            changed = True
    link = session.scalar(select(PlanReferral).where(PlanReferral.referral_id == referral_id))
    if link is None:
        return changed
    others = session.scalars(select(Referral.person_key).join(
        PlanReferral, PlanReferral.referral_id == Referral.id).where(
        PlanReferral.plan_id == link.plan_id, Referral.id != referral_id)).all()
    if any(others):          # another referral of the family is still kept: the plan stays
        return changed
    plan = session.get(Plan, link.plan_id)
    if plan.contact_person:
        plan.contact_person = None
        changed = True
    for item in session.scalars(select(PlanItem).where(PlanItem.plan_id == plan.id)):
        if item.text:
            item.text, changed = "", True
    plan.household_key = ""
    return changed
