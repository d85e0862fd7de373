"""ReferralWorkflow: the lifecycle of one referral (DESIGN §4), one workflow per referral.

Deterministic: time from workflow.now(), tokens from workflow.uuid4(), every I/O in activities.
The main loop is the only writer of the state: updates are validated, queued as commands and
answered once the loop handled them, so a timer and an action never race.

Versioning: `workflow.patched(LIFECYCLE_V2)` is asked once at the start of a run. Runs started by
the foundation code (histories without the marker, see workflows/tests/histories/v1_*.json)
replay with `self.v2 == False` and keep the old command sequence: one partner at a time, one
feedback timer, no task events, no retention timer. New runs take every v2 path. Remove a v1
branch only when no v1 run can still be open (24 months of retention after closure included).
`workflow.patched(CONTACTS_AT_SEND_TIME)` (issue 10), asked at the start too: newer runs hold no
e-mail address (their mails name a recipient role, intake answers at send time; the closure
always asks for the school's mail); runs without the marker (v1_*, v2_* histories) address their
mails from the input as before.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from netsterk.contracts import (
        ENGAGEMENT_CHANGED, REFERRAL_ANONYMISE, REFERRAL_TASK_UPDATED, workflow_id,
    )
    from workflows.referral.shared import (
        DRAFT_FACTS, Deadlines, EmailRequest, ReferralInput, StateChange, WorkflowEvent, age_band,
    )
    from workflows.referral.states import (
        DECLINE_REASONS, END_OUTCOMES, FHIR_TASK_STATUS, RE_ENGAGED, TASK_ACTIONS, TRIAGE_DECISIONS,
        InvalidTransition, allowed_actions, check_transition, is_final,
    )
    from workflows.working_days import BRUSSELS, add_months, add_working_days

LIFECYCLE_V2 = "lifecycle-v2"
RESERVE_PLACE = "reserve-place-on-accept"   # an accept first takes a place of the offer in matching
CASE_CONFERENCE = "case-conference"          # tasks with due dates (a case conference's actions)
# mails to the reporter and the school name a role; intake gives the address at send time (the
# input holds no addresses). Runs without the marker keep the addresses of their input.
CONTACTS_AT_SEND_TIME = "contacts-at-send-time"
MAX_TASKS = 50
MAX_EXTENSION = 60          # working days one extend_deadline may add

SYSTEM = "system"
MAX_TEXT = 4000

EMAIL_OPTIONS = dict(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5),
                             non_retryable_error_types=["InvalidEmailRequest"]),
)
BOUNDARY_OPTIONS = dict(
    start_to_close_timeout=timedelta(seconds=60),
    retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
)


class InvalidAction(ValueError):
    """An action that is not allowed now or has bad arguments."""


@dataclass
class Command:
    id: int
    action: str
    args: dict
    done: bool = False
    error: str | None = None
    result: dict | None = None


@dataclass
class Engagement:
    token: str
    offer_id: str
    offer_name: str
    organisation_id: str | None
    organisation_name: str
    contact_email: str | None
    # proposed -> accepted | declined | expired | withdrawn; accepted -> completed | withdrawn
    status: str = "proposed"
    engaged_at: str = ""
    reason: str | None = None
    note: str | None = None
    accepted_at: str | None = None
    end_outcome: str | None = None
    ended_at: str | None = None

    def public(self) -> dict:
        return {"token": self.token, "offer_id": self.offer_id, "offer_name": self.offer_name,
                "organisation_id": self.organisation_id,
                "organisation_name": self.organisation_name, "status": self.status,
                "engaged_at": self.engaged_at, "accepted_at": self.accepted_at,
                "reason": self.reason, "end_outcome": self.end_outcome, "ended_at": self.ended_at}


def _text(args: dict, key: str, *, required: bool = True) -> str | None:
    value = args.get(key)
    if not required and (value is None or (isinstance(value, str) and not value.strip())):
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidAction(f"{key} must be a non-empty text")
    if len(value) > MAX_TEXT:
        raise InvalidAction(f"{key} is longer than {MAX_TEXT} characters")
    return value.strip()


def _code(args: dict, key: str, codes: tuple[str, ...]) -> str:
    value = args.get(key)
    if value not in codes:
        raise InvalidAction(f"{key} must be one of {', '.join(codes)}")
    return value


def _known_keys(args: Any, action: str, allowed: tuple[str, ...]) -> dict:
    if not isinstance(args, dict):
        raise InvalidAction(f"{action} expects an object of arguments")
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise InvalidAction(f"{action} does not take {', '.join(unknown)}")
    return args


@workflow.defn
class ReferralWorkflow:
    @workflow.init
    def __init__(self, input: ReferralInput) -> None:
        self.input = input
        self.config = input.deadlines or Deadlines()
        self.v2 = True                            # settled at the start of run()
        self.by_role = True                       # CONTACTS_AT_SEND_TIME, settled in run()
        self.state: str | None = None
        self.history: list[dict] = []
        self.log: list[dict] = []                 # actions that are not moves (who, when, what)
        self.sequence = 0                         # state moves so far; message ids use it
        self.revision = 0                         # events published so far (read-model order)
        self.deadlines: dict[str, datetime] = {}  # active deadlines of the current state
        self.overdue: dict[str, datetime] = {}    # deadlines that passed and still need a human
        self.attention: list[dict] = []           # what needs the coordinator now
        self.published_view: dict | None = None
        self.outbox: list[WorkflowEvent] = []     # v2: events to publish at the end of the step
        self.candidates: list[dict] = []
        self.engagements: list[Engagement] = []
        self.tried_offer_ids: list[str] = []
        self.feedback: list[dict] = []
        self.feedback_reminders = 0
        self.school_efforts: dict | None = None
        self.outcome: str | None = None
        self.closure: dict | None = None          # {re_engaged, what_was_done}
        self.questions: list[dict] = []           # ask_information / answer_information
        self.school_token: str | None = None      # v2: the key of the school's confirmation link
        self.redirected_to: str | None = None
        self.merged_into: str | None = None
        self.linked_duplicates: list[dict] = []
        self.final_at: datetime | None = None
        self.anonymised = False
        self.escalated_entry: int | None = None   # sequence of the state entry already escalated
        self.escalations: set[str] = set()
        self.help_requests = 0
        self.tasks: list[dict] = []               # case conference actions: tasks with due dates
        self.commands: list[Command] = []
        self.command_count = 0
        self.mail_tasks: list[asyncio.Task] = []

    # ---------------------------------------------------------------- run

    @workflow.run
    async def run(self, input: ReferralInput) -> dict:
        self.v2 = workflow.patched(LIFECYCLE_V2)
        self.by_role = workflow.patched(CONTACTS_AT_SEND_TIME)
        workflow.logger.info("referral workflow started", extra={"referral_ref": input.ref})
        if self.v2 and input.draft and input.draft_token:
            # the receipt of an e-mailed concern asks the reporter to complete it (same activity,
            # only its input differs: replay-safe); notifications signs the link for that draft
            self._mail_contact("reporter_received", "reporter_draft", "reporter", input.reporter_lang,
                               {"ref": input.ref},
                               link=("complete_url", f"/drafts/{input.referral_id}/{input.draft_token}"))
        else:
            self._mail_contact("reporter_received", "reporter_received", "reporter",
                               input.reporter_lang, {"ref": input.ref})
        if self.v2 and input.direct_engagement and not input.direct_engagement.get("offer_name"):
            found = await workflow.execute_activity(
                "describe_offer", {"network": input.network, **input.direct_engagement},
                **BOUNDARY_OPTIONS)
            input.direct_engagement = {**input.direct_engagement, **(found or {})}
        if self.v2 and input.direct_engagement:
            await self._transition("in_progress", SYSTEM, "direct engagement reported by the partner",
                                   lambda: self._accept_direct(input.direct_engagement))
        elif self.v2 and input.draft:
            await self._transition("draft", SYSTEM, "submitted by e-mail; needs completing")
        elif input.school_efforts_done:
            await self._transition("triage", SYSTEM, "submitted; school efforts done")
        else:
            await self._transition("awaiting_school_efforts", SYSTEM,
                                   "submitted; school efforts not yet confirmed")
        if self.v2 and input.possible_duplicates:
            refs = ", ".join(str(d.get("ref") or d.get("referral_id")) for d in input.possible_duplicates)
            self._attend("possible_duplicate", f"open referral(s) of the same person or family: {refs}")
        await self._publish_view()
        while not is_final(self.state):
            await self._step()
            await self._publish_view()
        self._refuse_waiting_commands()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.v2:
            await self._retain()
        await asyncio.gather(*self.mail_tasks)
        return self.snapshot()

    async def _step(self) -> None:
        name, due = self._next_deadline()
        if name is not None and due <= workflow.now() and not self.commands:
            await self._fire(name)
            return
        timeout = None if due is None else (due - workflow.now())
        try:
            await workflow.wait_condition(lambda: bool(self.commands), timeout=timeout,
                                          timeout_summary=name)
        except asyncio.TimeoutError:
            await self._fire(name)
            return
        command = self.commands.pop(0)
        try:
            command.result = await self._handle(command)
        except (InvalidAction, InvalidTransition) as exc:
            command.error = str(exc)
        command.done = True

    def _refuse_waiting_commands(self) -> None:
        """Actions queued behind the final move: answer them instead of leaving them hanging."""
        for command in self.commands:
            command.error = f"{command.action} is not allowed in state {self.state!r} (allowed: none)"
            command.done = True
        self.commands.clear()

    async def _retain(self) -> None:
        """v2: after a final state, keep the referral for the network's retention period, then
        announce `referral_anonymise` so every service wipes its personal data."""
        self.final_at = workflow.now()
        self.deadlines = {"retention": add_months(self.final_at, self.config.retention_months)}
        await self._publish_view()
        await workflow.sleep(self.deadlines["retention"] - workflow.now())
        i = self.input
        at = workflow.now().isoformat()
        event = WorkflowEvent(
            event_type=REFERRAL_ANONYMISE, message_id=f"{workflow.info().workflow_id}:anonymise",
            correlation_id=i.correlation_id, network=i.network, referral_ref=i.ref, occurred_at=at,
            payload={"referral_id": i.referral_id, "ref": i.ref, "network": i.network,
                     "final_state": self.state, "final_at": self.final_at.isoformat(),
                     "retention_months": self.config.retention_months, "at": at})
        await workflow.execute_activity("publish_workflow_event", event, **BOUNDARY_OPTIONS)
        self.anonymised = True
        self.deadlines = {}
        self.feedback = [dict(f, text="") for f in self.feedback]
        self.questions = [dict(q, question="", answer=None) for q in self.questions]

    def _next_deadline(self) -> tuple[str | None, datetime | None]:
        if not self.deadlines:
            return None, None
        name = min(self.deadlines, key=lambda key: self.deadlines[key])
        return name, self.deadlines[name]

    def _due(self, working_days: int, start: datetime | None = None) -> datetime:
        return add_working_days(start or workflow.now(), working_days, self.config.closed_dates,
                                self.config.school_holidays)

    # ---------------------------------------------------------------- moves

    async def _transition(self, to_state: str, by: str, reason: str, setup=None) -> None:
        """Check the move against the table, record it, set the new state's deadlines,
        run `setup` (sync), publish the change, then do the new state's entry work."""
        from_state = self.state
        check_transition(from_state, to_state)
        at = workflow.now()
        entry = {"from_state": from_state, "to_state": to_state, "by": by,
                 "at": at.isoformat(), "reason": reason}
        self.history.append(entry)
        self.sequence += 1
        self.state = to_state
        self.deadlines = self._entry_deadlines(to_state)
        self.deadlines.update(self._task_deadlines())   # empty for every run without tasks
        self.overdue = {}
        self.attention = []
        if setup is not None:
            setup()
        workflow.logger.info("referral moved", extra={"from_state": from_state, "to_state": to_state})
        self.revision += 1
        view = self._task_view()
        change = StateChange(
            workflow_id=workflow.info().workflow_id, sequence=self.sequence,
            correlation_id=self.input.correlation_id, network=self.input.network,
            referral_ref=self.input.ref, occurred_at=entry["at"],
            payload={
                "referral_id": self.input.referral_id, "ref": self.input.ref,
                "network": self.input.network, "from_state": from_state, "to_state": to_state,
                "by": by, "reason": reason, "at": entry["at"],
                "categories": list(self.input.categories),
                "due_at": view["due_at"], "fhir_status": FHIR_TASK_STATUS[to_state],
                "urgency": self.input.urgency, "deadlines": view["deadlines"],
                "overdue": view["overdue"], "attention": view["attention"],
                "revision": self.revision,
                "re_engaged": (self.closure or {}).get("re_engaged") if to_state == "closed" else None,
            })
        self.published_view = view
        await workflow.execute_activity("publish_state_change", change, **BOUNDARY_OPTIONS)
        await self._enter(to_state)

    def _entry_deadlines(self, state: str) -> dict[str, datetime]:
        c = self.config
        if state == "draft":
            return {"draft": self._due(c.draft)}
        if state == "awaiting_school_efforts":
            return {"school_efforts_reminder": self._due(c.school_efforts_reminder),
                    "school_efforts": self._due(c.school_efforts)}
        if state == "triage":
            return {"triage": self._due(c.triage)}
        if state == "matching":
            return {"matching": self._due(c.matching)}
        if state == "in_progress":
            if not self.v2:
                return {"feedback": self._due(c.first_feedback)}
            # other partners asked at the same time may still answer
            return {name: due for name, due in self.deadlines.items()
                    if name.startswith(("partner_reminder:", "partner_response:"))}
        return {}

    def _main_due(self) -> datetime | None:
        state = self.state
        if state == "awaiting_partner":
            dues = [due for name, due in self.deadlines.items() if name.startswith("partner_response:")]
            return min(dues) if dues else None
        if state == "in_progress" and self.v2:
            dues = [due for name, due in self.deadlines.items()
                    if name.startswith("feedback:") or name == "closure"]
            return min(dues) if dues else None
        main = {"draft": "draft", "awaiting_school_efforts": "school_efforts", "triage": "triage",
                "matching": "matching", "in_progress": "feedback"}.get(state)
        if main == "triage" and "information" in self.deadlines:
            main = "information"
        return self.deadlines.get(main) if main else None

    def _task_view(self) -> dict:
        due = self._main_due()
        return {"state": self.state, "due_at": due.isoformat() if due else None,
                "deadlines": {n: d.isoformat() for n, d in sorted(self.deadlines.items())},
                "overdue": {n: d.isoformat() for n, d in sorted(self.overdue.items())},
                "attention": [dict(a) for a in self.attention]}

    def _engagement_changed(self, engagement: Engagement) -> None:
        """v2: queue `engagement_changed` (matching's capacity and exclusions, reporting)."""
        if not self.v2:
            return
        status = {"proposed": "proposed", "accepted": "accepted",
                  "declined": "declined"}.get(engagement.status, "ended")
        i = self.input
        at = workflow.now().isoformat()
        self.outbox.append(WorkflowEvent(
            event_type=ENGAGEMENT_CHANGED,
            message_id=f"{workflow.info().workflow_id}:engagement:{engagement.offer_id}:{status}",
            correlation_id=i.correlation_id, network=i.network, referral_ref=i.ref, occurred_at=at,
            payload={"referral_id": i.referral_id, "ref": i.ref, "network": i.network,
                     "organisation_id": engagement.organisation_id or "",
                     "offer_id": engagement.offer_id, "status": status,
                     "reason_code": engagement.reason if status == "declined" else None,
                     "end_outcome": engagement.end_outcome, "at": at}))

    async def _publish_view(self) -> None:
        """v2: publish the queued engagement events, then tell the read model when deadlines or
        attention changed without a move."""
        if not self.v2:
            return
        while self.outbox:
            await workflow.execute_activity("publish_workflow_event", self.outbox.pop(0),
                                            **BOUNDARY_OPTIONS)
        view = self._task_view()
        if view == self.published_view:
            return
        self.revision += 1
        self.published_view = view
        i = self.input
        at = workflow.now().isoformat()
        event = WorkflowEvent(
            event_type=REFERRAL_TASK_UPDATED,
            message_id=f"{workflow.info().workflow_id}:r{self.revision}",
            correlation_id=i.correlation_id, network=i.network, referral_ref=i.ref, occurred_at=at,
            payload={"referral_id": i.referral_id, "ref": i.ref, "network": i.network,
                     "urgency": i.urgency, "categories": list(i.categories), "at": at,
                     "revision": self.revision, "fhir_status": FHIR_TASK_STATUS[self.state],
                     **view})
        await workflow.execute_activity("publish_workflow_event", event, **BOUNDARY_OPTIONS)

    async def _enter(self, state: str) -> None:
        i = self.input
        if state == "awaiting_school_efforts":
            if self.v2:
                self.school_token = str(workflow.uuid4())
            self._mail_contact("school_efforts_request", "school_efforts_request",
                               "school_or_reporter", i.reporter_lang, {"ref": i.ref},
                               link=("confirm_url", self._school_path()))
        elif state == "matching":
            await self._rank()
        elif state == "closed" and self.v2:
            self._closure_mails()
        elif state == "closed":
            self._mail_contact("reporter_closed", "reporter_closed", "reporter", i.reporter_lang,
                               {"ref": i.ref, "outcome": self.outcome or "", "state": state})
        elif state == "redirected" and self.redirected_to:
            self._mail_contact("reporter_redirected", "reporter_redirected", "reporter",
                               i.reporter_lang, {"ref": i.ref, "to_service": self.redirected_to,
                                                 "reason": self.outcome or ""})
        elif state in ("rejected", "redirected") or (self.v2 and state in ("withdrawn", "merged")):
            self._mail_contact(f"reporter_{state}", "reporter_closed", "reporter", i.reporter_lang,
                               {"ref": i.ref, "outcome": self.outcome or "", "state": state})

    def _closure_mails(self) -> None:
        """The reporter and the school hear the outcome (the school once when it reported)."""
        i = self.input
        context = {"ref": i.ref, "re_engaged": self.closure["re_engaged"],
                   "what_was_done": self.closure["what_was_done"]}
        self._mail_contact("reporter_closed", "closure_feedback", "reporter", i.reporter_lang, context)
        # by role, intake answers "no address" when the school is the reporter
        if self.by_role or (i.school_email and i.school_email.strip().lower() != i.reporter_email.strip().lower()):
            self._mail_contact("school_closed", "closure_feedback", "school_other_than_reporter", "nl", context)

    async def _rank(self) -> None:
        i = self.input
        excluded = []
        if self.v2:   # an organisation that declined or stayed silent is not proposed again
            excluded = sorted({e.organisation_id for e in self.engagements
                               if e.status in ("declined", "expired") and e.organisation_id})
        request = {"network": i.network, "categories": list(i.categories), "postcode": i.postcode,
                   "age": i.age, "school_level": i.school_level, "languages": list(i.languages),
                   "urgency": i.urgency, "exclude_organisation_ids": excluded}
        if self.v2:   # matching leaves out organisations already engaged with this person/family
            request.update(referral_id=i.referral_id, person_key=i.person_key,
                           household_key=i.household_key, neighbourhood=i.neighbourhood)
        self.candidates = list(await workflow.execute_activity("rank_offers", request,
                                                               **BOUNDARY_OPTIONS) or [])
        if not self.candidates:
            self._escalate("no offer matches this referral (gap)")

    # ---------------------------------------------------------------- deadlines

    def _mark_overdue(self, name: str, due: datetime | None) -> None:
        if self.v2 and due is not None:
            self.overdue[name] = due

    async def _fire(self, name: str) -> None:
        due = self.deadlines.pop(name, None)
        i = self.input
        if name == "school_efforts_reminder":
            self._mail_contact("school_efforts_reminder", "school_efforts_request",
                               "school_or_reporter", i.reporter_lang,
                               {"ref": i.ref, "reminder": True},
                               link=("confirm_url", self._school_path()))
        elif name == "school_efforts":
            reason = "school efforts not confirmed"
            await self._transition("triage", SYSTEM, reason)
            self._escalate(reason)
        elif name in ("draft", "triage", "matching", "information", "closure"):
            self._mark_overdue(name, due)
            self._escalate({"draft": "draft not completed in time",
                            "triage": "triage deadline passed",
                            "matching": "no partner chosen in time",
                            "information": "the reporter did not answer the question in time",
                            "closure": "every partner reported the end; close the referral"}[name],
                           kind=None if name in ("triage", "matching") else name)
        elif name.startswith("partner_reminder:"):
            engagement = self._engagement_for_offer(name.split(":", 1)[1])
            if engagement and engagement.status == "proposed":
                self._mail(f"partner_reminder:{engagement.token}", "partner_reminder",
                           engagement.contact_email, "nl",
                           {"ref": i.ref, "offer_name": engagement.offer_name},
                           link=("accept_url", self._engagement_path(engagement)))
        elif name.startswith("partner_response:"):
            engagement = self._engagement_for_offer(name.split(":", 1)[1])
            if engagement and engagement.status == "proposed":
                engagement.status = "expired"
                engagement.reason = "no answer in time"
                self._engagement_changed(engagement)
                await self._engage_next("no partner answered in time")
        elif name == "feedback":          # v1: one feedback timer for the referral
            self.feedback_reminders += 1
            engagement = self._accepted_engagement()
            if engagement is not None:
                self._mail(f"feedback_reminder:{self.feedback_reminders}", "partner_reminder",
                           engagement.contact_email, "nl",
                           {"ref": i.ref, "offer_name": engagement.offer_name, "kind": "feedback"},
                           link=("accept_url", self._engagement_path(engagement)))
            self.deadlines["feedback"] = self._due(self.config.feedback_interval)
        elif name.startswith("task:"):       # a case conference's action is due
            task = self._task(name.split(":", 1)[1])
            if task is not None and task["status"] == "open":
                self._mark_overdue(name, due)
                self._escalate(f"task overdue: {task['text'][:200]} ({task['owner']})", kind=name)
        elif name.startswith("feedback:"):   # v2: one per accepted engagement
            engagement = self._engagement_for_offer(name.split(":", 1)[1])
            if engagement is not None and engagement.status == "accepted":
                self.feedback_reminders += 1
                self._mail(f"feedback_reminder:{engagement.token}:{self.feedback_reminders}",
                           "feedback_reminder", engagement.contact_email, "nl",
                           {"ref": i.ref, "offer_name": engagement.offer_name},
                           link=("feedback_url", self._engagement_path(engagement)))
                self._mark_overdue(name, due)
                self.deadlines[name] = self._due(self.config.feedback_interval)
        else:
            raise ApplicationError(f"unknown deadline {name!r}", non_retryable=True)

    # ---------------------------------------------------------------- engagements

    def _school_path(self) -> str:
        if self.school_token:   # v2: the school's own link page in the portal
            return f"/school-efforts/{self.input.referral_id}/{self.school_token}"
        return f"/referrals/{self.input.referral_id}/school-efforts"

    def _engagement_path(self, engagement: Engagement) -> str:
        return f"/engagements/{self.input.referral_id}/{engagement.token}"

    def _engagement_for_offer(self, offer_id: str) -> Engagement | None:
        for engagement in reversed(self.engagements):
            if engagement.offer_id == offer_id:
                return engagement
        return None

    def _engagement_for_token(self, token) -> Engagement | None:
        return next((e for e in self.engagements if e.token == token), None)

    def _accepted_engagement(self) -> Engagement | None:
        return next((e for e in self.engagements if e.status == "accepted"), None)

    def _engage(self, candidate: dict) -> None:
        engagement = Engagement(
            token=str(workflow.uuid4()), offer_id=str(candidate["offer_id"]),
            offer_name=candidate.get("offer_name") or "",
            organisation_id=candidate.get("organisation_id"),
            organisation_name=candidate.get("organisation_name") or "",
            contact_email=candidate.get("contact_email"), engaged_at=workflow.now().isoformat())
        self.engagements.append(engagement)
        self._engagement_changed(engagement)
        if engagement.offer_id not in self.tried_offer_ids:
            self.tried_offer_ids.append(engagement.offer_id)
        self.deadlines[f"partner_reminder:{engagement.offer_id}"] = self._due(self.config.partner_reminder)
        self.deadlines[f"partner_response:{engagement.offer_id}"] = self._due(self.config.partner_response)
        self._mail(f"partner_engagement:{engagement.token}", "partner_engagement",
                   engagement.contact_email, "nl", self._decision_facts(engagement),
                   link=("accept_url", self._engagement_path(engagement)))

    def _decision_facts(self, engagement: Engagement) -> dict:
        """What a partner needs to decide, and no more: no name, no exact age, no address.
        Codes (categories, level, urgency, languages) become words in the mail's language."""
        i = self.input
        due = self.deadlines.get(f"partner_response:{engagement.offer_id}")
        return {"ref": i.ref, "offer_name": engagement.offer_name, "categories": list(i.categories),
                "age_band": age_band(i.age), "school_level": i.school_level or "",
                "urgency": i.urgency, "languages": list(i.languages),
                "area": i.neighbourhood or i.postcode or "",
                "answer_by": due.astimezone(BRUSSELS).date().isoformat() if due else ""}

    def _drop_engagement_deadlines(self, offer_id: str) -> None:
        for prefix in ("partner_reminder", "partner_response", "feedback"):
            self.deadlines.pop(f"{prefix}:{offer_id}", None)
            self.overdue.pop(f"{prefix}:{offer_id}", None)

    async def _engage_next(self, reason: str) -> None:
        """After a decline or a silence: engage the next candidate not yet tried; with none
        left and nobody still answering, go back to matching and escalate."""
        for candidate in self.candidates:
            if str(candidate.get("offer_id")) not in self.tried_offer_ids:
                self._engage(candidate)
                return
        if any(e.status == "proposed" for e in self.engagements):
            return
        if self.state == "in_progress":   # v2: another partner already works on it
            self._escalate(f"{reason}; no candidate left", kind="candidates")
            return
        await self._transition("matching", SYSTEM, f"{reason}; no candidate left")
        self._escalate(f"{reason}; no candidate left")

    def _accept_direct(self, offer: dict) -> None:
        engagement = Engagement(
            token=str(workflow.uuid4()), offer_id=str(offer.get("offer_id") or "direct"),
            offer_name=offer.get("offer_name") or "", organisation_id=offer.get("organisation_id"),
            organisation_name=offer.get("organisation_name") or "",
            contact_email=offer.get("contact_email"), status="accepted",
            engaged_at=workflow.now().isoformat(), accepted_at=workflow.now().isoformat())
        self.engagements.append(engagement)
        self.tried_offer_ids.append(engagement.offer_id)
        self._engagement_changed(engagement)
        self._start_feedback(engagement)

    def _start_feedback(self, engagement: Engagement) -> None:
        self.deadlines[f"feedback:{engagement.offer_id}"] = self._due(self.config.first_feedback)

    def _check_all_ended(self) -> None:
        """v2: when no partner works on the referral any more, the coordinator closes it."""
        active = [e for e in self.engagements if e.status in ("proposed", "accepted")]
        if not active and any(e.status == "completed" for e in self.engagements):
            self.deadlines["closure"] = self._due(self.config.closure)
            self._attend("ready_to_close", "every partner reported the end")

    # ---------------------------------------------------------------- mail and attention

    def _mail(self, purpose: str, template: str, to: str | None, lang: str, context: dict,
              *, link: tuple[str, str] | None = None, recipient: str | None = None) -> None:
        request = EmailRequest(
            workflow_id=workflow.info().workflow_id, purpose=purpose, template=template, to=to,
            lang=lang, context=context, network=self.input.network, referral_ref=self.input.ref,
            correlation_id=self.input.correlation_id,
            link_field=link[0] if link else None, link_path=link[1] if link else None,
            recipient=recipient)
        self.mail_tasks.append(asyncio.create_task(self._send(request)))

    def _mail_contact(self, purpose: str, template: str, role: str, lang: str, context: dict,
                      *, link: tuple[str, str] | None = None) -> None:
        """A mail to the reporter or the school (`role`: contracts.CONTACT_ROLES). A run from
        before CONTACTS_AT_SEND_TIME addresses it from its input; newer runs hold no address."""
        if self.by_role:
            self._mail(purpose, template, None, lang, context, link=link, recipient=role)
            return
        i = self.input
        to = {"reporter": i.reporter_email, "school_or_reporter": i.school_email or i.reporter_email,
              "school_other_than_reporter": i.school_email}[role]
        self._mail(purpose, template, to, lang, context, link=link)

    async def _send(self, request: EmailRequest) -> None:
        try:
            await workflow.execute_activity("send_email", request, **EMAIL_OPTIONS)
        except ActivityError as exc:
            # a refused request (bad address...) must not stop the referral; it is logged
            workflow.logger.warning("e-mail not sent", extra={"purpose": request.purpose,
                                                              "error": str(exc.cause or exc)})

    def _attend(self, kind: str, reason: str) -> None:
        if self.v2:
            self.attention.append({"kind": kind, "reason": reason, "at": workflow.now().isoformat()})

    def _escalate(self, reason: str, kind: str | None = None) -> None:
        """A coordinator task: an e-mail to the coordinator and a mark in the inbox.
        Once per state entry and kind (v1: once per state entry)."""
        if not self.v2:
            if self.escalated_entry == self.sequence:
                return
            self.escalated_entry = self.sequence
        else:
            key = f"{self.sequence}:{kind or 'deadline'}"
            if key in self.escalations:
                return
            self.escalations.add(key)
        self._attend("escalation" if kind is None or kind in ("draft", "information", "candidates")
                     else kind, reason)
        purpose = f"escalation:{self.state}:{self.sequence}" + (f":{kind}" if kind else "")
        self._mail(purpose, "coordinator_escalation", self.input.coordinator_email, "nl",
                   {"ref": self.input.ref, "state": self.state, "reason": reason})

    def _record(self, action: str, by: str, details: str) -> None:
        self.log.append({"action": action, "by": by, "at": workflow.now().isoformat(),
                         "details": details})

    # ---------------------------------------------------------------- actions

    def _validate(self, action: str, args: Any) -> dict:
        """Parse and check one action against the current state; InvalidAction says why not."""
        if self.state is None:
            raise InvalidAction("the referral is still starting; try again")
        if action in TASK_ACTIONS:
            if is_final(self.state):
                raise InvalidAction(f"{action} is not allowed in state {self.state!r} (allowed: none)")
            return getattr(self, f"_args_{action}")(args)
        if action not in allowed_actions(self.state):
            raise InvalidAction(f"{action} is not allowed in state {self.state!r}"
                                f" (allowed: {', '.join(allowed_actions(self.state)) or 'none'})")
        check = getattr(self, f"_args_{action}", None)
        if check is None:
            raise InvalidAction(f"unknown action {action!r}")
        return check(args)

    def _args_complete_draft(self, args) -> dict:
        args = _known_keys(args, "complete_draft", ("by", "school_efforts_done", "summary", "facts"))
        if not isinstance(args.get("school_efforts_done"), bool):
            raise InvalidAction("school_efforts_done must be true or false")
        facts = args.get("facts") or {}
        if not isinstance(facts, dict):
            raise InvalidAction("facts must be an object")
        unknown = sorted(set(facts) - set(DRAFT_FACTS))
        if unknown:
            raise InvalidAction(f"facts does not take {', '.join(unknown)}")
        for key, kind in DRAFT_FACTS.items():
            value = facts.get(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                raise InvalidAction(f"facts.{key} must be a {kind.__name__}")
        if facts.get("urgency") not in (None, "normal", "urgent"):
            raise InvalidAction("facts.urgency must be normal or urgent")
        if not (facts.get("categories") or self.input.categories):
            raise InvalidAction("a completed referral names at least one concern category")
        return {"by": _text(args, "by"), "school_efforts_done": args["school_efforts_done"],
                "summary": _text(args, "summary", required=False), "facts": dict(facts)}

    def _args_confirm_school_efforts(self, args) -> dict:
        args = _known_keys(args, "confirm_school_efforts", ("by", "summary", "token"))
        if args.get("token") is not None and args["token"] != self.school_token:
            raise InvalidAction("unknown school link token")
        return {"by": _text(args, "by"), "summary": _text(args, "summary")}

    def _args_triage(self, args) -> dict:
        args = _known_keys(args, "triage", ("by", "decision", "reason"))
        decision = args.get("decision")
        if decision not in TRIAGE_DECISIONS:
            raise InvalidAction(f"unknown decision {decision!r}; choose one of "
                                + ", ".join(TRIAGE_DECISIONS))
        if decision == "accept" and self._open_question() is not None:
            raise InvalidAction("a question to the reporter is still open; wait for the answer "
                                "or extend its deadline")
        reason = _text(args, "reason", required=decision != "accept") or "accepted"
        return {"by": _text(args, "by"), "decision": decision, "reason": reason}

    def _open_question(self) -> dict | None:
        return next((q for q in self.questions if q.get("answered_at") is None), None)

    def _args_ask_information(self, args) -> dict:
        args = _known_keys(args, "ask_information", ("by", "question"))
        if self._open_question() is not None:
            raise InvalidAction("a question to the reporter is already waiting for an answer")
        return {"by": _text(args, "by"), "question": _text(args, "question")}

    def _args_answer_information(self, args) -> dict:
        args = _known_keys(args, "answer_information", ("by", "answer", "token", "channel"))
        question = self._open_question()
        if question is None:
            raise InvalidAction("no question is waiting for an answer")
        token = args.get("token")
        if token is not None and token != question["token"]:
            raise InvalidAction("unknown question token")
        channel = args.get("channel", "link")
        if channel not in ("link", "email"):
            raise InvalidAction("channel must be link or email")
        return {"by": _text(args, "by"), "answer": _text(args, "answer"), "channel": channel}

    def _args_redirect(self, args) -> dict:
        args = _known_keys(args, "redirect", ("by", "to_service", "reason"))
        return {"by": _text(args, "by"), "to_service": _text(args, "to_service"),
                "reason": _text(args, "reason")}

    def _args_mark_duplicate(self, args) -> dict:
        args = _known_keys(args, "mark_duplicate", ("by", "target_referral_id", "reason"))
        target = _text(args, "target_referral_id")
        if target == self.input.referral_id:
            raise InvalidAction("a referral cannot be merged into itself")
        return {"by": _text(args, "by"), "target_referral_id": target,
                "reason": _text(args, "reason", required=False) or "duplicate"}

    def _args_choose_partner(self, args) -> dict:
        args = _known_keys(args, "choose_partner", ("by", "offer_ids"))
        offer_ids = args.get("offer_ids")
        if (not isinstance(offer_ids, list) or not offer_ids
                or not all(isinstance(o, str) and o for o in offer_ids)):
            raise InvalidAction("offer_ids must be a non-empty list of offer ids")
        if len(set(offer_ids)) != len(offer_ids):
            raise InvalidAction("offer_ids names an offer twice")
        known = {str(c.get("offer_id")) for c in self.candidates}
        unknown = [o for o in offer_ids if o not in known]
        if unknown:
            raise InvalidAction(f"offer {', '.join(unknown)} is not among the ranked candidates")
        busy = [e.offer_id for e in self.engagements
                if e.offer_id in offer_ids and e.status in ("proposed", "accepted")]
        if busy:
            raise InvalidAction(f"offer {', '.join(busy)} is already engaged on this referral")
        return {"by": _text(args, "by"), "offer_ids": list(offer_ids)}

    def _args_partner_respond(self, args) -> dict:
        args = _known_keys(args, "partner_respond", ("token", "accept", "by", "reason", "note"))
        engagement = self._engagement_for_token(args.get("token"))
        if engagement is None:
            raise InvalidAction("unknown engagement token")
        if engagement.status != "proposed":
            raise InvalidAction(f"this engagement is already {engagement.status}")
        if not isinstance(args.get("accept"), bool):
            raise InvalidAction("accept must be true or false")
        note = _text(args, "note", required=False)
        if args["accept"]:
            reason = _text(args, "reason", required=False)
        elif self.v2:
            reason = _code(args, "reason", DECLINE_REASONS)
            if reason == "other" and not note:
                raise InvalidAction("note must say why when the reason is other")
        else:
            reason = _text(args, "reason")
        return {"token": engagement.token, "accept": args["accept"], "by": _text(args, "by"),
                "reason": reason, "note": note}

    def _accepted_for(self, args, action: str) -> Engagement:
        engagement = self._engagement_for_token(args.get("token"))
        if engagement is None or engagement.status != "accepted":
            raise InvalidAction(f"unknown engagement token: only an engaged partner can {action}")
        return engagement

    def _args_submit_feedback(self, args) -> dict:
        args = _known_keys(args, "submit_feedback", ("token", "by", "text"))
        engagement = self._accepted_for(args, "give feedback")
        return {"token": engagement.token, "by": _text(args, "by"), "text": _text(args, "text")}

    def _args_ask_help(self, args) -> dict:
        args = _known_keys(args, "ask_help", ("token", "by", "text"))
        engagement = self._accepted_for(args, "ask for help")
        return {"token": engagement.token, "by": _text(args, "by"), "text": _text(args, "text")}

    def _args_report_end(self, args) -> dict:
        args = _known_keys(args, "report_end", ("token", "by", "outcome", "text"))
        engagement = self._accepted_for(args, "report the end")
        return {"token": engagement.token, "by": _text(args, "by"),
                "outcome": _code(args, "outcome", END_OUTCOMES), "text": _text(args, "text")}

    def _args_extend_deadline(self, args) -> dict:
        args = _known_keys(args, "extend_deadline", ("by", "deadline", "working_days", "reason"))
        name = args.get("deadline")
        known = sorted(set(self.deadlines) | set(self.overdue))
        if name not in known:
            raise InvalidAction(f"unknown deadline {name!r}; running deadlines: "
                                f"{', '.join(known) or 'none'}")
        days = args.get("working_days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_EXTENSION:
            raise InvalidAction(f"working_days must be a whole number from 1 to {MAX_EXTENSION}")
        return {"by": _text(args, "by"), "deadline": name, "working_days": days,
                "reason": _text(args, "reason")}

    def _args_acknowledge(self, args) -> dict:
        args = _known_keys(args, "acknowledge", ("by", "note"))
        if not self.attention:
            raise InvalidAction("nothing is waiting for the coordinator's attention")
        return {"by": _text(args, "by"), "note": _text(args, "note", required=False) or "seen"}

    def _args_withdraw(self, args) -> dict:
        args = _known_keys(args, "withdraw", ("by", "reason"))
        return {"by": _text(args, "by"), "reason": _text(args, "reason")}

    def _args_close(self, args) -> dict:
        if not self.v2 and isinstance(args, dict) and "outcome" in args:   # v1 runs: free text
            args = _known_keys(args, "close", ("by", "outcome", "reason"))
            return {"by": _text(args, "by"), "outcome": _text(args, "outcome"),
                    "reason": _text(args, "reason", required=False) or "closed"}
        args = _known_keys(args, "close", ("by", "re_engaged", "what_was_done", "reason"))
        return {"by": _text(args, "by"), "re_engaged": _code(args, "re_engaged", RE_ENGAGED),
                "what_was_done": _text(args, "what_was_done"),
                "reason": _text(args, "reason", required=False) or "closed"}

    # ---------------------------------------------------------------- tasks (case conference)

    def _task(self, task_id: str) -> dict | None:
        return next((t for t in self.tasks if t["id"] == task_id), None)

    def _task_deadlines(self) -> dict[str, datetime]:
        return {f"task:{t['id']}": datetime.fromisoformat(t["due_at"])
                for t in self.tasks if t["status"] == "open"}

    def _args_add_tasks(self, args) -> dict:
        args = _known_keys(args, "add_tasks", ("by", "tasks", "source"))
        tasks = args.get("tasks")
        if not isinstance(tasks, list) or not tasks:
            raise InvalidAction("tasks must be a non-empty list")
        if len(self.tasks) + len(tasks) > MAX_TASKS:
            raise InvalidAction(f"a referral holds at most {MAX_TASKS} tasks")
        clean, ids = [], set()
        for task in tasks:
            task = _known_keys(task, "a task", ("id", "text", "owner", "due", "source"))
            task_id = _text(task, "id")
            if len(task_id) > 64 or task_id in ids:
                raise InvalidAction("every task needs its own id of at most 64 characters")
            ids.add(task_id)
            due = task.get("due")
            try:
                day = datetime.fromisoformat(str(due)).date()
            except ValueError:
                raise InvalidAction(f"due must be a date (YYYY-MM-DD), not {due!r}") from None
            if day < workflow.now().date():
                raise InvalidAction(f"task {task_id} is due in the past ({day.isoformat()})")
            clean.append({"id": task_id, "text": _text(task, "text"), "owner": _text(task, "owner"),
                          "due": day.isoformat(),
                          "source": _text(task, "source", required=False) or _text(args, "source", required=False)})
        return {"by": _text(args, "by"), "tasks": clean,
                "source": _text(args, "source", required=False)}

    def _args_complete_task(self, args) -> dict:
        args = _known_keys(args, "complete_task", ("by", "task_id", "note"))
        task = self._task(args.get("task_id"))
        if task is None:
            raise InvalidAction(f"unknown task {args.get('task_id')!r}")
        if task["status"] != "open":
            raise InvalidAction(f"task {task['id']} is already {task['status']}")
        return {"by": _text(args, "by"), "task_id": task["id"],
                "note": _text(args, "note", required=False)}

    async def _do_add_tasks(self, args) -> None:
        if not workflow.patched(CASE_CONFERENCE):
            raise InvalidAction("this referral's workflow predates tasks; add them by hand")
        added = 0
        for task in args["tasks"]:
            if self._task(task["id"]) is not None:     # the same conference sent twice
                continue
            day = datetime.fromisoformat(task["due"])
            # due at the end of that working day: 17:00 in Brussels (summer or winter time)
            due_at = datetime(day.year, day.month, day.day, 17, 0, tzinfo=BRUSSELS).astimezone(timezone.utc)
            self.tasks.append({**task, "status": "open", "due_at": due_at.isoformat(),
                               "added_by": args["by"], "added_at": workflow.now().isoformat(),
                               "done_by": None, "done_at": None, "note": None})
            self.deadlines[f"task:{task['id']}"] = due_at
            added += 1
        self._record("add_tasks", args["by"], f"{added} task(s) added"
                     + (f" from {args['source']}" if args["source"] else ""))

    async def _do_complete_task(self, args) -> None:
        task = self._task(args["task_id"])
        task.update(status="done", done_by=args["by"], done_at=workflow.now().isoformat(),
                    note=args["note"])
        self.deadlines.pop(f"task:{task['id']}", None)
        self.overdue.pop(f"task:{task['id']}", None)
        self.attention = [a for a in self.attention if a["kind"] != f"task:{task['id']}"]
        self._record("complete_task", args["by"], f"task {task['id']} done")

    async def _handle(self, command: Command) -> dict:
        if command.action == "duplicate_linked":       # internal: a signal from a duplicate
            info = command.args
            self.linked_duplicates.append(info)
            self._record("duplicate_linked", info.get("by") or SYSTEM,
                         f"referral {info.get('ref')} was merged into this one")
            self._attend("duplicate_linked", f"referral {info.get('ref')} was merged into this one")
            return self.snapshot()
        args = self._validate(command.action, command.args)   # the state may have moved since
        await getattr(self, f"_do_{command.action}")(args)
        return self.snapshot()

    async def _do_complete_draft(self, args) -> None:
        for key, value in args["facts"].items():   # what the e-mail could not tell
            setattr(self.input, key, list(value) if isinstance(value, list) else value)
        if args["summary"]:
            self.school_efforts = {"by": args["by"], "at": workflow.now().isoformat(),
                                   "summary": args["summary"]}
        await self._transition("triage" if args["school_efforts_done"] else "awaiting_school_efforts",
                               args["by"], "draft completed")

    async def _do_confirm_school_efforts(self, args) -> None:
        self.school_efforts = {"by": args["by"], "at": workflow.now().isoformat(),
                               "summary": args["summary"]}
        await self._transition("triage", args["by"], "school efforts confirmed")

    async def _do_triage(self, args) -> None:
        if args["decision"] != "accept":
            self.outcome = args["reason"]
        await self._transition(TRIAGE_DECISIONS[args["decision"]], args["by"], args["reason"])

    async def _do_ask_information(self, args) -> None:
        i = self.input
        token = str(workflow.uuid4())
        self.questions.append({"token": token, "question": args["question"], "asked_by": args["by"],
                               "asked_at": workflow.now().isoformat(), "answer": None,
                               "answered_by": None, "answered_at": None, "channel": None})
        self.deadlines.pop("triage", None)
        self.overdue.pop("triage", None)
        self.deadlines["information"] = self._due(self.config.information)
        self._record("ask_information", args["by"], "question sent to the reporter")
        self._mail_contact(f"information_request:{len(self.questions)}", "information_request",
                           "reporter", i.reporter_lang, {"ref": i.ref, "question": args["question"]},
                           link=("answer_url", f"/information/{i.referral_id}/{token}"))

    async def _do_answer_information(self, args) -> None:
        question = self._open_question()
        question.update(answer=args["answer"], answered_by=args["by"],
                        answered_at=workflow.now().isoformat(), channel=args["channel"])
        self.deadlines.pop("information", None)
        self.overdue.pop("information", None)
        self.deadlines["triage"] = self._due(self.config.triage)
        self._record("answer_information", args["by"], f"answer received by {args['channel']}")
        self._attend("information_answered", "the reporter answered the question")

    async def _do_redirect(self, args) -> None:
        self.redirected_to = args["to_service"]
        self.outcome = args["reason"]
        await self._transition("redirected", args["by"],
                               f"redirected to {args['to_service']}: {args['reason']}")

    async def _do_mark_duplicate(self, args) -> None:
        target = args["target_referral_id"]
        self.merged_into = target
        self.outcome = args["reason"]
        await self._transition("merged", args["by"], f"merged into {target}: {args['reason']}")
        try:
            await workflow.get_external_workflow_handle(workflow_id(target)).signal(
                "duplicate_linked", {"referral_id": self.input.referral_id, "ref": self.input.ref,
                                     "by": args["by"], "reason": args["reason"]})
        except Exception as exc:   # the target ended meanwhile: the merge itself stands
            workflow.logger.warning("duplicate link not delivered", extra={"error": str(exc)})

    async def _do_choose_partner(self, args) -> None:
        chosen = [c for o in args["offer_ids"] for c in self.candidates
                  if str(c.get("offer_id")) == o]

        def engage_all():
            for candidate in chosen:
                self._engage(candidate)

        if self.state == "in_progress":   # one more partner beside the one(s) at work
            engage_all()
            self._record("choose_partner", args["by"], f"partner added: {', '.join(args['offer_ids'])}")
            return
        await self._transition("awaiting_partner", args["by"],
                               f"partner chosen: {', '.join(args['offer_ids'])}", engage_all)

    async def _do_partner_respond(self, args) -> None:
        engagement = self._engagement_for_token(args["token"])
        if args["accept"] and workflow.patched(RESERVE_PLACE):
            reserved = await workflow.execute_activity(
                "reserve_place", {"network": self.input.network, "offer_id": engagement.offer_id,
                                  "referral_id": self.input.referral_id}, **BOUNDARY_OPTIONS)
            if not reserved.get("reserved"):     # full: the partner cannot accept (no overbooking)
                raise InvalidAction(f"{engagement.offer_name or engagement.offer_id} has no free place "
                                    f"left: {reserved.get('reason')}; decline with reason no_capacity")
        self._drop_engagement_deadlines(engagement.offer_id)
        if args["accept"]:
            engagement.status = "accepted"
            engagement.accepted_at = workflow.now().isoformat()
            self._engagement_changed(engagement)
            if not self.v2:   # v1: the first partner to accept takes the referral alone
                for other in self.engagements:
                    if other.status == "proposed":
                        other.status = "withdrawn"
                        other.reason = "another partner accepted"
            if self.state == "awaiting_partner":
                await self._transition("in_progress", args["by"],
                                       f"partner accepted: {engagement.offer_id}",
                                       (lambda: self._start_feedback(engagement)) if self.v2 else None)
            else:
                self._start_feedback(engagement)
                self._record("partner_respond", args["by"], f"partner accepted: {engagement.offer_id}")
        else:
            engagement.status = "declined"
            engagement.reason = args["reason"]
            engagement.note = args["note"]
            self._engagement_changed(engagement)
            if self.v2:
                self._record("partner_respond", args["by"],
                             f"partner declined: {engagement.offer_id} ({args['reason']})")
            await self._engage_next(f"partner declined: {engagement.offer_id}")

    async def _do_submit_feedback(self, args) -> None:
        engagement = self._engagement_for_token(args["token"])
        self.feedback.append({"by": args["by"], "at": workflow.now().isoformat(),
                              "text": args["text"], "offer_id": engagement.offer_id})
        if self.v2:
            self.deadlines[f"feedback:{engagement.offer_id}"] = self._due(self.config.feedback_interval)
            self.overdue.pop(f"feedback:{engagement.offer_id}", None)
        else:
            self.deadlines["feedback"] = self._due(self.config.feedback_interval)

    async def _do_ask_help(self, args) -> None:
        engagement = self._engagement_for_token(args["token"])
        self.help_requests += 1
        self.feedback.append({"by": args["by"], "at": workflow.now().isoformat(),
                              "text": args["text"], "offer_id": engagement.offer_id, "kind": "help"})
        self._record("ask_help", args["by"], f"{engagement.organisation_name} asks for help")
        self._escalate(f"{engagement.organisation_name} asks the coordinator for help",
                       kind=f"help_requested:{self.help_requests}")

    async def _do_report_end(self, args) -> None:
        engagement = self._engagement_for_token(args["token"])
        engagement.status = "completed"
        engagement.end_outcome = args["outcome"]
        engagement.ended_at = workflow.now().isoformat()
        self._engagement_changed(engagement)
        self._drop_engagement_deadlines(engagement.offer_id)
        self.feedback.append({"by": args["by"], "at": engagement.ended_at, "text": args["text"],
                              "offer_id": engagement.offer_id, "kind": "end",
                              "outcome": args["outcome"]})
        self._record("report_end", args["by"], f"{engagement.offer_id} ended: {args['outcome']}")
        self._check_all_ended()

    async def _do_extend_deadline(self, args) -> None:
        name = args["deadline"]
        current = self.deadlines.get(name) or self.overdue.get(name)
        start = max(current, workflow.now())
        self.deadlines[name] = self._due(args["working_days"], start)
        self.overdue.pop(name, None)
        task = self._task(name.split(":", 1)[1]) if name.startswith("task:") else None
        if task is not None:        # a task's new due date outlives the next move
            task["due_at"] = self.deadlines[name].isoformat()
            task["due"] = self.deadlines[name].date().isoformat()
        self.attention = [a for a in self.attention if a["kind"] != "escalation"]
        self.escalations = {k for k in self.escalations if not k.startswith(f"{self.sequence}:")}
        self.escalated_entry = None
        self._record("extend_deadline", args["by"],
                     f"{name} +{args['working_days']} working days: {args['reason']}")

    async def _do_acknowledge(self, args) -> None:
        kinds = ", ".join(sorted({a["kind"] for a in self.attention}))
        self.attention = []
        self._record("acknowledge", args["by"], f"{kinds}: {args['note']}")

    async def _do_withdraw(self, args) -> None:
        self.outcome = args["reason"]
        for engagement in self.engagements:
            if engagement.status in ("proposed", "accepted"):
                engagement.status = "withdrawn"
                engagement.reason = "the referral was withdrawn"
                self._engagement_changed(engagement)
                self._mail(f"partner_withdrawn:{engagement.token}", "partner_withdrawn",
                           engagement.contact_email, "nl",
                           {"ref": self.input.ref, "offer_name": engagement.offer_name})
        await self._transition("withdrawn", args["by"], args["reason"])

    async def _do_close(self, args) -> None:
        if "outcome" in args:       # v1
            self.outcome = args["outcome"]
        else:
            self.closure = {"re_engaged": args["re_engaged"], "what_was_done": args["what_was_done"]}
            self.outcome = args["what_was_done"]
            for engagement in self.engagements:
                if engagement.status == "accepted":
                    engagement.status = "completed"
                    engagement.ended_at = workflow.now().isoformat()
                    self._engagement_changed(engagement)
                elif engagement.status == "proposed":
                    engagement.status = "withdrawn"
                    engagement.reason = "the referral was closed"
                    self._engagement_changed(engagement)
        await self._transition("closed", args["by"], args["reason"])

    async def _submit(self, action: str, args: dict) -> dict:
        self.command_count += 1
        command = Command(self.command_count, action, args)
        self.commands.append(command)
        await workflow.wait_condition(lambda: command.done)
        if command.error:
            raise ApplicationError(command.error, type="InvalidAction", non_retryable=True)
        return command.result

    # ---------------------------------------------------------------- signal

    @workflow.signal(name="duplicate_linked")
    def duplicate_linked(self, info: dict) -> None:
        """Another referral was merged into this one (sent by that referral's workflow)."""
        if is_final(self.state) or not isinstance(info, dict):
            return
        self.command_count += 1
        self.commands.append(Command(self.command_count, "duplicate_linked", info))

    # one update per action; each validator refuses (raises) before anything is recorded

    @workflow.update
    async def complete_draft(self, args: Any) -> dict:
        return await self._submit("complete_draft", args)

    @complete_draft.validator
    def _check_complete_draft(self, args: Any) -> None:
        self._validate("complete_draft", args)

    @workflow.update
    async def confirm_school_efforts(self, args: Any) -> dict:
        return await self._submit("confirm_school_efforts", args)

    @confirm_school_efforts.validator
    def _check_confirm_school_efforts(self, args: Any) -> None:
        self._validate("confirm_school_efforts", args)

    @workflow.update
    async def triage(self, args: Any) -> dict:
        return await self._submit("triage", args)

    @triage.validator
    def _check_triage(self, args: Any) -> None:
        self._validate("triage", args)

    @workflow.update
    async def ask_information(self, args: Any) -> dict:
        return await self._submit("ask_information", args)

    @ask_information.validator
    def _check_ask_information(self, args: Any) -> None:
        self._validate("ask_information", args)

    @workflow.update
    async def answer_information(self, args: Any) -> dict:
        return await self._submit("answer_information", args)

    @answer_information.validator
    def _check_answer_information(self, args: Any) -> None:
        self._validate("answer_information", args)

    @workflow.update
    async def redirect(self, args: Any) -> dict:
        return await self._submit("redirect", args)

    @redirect.validator
    def _check_redirect(self, args: Any) -> None:
        self._validate("redirect", args)

    @workflow.update
    async def mark_duplicate(self, args: Any) -> dict:
        return await self._submit("mark_duplicate", args)

    @mark_duplicate.validator
    def _check_mark_duplicate(self, args: Any) -> None:
        self._validate("mark_duplicate", args)

    @workflow.update
    async def choose_partner(self, args: Any) -> dict:
        return await self._submit("choose_partner", args)

    @choose_partner.validator
    def _check_choose_partner(self, args: Any) -> None:
        self._validate("choose_partner", args)

    @workflow.update
    async def partner_respond(self, args: Any) -> dict:
        return await self._submit("partner_respond", args)

    @partner_respond.validator
    def _check_partner_respond(self, args: Any) -> None:
        self._validate("partner_respond", args)

    @workflow.update
    async def submit_feedback(self, args: Any) -> dict:
        return await self._submit("submit_feedback", args)

    @submit_feedback.validator
    def _check_submit_feedback(self, args: Any) -> None:
        self._validate("submit_feedback", args)

    @workflow.update
    async def ask_help(self, args: Any) -> dict:
        return await self._submit("ask_help", args)

    @ask_help.validator
    def _check_ask_help(self, args: Any) -> None:
        self._validate("ask_help", args)

    @workflow.update
    async def report_end(self, args: Any) -> dict:
        return await self._submit("report_end", args)

    @report_end.validator
    def _check_report_end(self, args: Any) -> None:
        self._validate("report_end", args)

    @workflow.update
    async def extend_deadline(self, args: Any) -> dict:
        return await self._submit("extend_deadline", args)

    @extend_deadline.validator
    def _check_extend_deadline(self, args: Any) -> None:
        self._validate("extend_deadline", args)

    @workflow.update
    async def acknowledge(self, args: Any) -> dict:
        return await self._submit("acknowledge", args)

    @acknowledge.validator
    def _check_acknowledge(self, args: Any) -> None:
        self._validate("acknowledge", args)

    @workflow.update
    async def add_tasks(self, args: Any) -> dict:
        return await self._submit("add_tasks", args)

    @add_tasks.validator
    def _check_add_tasks(self, args: Any) -> None:
        self._validate("add_tasks", args)

    @workflow.update
    async def complete_task(self, args: Any) -> dict:
        return await self._submit("complete_task", args)

    @complete_task.validator
    def _check_complete_task(self, args: Any) -> None:
        self._validate("complete_task", args)

    @workflow.update
    async def withdraw(self, args: Any) -> dict:
        return await self._submit("withdraw", args)

    @withdraw.validator
    def _check_withdraw(self, args: Any) -> None:
        self._validate("withdraw", args)

    @workflow.update
    async def close(self, args: Any) -> dict:
        return await self._submit("close", args)

    @close.validator
    def _check_close(self, args: Any) -> None:
        self._validate("close", args)

    # ---------------------------------------------------------------- query

    @workflow.query
    def snapshot(self) -> dict:
        i = self.input
        return {
            "referral_id": i.referral_id, "ref": i.ref, "network": i.network,
            "urgency": i.urgency, "categories": list(i.categories),
            "state": self.state,
            "fhir_status": FHIR_TASK_STATUS.get(self.state) if self.state else None,
            "history": list(self.history),
            "log": list(self.log),
            "deadlines": {name: due.isoformat() for name, due in self.deadlines.items()},
            "overdue": {name: due.isoformat() for name, due in self.overdue.items()},
            "attention": [dict(a) for a in self.attention],
            "candidates": list(self.candidates),
            "engagements": [e.public() for e in self.engagements],
            "feedback": list(self.feedback),
            "questions": [{k: v for k, v in q.items() if k != "token"} for q in self.questions],
            "allowed_actions": allowed_actions(self.state),
            "outcome": self.outcome,
            "closure": self.closure,
            "school_efforts": self.school_efforts,
            "redirected_to": self.redirected_to,
            "merged_into": self.merged_into,
            "linked_duplicates": list(self.linked_duplicates),
            "possible_duplicates": list(i.possible_duplicates),
            "anonymised": self.anonymised,
            "tasks": [dict(t) for t in self.tasks],
            "version": 2 if self.v2 else 1,
        }

    @workflow.query
    def school_request(self, token: str) -> dict | None:
        """The school's open request behind its link, or None (the token is the key)."""
        if self.state != "awaiting_school_efforts" or not self.school_token or token != self.school_token:
            return None
        return {"question": "school_efforts", "asked_at": self.history[-1]["at"]}

    @workflow.query
    def open_question(self, token: str) -> dict | None:
        """The open question behind a reporter's link, or None (the token is the key)."""
        question = self._open_question()
        if question is None or not isinstance(token, str) or token != question["token"]:
            return None
        return {"question": question["question"], "asked_at": question["asked_at"]}
