"""Data passed between the bridge, the workflow and its activities (plain dataclasses, JSON-safe)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TASK_QUEUE_DEFAULT = "referrals"


WORKING_DAY_STEPS = ("draft", "school_efforts", "school_efforts_reminder", "triage", "information",
                     "matching", "partner_response", "partner_reminder", "first_feedback",
                     "feedback_interval", "closure")


@dataclass
class Deadlines:
    """Working days (Belgian calendar) per step, plus the network's calendar and retention;
    configurable per network and per urgency (DESIGN §4, workflows/config.py)."""

    school_efforts: int = 3
    school_efforts_reminder: int = 2
    triage: int = 1
    matching: int = 1
    partner_response: int = 2
    partner_reminder: int = 1
    first_feedback: int = 10
    feedback_interval: int = 20
    closed_dates: list[str] = field(default_factory=list)   # ISO dates the network is closed
    draft: int = 5                  # a draft waits this long for completion, then a coordinator task
    information: int = 5            # the reporter's answer to a question
    closure: int = 5                # every partner reported the end: the coordinator closes
    school_holidays: str | None = None   # a community's school calendar ("Flemish") or none
    retention_months: int = 24      # after a final state, then anonymisation

    def __post_init__(self) -> None:
        for name in WORKING_DAY_STEPS + ("retention_months",):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                unit = "months" if name == "retention_months" else "working days"
                raise ValueError(f"deadline {name} must be a whole number of {unit} >= 1")
        if self.school_holidays not in (None, "Flemish", "French", "German"):
            raise ValueError("school_holidays must be Flemish, French, German or empty")
        if self.school_efforts_reminder >= self.school_efforts:
            raise ValueError("the school efforts reminder must come before the school efforts deadline")
        if self.partner_reminder >= self.partner_response:
            raise ValueError("the partner reminder must come before the partner response deadline")


@dataclass
class ReferralInput:
    """The start input of a ReferralWorkflow: the `intake.referral_submitted` payload plus
    the correlation id of the referral and its network's deadlines."""

    referral_id: str
    ref: str
    network: str
    channel: str
    categories: list[str]
    postcode: str | None
    age: int | None
    school_level: str | None
    languages: list[str]
    urgency: str
    school_efforts_done: bool
    reporter_lang: str
    submitted_at: str
    correlation_id: str
    deadlines: Deadlines | None = None
    coordinator_email: str | None = None   # None: the activity uses settings.coordinator_email
    draft: bool = False             # an e-mail referral that needs completing first
    # a partner reports an engagement a school asked for directly: {offer_id, offer_name,
    # organisation_id, organisation_name, contact_email}; the referral starts in_progress
    direct_engagement: dict | None = None
    # pseudonymous keys and area, passed to matching (DESIGN §6: nobody engaged twice)
    person_key: str | None = None
    household_key: str | None = None
    neighbourhood: str | None = None
    # open referrals of the same young person or household that intake found: [{referral_id, ref,
    # match, overlapping}]; the coordinator decides whether to merge
    possible_duplicates: list[dict] = field(default_factory=list)
    # an e-mail draft: the secret token of intake's prefilled form (the reporter's signed
    # complete_draft link leads to it)
    draft_token: str | None = None
    # runs started before the patch `contacts-at-send-time` got the addresses in their input (and
    # keep using them); newer runs get none: the send_email activity asks intake by role
    reporter_email: str | None = None
    school_email: str | None = None

    @classmethod
    def from_event(cls, envelope: dict, *, deadlines: Deadlines | None = None,
                   coordinator_email: str | None = None) -> "ReferralInput":
        """Build from a validated `referral_submitted` envelope; ValueError names what is wrong.
        Addresses an older event may still carry are not taken over (intake resolves them)."""
        payload = envelope["payload"]
        problems = []

        def text(key, *, optional=False):
            value = payload.get(key)
            if value is None and optional:
                return None
            if not isinstance(value, str) or not value.strip():
                problems.append(f"{key} must be a non-empty string")
                return None
            return value

        def string_list(key):
            value = payload.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{key} must be a list of strings")
                return []
            return list(value)

        referral_id = text("referral_id")
        ref = text("ref")
        network = text("network")
        channel = text("channel")
        categories = string_list("categories")
        if (not categories and payload.get("draft") is not True
                and "categories must be a list of strings" not in problems):
            problems.append("categories must name at least one concern category")
        postcode = text("postcode", optional=True)
        age = payload.get("age")
        if age is not None and (not isinstance(age, int) or isinstance(age, bool)):
            problems.append("age must be a whole number or null")
            age = None
        school_level = text("school_level", optional=True)
        languages = string_list("languages")
        urgency = payload.get("urgency", "normal")
        if urgency not in ("normal", "urgent"):
            problems.append("urgency must be 'normal' or 'urgent'")
        efforts = payload.get("school_efforts_done")
        if not isinstance(efforts, bool):
            problems.append("school_efforts_done must be true or false")
        reporter_lang = payload.get("reporter_lang", "nl")
        if reporter_lang not in ("nl", "en"):
            problems.append("reporter_lang must be 'nl' or 'en'")
        submitted_at = text("submitted_at")
        draft = payload.get("draft", False)
        if not isinstance(draft, bool):
            problems.append("draft must be true or false")
        direct = payload.get("direct_engagement")
        if direct is not None and (not isinstance(direct, dict) or not direct.get("offer_id")
                                   and not direct.get("organisation_id")):
            problems.append("direct_engagement must be an object with offer_id or organisation_id")
        duplicates = payload.get("possible_duplicates") or []
        if not isinstance(duplicates, list) or not all(isinstance(d, dict) for d in duplicates):
            problems.append("possible_duplicates must be a list of objects")
            duplicates = []
        keys = {}
        for key in ("person_key", "household_key", "neighbourhood", "draft_token"):
            keys[key] = text(key, optional=True)
        correlation_id = envelope.get("correlation_id")
        if not isinstance(correlation_id, str) or not correlation_id:
            problems.append("correlation_id must be a non-empty string")
        if problems:
            raise ValueError("invalid referral_submitted payload: " + "; ".join(problems))
        return cls(referral_id=referral_id, ref=ref, network=network, channel=channel,
                   categories=categories, postcode=postcode, age=age, school_level=school_level,
                   languages=languages, urgency=urgency, school_efforts_done=efforts,
                   reporter_lang=reporter_lang, submitted_at=submitted_at,
                   correlation_id=correlation_id, deadlines=deadlines,
                   coordinator_email=coordinator_email, draft=draft,
                   direct_engagement=dict(direct) if direct else None,
                   possible_duplicates=[dict(d) for d in duplicates], **keys)


