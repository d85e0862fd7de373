"""One family, one plan (issue 13). Every referral of the same household in a network shares one
plan: goals in the family's words, who does what by when, the agreed contact person for the
family, and progress notes. What each viewer sees and may change:

- coordinator (of the network): everything, and sets the contact person;
- partner (an organisation engaged on a referral of the plan; the portal vouches for it):
  its own items always; the other items marked `partners` or `school` only while the family's
  consent allows sharing with partners; it adds items and changes only its own (written by it or
  assigned to it), and only while its engagement is accepted (`can_edit`);
- school: only the items marked `school`, and only while the family agreed to share with it.

Every change is written to the append-only history (wraparound_history)."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from netsterk.db import utcnow
from netsterk.i18n import both
from services.intake.models import Referral
from services.intake.voice import VOICE_FIELDS, sharing, voice_view
from services.intake.wraparound import (
    Refusal, a_date, audit, chain, choice, referral_in_network, text, viewer_of,
)
from services.intake.wraparound_models import Plan, PlanItem, PlanReferral, Voice, WraparoundHistory

KINDS = ("goal", "action", "note")
AUDIENCES = ("own", "partners", "school")
STATUSES = ("open", "done")


def plan_of(session: Session, referral: Referral) -> Plan:
    """The family's plan: the one this referral is in, else the one of its household, else new."""
    link = session.scalar(select(PlanReferral).where(PlanReferral.referral_id == referral.id))
    if link is not None:
        return session.get(Plan, link.plan_id)
    plan = session.scalar(select(Plan).where(Plan.network == referral.network,
                                             Plan.household_key == referral.household_key))
    if plan is None:
        plan = Plan(id=str(uuid.uuid4()), network=referral.network,
                    household_key=referral.household_key, created_at=utcnow(), updated_at=utcnow())
        session.add(plan)
        session.flush()
    session.add(PlanReferral(plan_id=plan.id, referral_id=referral.id))
    session.flush()
    return plan


def _own(item: PlanItem, viewer: dict) -> bool:
    org = viewer.get("organisation_id")
    return bool(org) and org in (item.created_organisation_id, item.owner_organisation_id)


def _visible(item: PlanItem, viewer: dict, share: dict) -> bool:
    role = viewer["role"]
    if role == "coordinator":
        return True
    if role == "partner":
        return _own(item, viewer) or (share["partners"] and item.audience in ("partners", "school"))
    return share["school"] and item.audience == "school"


def _may_change(item: PlanItem, viewer: dict) -> bool:
    return viewer["role"] == "coordinator" or (
        viewer["role"] == "partner" and viewer["can_edit"] and _own(item, viewer))


def _item_view(item: PlanItem, viewer: dict) -> dict:
    return {"id": item.id, "kind": item.kind, "text": item.text, "audience": item.audience,
            "owner_organisation_id": item.owner_organisation_id, "owner_name": item.owner_name,
            "due_date": item.due_date.isoformat() if item.due_date else None, "status": item.status,
            "created_by": item.created_by, "created_at": item.created_at.isoformat(),
            "may_change": _may_change(item, viewer)}


def view_plan(session: Session, referral_id: str, viewer) -> dict:
    viewer = viewer_of(viewer)
    referral = referral_in_network(session, referral_id, viewer["network"])
    plan = plan_of(session, referral)
    voice = session.get(Voice, referral.id)
    share = sharing(referral, voice)
    items = session.scalars(select(PlanItem).where(PlanItem.plan_id == plan.id)
                            .order_by(PlanItem.created_at, PlanItem.id)).all()
    shown = [_item_view(i, viewer) for i in items if _visible(i, viewer, share)]
    refs = session.execute(select(Referral.id, Referral.ref).join(
        PlanReferral, PlanReferral.referral_id == Referral.id).where(
        PlanReferral.plan_id == plan.id).order_by(Referral.ref)).all()
    contact_shown = viewer["role"] != "school" or share["school"]
    result = {
        "plan_id": plan.id, "ref": referral.ref, "referral_id": referral.id,
        "referrals": [{"referral_id": r.id, "ref": r.ref} for r in refs]
        if viewer["role"] == "coordinator" else [{"referral_id": referral.id, "ref": referral.ref}],
        "contact": {"person": plan.contact_person, "organisation_id": plan.contact_organisation_id,
                    "organisation": plan.contact_organisation} if contact_shown else None,
        "items": shown, "hidden": len(items) - len(shown), "sharing": share,
        "voice": voice_view(referral, voice, viewer),
        "can_edit": viewer["role"] == "coordinator" or (viewer["role"] == "partner" and viewer["can_edit"]),
        "viewer": {k: viewer.get(k) for k in ("role", "organisation_id", "organisation_name")},
    }
    if viewer["role"] == "coordinator":
        result["history"] = [
            {"at": h.at.isoformat(), "by": h.by, "organisation_id": h.organisation_id,
             "subject": h.subject, "action": h.action, "item_id": h.item_id, "fields": list(h.fields)}
            for h in session.scalars(select(WraparoundHistory).where(
                WraparoundHistory.subject_id.in_([plan.id] + [r.id for r in refs]))
                .order_by(WraparoundHistory.id))]
    chain(session, viewer, "plan", plan.id, "read", referral_id=referral.id,
          fields=(["items"] if shown else []) + (["contact_person"] if contact_shown and plan.contact_person else []))
    if result["voice"].get("shown"):
        chain(session, viewer, "voice", referral.id, "read", referral_id=referral.id, fields=VOICE_FIELDS)
    return result


