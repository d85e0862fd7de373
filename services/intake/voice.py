"""The voice of the young person and the parents on a referral: what they want, what worries them,
what already helps, and their consent (shared with the engaged partners? with the school?).
Consent limits what plan.py shows; a withdrawal is honoured at once for every partner and the
school (they no longer see the voice nor the plan's shared parts)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from netsterk.db import utcnow
from netsterk.i18n import both
from services.intake.models import Referral
from services.intake.wraparound import Refusal, audit, chain, choice, referral_in_network, text, viewer_of
from services.intake.wraparound_models import Voice

FROM_WHOM = ("young_person", "parents", "both")
VOICE_FIELDS = ("wishes", "worries", "what_helps")


def _flag(data: dict, key: str) -> bool:
    return data.get(key) in (True, "1", "on", "true", "yes")


def sharing(referral: Referral, voice: Voice | None) -> dict:
    """With whom the referral's voice and plan may be shared. Without a recorded voice the consent
    on the referral counts for partners (the family agreed to the referral); the school only after
    an explicit yes."""
    if voice is None:
        return {"partners": referral.consent != "none", "school": False, "withdrawn": False}
    if voice.consent_withdrawn_at is not None:
        return {"partners": False, "school": False, "withdrawn": True}
    return {"partners": bool(voice.share_partners), "school": bool(voice.share_school), "withdrawn": False}


def record_voice(session: Session, referral_id: str, viewer, data: dict) -> dict:
    """The coordinator (or an engaged partner who may edit) records what the family said."""
    viewer = viewer_of(viewer)
    if viewer["role"] == "school" or (viewer["role"] == "partner" and not viewer["can_edit"]):
        raise Refusal(403, both("wrap.forbidden"))
    referral = referral_in_network(session, referral_id, viewer["network"])
    if not isinstance(data, dict):
        raise Refusal(422, both("wrap.bad_request"))
    values = {key: text(data, key, required=False) for key in VOICE_FIELDS}
    if not any(values.values()):
        raise Refusal(422, both("wrap.voice.empty"), "wishes")
    from_whom = choice(data, "from_whom", FROM_WHOM)
    voice = session.get(Voice, referral.id)
    created = voice is None
    if created:
        voice = Voice(referral_id=referral.id, network=referral.network)
    changed = [k for k, v in values.items() if getattr(voice, k) != v]
    for key, value in values.items():
        setattr(voice, key, value)
    voice.from_whom = from_whom
    share_partners, share_school = _flag(data, "share_partners"), _flag(data, "share_school")
    if created or voice.share_partners != share_partners or voice.share_school != share_school \
            or voice.consent_withdrawn_at is not None:
        changed.append("consent")
        voice.consent_given_at = utcnow() if (share_partners or share_school) else None
        voice.consent_withdrawn_at = None
    voice.share_partners, voice.share_school = share_partners, share_school
    voice.updated_by, voice.updated_at = viewer["by"], utcnow()
    session.add(voice)
    audit(session, viewer, "voice", referral.id, "voice_recorded" if created else "voice_changed",
          referral_id=referral.id, fields=changed)
    return voice_view(referral, voice, viewer)


def withdraw_consent(session: Session, referral_id: str, viewer, reason: str | None = None) -> dict:
    """The family withdraws its consent: nothing is shared with partners or the school any more."""
    viewer = viewer_of(viewer)
    if viewer["role"] != "coordinator":
        raise Refusal(403, both("wrap.forbidden"))
    referral = referral_in_network(session, referral_id, viewer["network"])
    voice = session.get(Voice, referral.id) or Voice(
        referral_id=referral.id, network=referral.network, from_whom="both", share_partners=False,
        share_school=False)
    voice.share_partners = voice.share_school = False
    voice.consent_withdrawn_at = utcnow()
    voice.updated_by, voice.updated_at = viewer["by"], utcnow()
    session.add(voice)
    audit(session, viewer, "voice", referral.id, "consent_withdrawn", referral_id=referral.id,
          fields=["consent"])
    return voice_view(referral, voice, viewer)


def voice_view(referral: Referral, voice: Voice | None, viewer: dict) -> dict:
    """What this viewer may see of the voice: all of it for the coordinator; for a partner or the
    school only with consent (else only that it is not shared)."""
    share = sharing(referral, voice)
    consent = {"partners": share["partners"], "school": share["school"], "withdrawn": share["withdrawn"],
               "withdrawn_at": voice.consent_withdrawn_at.isoformat() if voice and voice.consent_withdrawn_at else None}
    allowed = viewer["role"] == "coordinator" or (
        viewer["role"] == "partner" and share["partners"]) or (viewer["role"] == "school" and share["school"])
    if voice is None or not allowed:
        return {"recorded": voice is not None, "shown": False, "consent": consent}
    return {"recorded": True, "shown": True, "consent": consent, "from_whom": voice.from_whom,
            **{key: getattr(voice, key) for key in VOICE_FIELDS},
            "updated_at": voice.updated_at.isoformat() if voice.updated_at else None}


def get_voice(session: Session, referral_id: str, viewer) -> dict:
    viewer = viewer_of(viewer)
    referral = referral_in_network(session, referral_id, viewer["network"])
    shown = voice_view(referral, session.get(Voice, referral.id), viewer)
    if shown.get("shown"):
        chain(session, viewer, "voice", referral.id, "read", referral_id=referral.id, fields=VOICE_FIELDS)
    return shown