@dataclass
class EmailRequest:
    """One e-mail the workflow wants sent. The activity turns it into a
    `notifications.send_email` request: idempotency_key = workflow_id + ":" + purpose, and
    `link_path` (if any) becomes `context[link_field]` = settings.portal_url + link_path."""

    workflow_id: str
    purpose: str
    template: str
    to: str | None           # None: `recipient`'s address, else the coordinator's (settings)
    lang: str
    context: dict[str, Any]
    network: str
    referral_ref: str
    correlation_id: str
    link_field: str | None = None
    link_path: str | None = None
    # a role of contracts.CONTACT_ROLES: the activity asks intake for the address at send time
    recipient: str | None = None


@dataclass
class StateChange:
    """One `referral_workflow.referral_state_changed` event to publish."""

    workflow_id: str
    sequence: int
    correlation_id: str
    network: str
    referral_ref: str
    occurred_at: str
    payload: dict[str, Any]

    @property
    def message_id(self) -> str:
        return f"{self.workflow_id}:{self.sequence}"


@dataclass
class WorkflowEvent:
    """Any other `referral_workflow.<event_type>` event to publish (task updates, anonymise);
    `message_id` is deterministic so consumers dedupe a retried publish."""

    event_type: str
    message_id: str
    correlation_id: str
    network: str
    referral_ref: str
    occurred_at: str
    payload: dict[str, Any]


# what completing a draft may fill in (the e-mail could not tell): ReferralInput field -> type
DRAFT_FACTS = {"categories": list, "postcode": str, "age": int, "school_level": str, "languages": list,
               "urgency": str, "neighbourhood": str, "person_key": str, "household_key": str,
               "school_email": str}


def draft_facts(payload: dict) -> dict:
    """The facts of a completed draft from a `referral_submitted` payload (draft: false)."""
    return {key: payload[key] for key in DRAFT_FACTS if payload.get(key) not in (None, "", [])}


AGE_BANDS = ((6, 11), (12, 15), (16, 18), (19, 25))


def age_band(age: int | None) -> str:
    """The band a partner sees instead of the age ("12-15"); "" when unknown or outside 6-25."""
    for low, high in AGE_BANDS:
        if isinstance(age, int) and low <= age <= high:
            return f"{low}-{high}"
    return ""