def add_item(session: Session, referral_id: str, viewer, data: dict) -> dict:
    viewer = viewer_of(viewer)
    if not (viewer["role"] == "coordinator" or (viewer["role"] == "partner" and viewer["can_edit"])):
        raise Refusal(403, both("wrap.forbidden"))
    referral = referral_in_network(session, referral_id, viewer["network"])
    if not isinstance(data, dict):
        raise Refusal(422, both("wrap.bad_request"))
    plan = plan_of(session, referral)
    kind = choice(data, "kind", KINDS)
    item = PlanItem(id=str(uuid.uuid4()), plan_id=plan.id, kind=kind, text=text(data, "text"),
                    audience=choice(data, "audience", AUDIENCES, "partners"), status="open",
                    created_by=viewer["by"], created_organisation_id=viewer.get("organisation_id"),
                    created_at=utcnow(), updated_at=utcnow())
    if kind == "action":
        item.due_date = a_date(data, "due_date", required=True)
        if viewer["role"] == "partner":   # a partner commits its own organisation
            item.owner_organisation_id = viewer["organisation_id"]
            item.owner_name = viewer.get("organisation_name") or viewer["organisation_id"]
        else:
            item.owner_name = text(data, "owner_name", limit=200)
            item.owner_organisation_id = text(data, "owner_organisation_id", required=False, limit=64)
    session.add(item)
    plan.updated_at = utcnow()
    audit(session, viewer, "plan", plan.id, f"{kind}_added", item_id=item.id, referral_id=referral.id,
          fields=[k for k in ("text", "audience", "due_date", "owner_name") if getattr(item, k, None)])
    session.flush()
    return _item_view(item, viewer)


def change_item(session: Session, referral_id: str, viewer, item_id: str, data: dict) -> dict:
    viewer = viewer_of(viewer)
    referral = referral_in_network(session, referral_id, viewer["network"])
    plan = plan_of(session, referral)
    item = session.get(PlanItem, str(item_id or ""))
    share = sharing(referral, session.get(Voice, referral.id))
    if item is None or item.plan_id != plan.id or not _visible(item, viewer, share):
        raise Refusal(404, both("wrap.item_not_found"))
    if not _may_change(item, viewer):
        raise Refusal(403, both("wrap.not_your_item"))
    if not isinstance(data, dict):
        raise Refusal(422, both("wrap.bad_request"))
    changed = []
    if data.get("text") not in (None, ""):
        new = text(data, "text")
        if new != item.text:
            item.text, changed = new, changed + ["text"]
    if data.get("status"):
        status = choice(data, "status", STATUSES)
        if status != item.status:
            item.status, changed = status, changed + ["status"]
    if data.get("due_date") and item.kind == "action":
        due = a_date(data, "due_date")
        if due != item.due_date:
            item.due_date, changed = due, changed + ["due_date"]
    if data.get("audience"):
        audience = choice(data, "audience", AUDIENCES)
        if audience != item.audience:
            item.audience, changed = audience, changed + ["audience"]
    if not changed:
        raise Refusal(422, both("wrap.nothing_changed"))
    item.updated_at = plan.updated_at = utcnow()
    audit(session, viewer, "plan", plan.id, f"{item.kind}_changed", item_id=item.id,
          referral_id=referral.id, fields=changed)
    return _item_view(item, viewer)


def set_contact(session: Session, referral_id: str, viewer, data: dict) -> dict:
    """The agreed contact person for the family (a professional): the coordinator records it."""
    viewer = viewer_of(viewer)
    if viewer["role"] != "coordinator":
        raise Refusal(403, both("wrap.forbidden"))
    referral = referral_in_network(session, referral_id, viewer["network"])
    plan = plan_of(session, referral)
    if not isinstance(data, dict):
        raise Refusal(422, both("wrap.bad_request"))
    plan.contact_person = text(data, "person", limit=200)
    plan.contact_organisation = text(data, "organisation", required=False, limit=200)
    plan.contact_organisation_id = text(data, "organisation_id", required=False, limit=64)
    plan.updated_at = utcnow()
    audit(session, viewer, "plan", plan.id, "contact_set", referral_id=referral.id,
          fields=["contact_person", "contact_organisation"])
    return {"person": plan.contact_person, "organisation": plan.contact_organisation,
            "organisation_id": plan.contact_organisation_id}
