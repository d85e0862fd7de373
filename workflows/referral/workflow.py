"""ReferralWorkflow: the lifecycle of one referral (DESIGN §4), one workflow per referral.

Deterministic: time from workflow.now(), tokens from workflow.uuid4(), every I/O in activities.
The main loop is the only writer of the state: updates are validated, queued as commands and
answered once the loop handled them, so a timer and an action never race.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.referral.shared import Deadlines, EmailRequest, ReferralInput, StateChange
    from workflows.referral.states import (
        FHIR_TASK_STATUS, TRIAGE_DECISIONS, InvalidTransition, allowed_actions,
        check_transition, is_final,
    )
    from workflows.working_days import add_working_days

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
    status: str = "proposed"          # proposed -> accepted | declined | expired | withdrawn
    engaged_at: str = ""
    reason: str | None = None

    def public(self) -> dict:
        return {"token": self.token, "offer_id": self.offer_id, "offer_name": self.offer_name,
                "organisation_name": self.organisation_name, "status": self.status}


def _text(args: dict, key: str, *, required: bool = True) -> str | None:
    value = args.get(key)
    if not required and (value is None or (isinstance(value, str) and not value.strip())):
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidAction(f"{key} must be a non-empty text")
    if len(value) > MAX_TEXT:
        raise InvalidAction(f"{key} is longer than {MAX_TEXT} characters")
    return value.strip()


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
        self.state: str | None = None
        self.history: list[dict] = []
        self.sequence = 0                         # state moves so far; message ids use it
        self.deadlines: dict[str, datetime] = {}  # active deadlines of the current state
        self.candidates: list[dict] = []
        self.engagements: list[Engagement] = []
        self.tried_offer_ids: list[str] = []
        self.feedback: list[dict] = []
        self.feedback_reminders = 0
        self.school_efforts: dict | None = None
        self.outcome: str | None = None
        self.escalated_entry: int | None = None   # sequence of the state entry already escalated
        self.commands: list[Command] = []
        self.command_count = 0
        self.mail_tasks: list[asyncio.Task] = []

    # ---------------------------------------------------------------- run

    @workflow.run
    async def run(self, input: ReferralInput) -> dict:
        workflow.logger.info("referral workflow started", extra={"referral_ref": input.ref})
        self._mail("reporter_received", "reporter_received", input.reporter_email,
                   input.reporter_lang, {"ref": input.ref})
        if input.school_efforts_done:
            await self._transition("triage", SYSTEM, "submitted; school efforts done")
        else:
            await self._transition("awaiting_school_efforts", SYSTEM,
                                   "submitted; school efforts not yet confirmed")
        while not is_final(self.state):
            await self._step()
        await workflow.wait_condition(workflow.all_handlers_finished)
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

    def _next_deadline(self) -> tuple[str | None, datetime | None]:
        if not self.deadlines:
            return None, None
        name = min(self.deadlines, key=lambda key: self.deadlines[key])
        return name, self.deadlines[name]

    def _due(self, working_days: int) -> datetime:
        return add_working_days(workflow.now(), working_days, self.config.closed_dates)

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
        if setup is not None:
            setup()
        workflow.logger.info("referral moved", extra={"from_state": from_state, "to_state": to_state})
        main_due = self._main_due(to_state)
        change = StateChange(
            workflow_id=workflow.info().workflow_id, sequence=self.sequence,
            correlation_id=self.input.correlation_id, network=self.input.network,
            referral_ref=self.input.ref, occurred_at=entry["at"],
            payload={
                "referral_id": self.input.referral_id, "ref": self.input.ref,
                "network": self.input.network, "from_state": from_state, "to_state": to_state,
                "by": by, "reason": reason, "at": entry["at"],
                "categories": list(self.input.categories),
                "due_at": main_due.isoformat() if main_due else None,
                "fhir_status": FHIR_TASK_STATUS[to_state],
            })
        await workflow.execute_activity("publish_state_change", change, **BOUNDARY_OPTIONS)
        await self._enter(to_state)

    def _entry_deadlines(self, state: str) -> dict[str, datetime]:
        c = self.config
        if state == "awaiting_school_efforts":
            return {"school_efforts_reminder": self._due(c.school_efforts_reminder),
                    "school_efforts": self._due(c.school_efforts)}
        if state == "triage":
            return {"triage": self._due(c.triage)}
        if state == "matching":
            return {"matching": self._due(c.matching)}
        if state == "in_progress":
            return {"feedback": self._due(c.first_feedback)}
        return {}

    def _main_due(self, state: str) -> datetime | None:
        if state == "awaiting_partner":
            dues = [due for name, due in self.deadlines.items() if name.startswith("partner_response:")]
            return min(dues) if dues else None
        main = {"awaiting_school_efforts": "school_efforts", "triage": "triage",
                "matching": "matching", "in_progress": "feedback"}.get(state)
        return self.deadlines.get(main) if main else None

    async def _enter(self, state: str) -> None:
        i = self.input
        if state == "awaiting_school_efforts":
            self._mail("school_efforts_request", "school_efforts_request",
                       i.school_email or i.reporter_email, i.reporter_lang, {"ref": i.ref},
                       link=("confirm_url", f"/referrals/{i.referral_id}/school-efforts"))
        elif state == "matching":
            await self._rank()
        elif state == "closed":
            self._mail("reporter_closed", "reporter_closed", i.reporter_email, i.reporter_lang,
                       {"ref": i.ref, "outcome": self.outcome or "", "state": state})
        elif state in ("rejected", "redirected"):
            self._mail(f"reporter_{state}", "reporter_closed", i.reporter_email, i.reporter_lang,
                       {"ref": i.ref, "outcome": self.outcome or "", "state": state})

    async def _rank(self) -> None:
        i = self.input
        request = {"network": i.network, "categories": list(i.categories), "postcode": i.postcode,
                   "age": i.age, "school_level": i.school_level, "languages": list(i.languages),
                   "urgency": i.urgency, "exclude_organisation_ids": []}
        self.candidates = list(await workflow.execute_activity("rank_offers", request,
                                                               **BOUNDARY_OPTIONS) or [])
        if not self.candidates:
            self._escalate("no offer matches this referral (gap)")

    # ---------------------------------------------------------------- deadlines

    async def _fire(self, name: str) -> None:
        self.deadlines.pop(name, None)
        i = self.input
        if name == "school_efforts_reminder":
            self._mail("school_efforts_reminder", "school_efforts_request",
                       i.school_email or i.reporter_email, i.reporter_lang,
                       {"ref": i.ref, "reminder": True},
                       link=("confirm_url", f"/referrals/{i.referral_id}/school-efforts"))
        elif name == "school_efforts":
            reason = "school efforts not confirmed"
            await self._transition("triage", SYSTEM, reason)
            self._escalate(reason)
        elif name == "triage":
            self._escalate("triage deadline passed")
        elif name == "matching":
            self._escalate("no partner chosen in time")
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
                await self._engage_next("no partner answered in time")
        elif name == "feedback":
            self.feedback_reminders += 1
            engagement = self._accepted_engagement()
            if engagement is not None:
                self._mail(f"feedback_reminder:{self.feedback_reminders}", "partner_reminder",
                           engagement.contact_email, "nl",
                           {"ref": i.ref, "offer_name": engagement.offer_name, "kind": "feedback"},
                           link=("accept_url", self._engagement_path(engagement)))
            self.deadlines["feedback"] = self._due(self.config.feedback_interval)
        else:
            raise ApplicationError(f"unknown deadline {name!r}", non_retryable=True)

    # ---------------------------------------------------------------- engagements

    def _engagement_path(self, engagement: Engagement) -> str:
        return f"/engagements/{self.input.referral_id}/{engagement.token}"

    def _engagement_for_offer(self, offer_id: str) -> Engagement | None:
        for engagement in reversed(self.engagements):
            if engagement.offer_id == offer_id:
                return engagement
        return None

    def _engagement_for_token(self, token: str) -> Engagement | None:
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
        if engagement.offer_id not in self.tried_offer_ids:
            self.tried_offer_ids.append(engagement.offer_id)
        self.deadlines[f"partner_reminder:{engagement.offer_id}"] = self._due(self.config.partner_reminder)
        self.deadlines[f"partner_response:{engagement.offer_id}"] = self._due(self.config.partner_response)
        self._mail(f"partner_engagement:{engagement.token}", "partner_engagement",
                   engagement.contact_email, "nl",
                   {"ref": self.input.ref, "offer_name": engagement.offer_name},
                   link=("accept_url", self._engagement_path(engagement)))

    def _drop_engagement_deadlines(self, offer_id: str) -> None:
        self.deadlines.pop(f"partner_reminder:{offer_id}", None)
        self.deadlines.pop(f"partner_response:{offer_id}", None)

    async def _engage_next(self, reason: str) -> None:
        """After a decline or a silence: engage the next candidate not yet tried; with none
        left and nobody still answering, go back to matching and escalate."""
        for candidate in self.candidates:
            if str(candidate.get("offer_id")) not in self.tried_offer_ids:
                self._engage(candidate)
                return
        if any(e.status == "proposed" for e in self.engagements):
            return
        await self._transition("matching", SYSTEM, f"{reason}; no candidate left")
        self._escalate(f"{reason}; no candidate left")

    # ---------------------------------------------------------------- mail

    def _mail(self, purpose: str, template: str, to: str | None, lang: str, context: dict,
              *, link: tuple[str, str] | None = None) -> None:
        request = EmailRequest(
            workflow_id=workflow.info().workflow_id, purpose=purpose, template=template, to=to,
            lang=lang, context=context, network=self.input.network, referral_ref=self.input.ref,
            correlation_id=self.input.correlation_id,
            link_field=link[0] if link else None, link_path=link[1] if link else None)
        self.mail_tasks.append(asyncio.create_task(self._send(request)))

    async def _send(self, request: EmailRequest) -> None:
        try:
            await workflow.execute_activity("send_email", request, **EMAIL_OPTIONS)
        except ActivityError as exc:
            # a refused request (bad address...) must not stop the referral; it is logged
            workflow.logger.warning("e-mail not sent", extra={"purpose": request.purpose,
                                                              "error": str(exc.cause or exc)})

    def _escalate(self, reason: str) -> None:
        if self.escalated_entry == self.sequence:
            return
        self.escalated_entry = self.sequence
        self._mail(f"escalation:{self.state}:{self.sequence}", "coordinator_escalation",
                   self.input.coordinator_email, "nl",
                   {"ref": self.input.ref, "state": self.state, "reason": reason})

    # ---------------------------------------------------------------- actions

    def _validate(self, action: str, args: Any) -> dict:
        """Parse and check one action against the current state; InvalidAction says why not."""
        if self.state is None:
            raise InvalidAction("the referral is still starting; try again")
        if action not in allowed_actions(self.state):
            raise InvalidAction(f"{action} is not allowed in state {self.state!r}"
                                f" (allowed: {', '.join(allowed_actions(self.state)) or 'none'})")
        if action == "confirm_school_efforts":
            args = _known_keys(args, action, ("by", "summary"))
            return {"by": _text(args, "by"), "summary": _text(args, "summary")}
        if action == "triage":
            args = _known_keys(args, action, ("by", "decision", "reason"))
            decision = args.get("decision")
            if decision not in TRIAGE_DECISIONS:
                raise InvalidAction(f"unknown decision {decision!r}; choose one of "
                                    + ", ".join(TRIAGE_DECISIONS))
            reason = _text(args, "reason", required=decision != "accept") or "accepted"
            return {"by": _text(args, "by"), "decision": decision, "reason": reason}
        if action == "choose_partner":
            args = _known_keys(args, action, ("by", "offer_ids"))
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
            return {"by": _text(args, "by"), "offer_ids": list(offer_ids)}
        if action == "partner_respond":
            args = _known_keys(args, action, ("token", "accept", "by", "reason"))
            engagement = self._engagement_for_token(args.get("token"))
            if engagement is None:
                raise InvalidAction("unknown engagement token")
            if engagement.status != "proposed":
                raise InvalidAction(f"this engagement is already {engagement.status}")
            if not isinstance(args.get("accept"), bool):
                raise InvalidAction("accept must be true or false")
            reason = _text(args, "reason", required=not args["accept"])
            return {"token": engagement.token, "accept": args["accept"], "by": _text(args, "by"),
                    "reason": reason}
        if action == "submit_feedback":
            args = _known_keys(args, action, ("token", "by", "text"))
            engagement = self._accepted_engagement()
            if engagement is None or args.get("token") != engagement.token:
                raise InvalidAction("unknown engagement token: only the engaged partner gives feedback")
            return {"token": engagement.token, "by": _text(args, "by"), "text": _text(args, "text")}
        if action == "close":
            args = _known_keys(args, action, ("by", "outcome", "reason"))
            return {"by": _text(args, "by"), "outcome": _text(args, "outcome"),
                    "reason": _text(args, "reason", required=False) or "closed"}
        raise InvalidAction(f"unknown action {action!r}")

    async def _handle(self, command: Command) -> dict:
        args = self._validate(command.action, command.args)   # the state may have moved since
        action = command.action
        if action == "confirm_school_efforts":
            self.school_efforts = {"by": args["by"], "at": workflow.now().isoformat(),
                                   "summary": args["summary"]}
            await self._transition("triage", args["by"], "school efforts confirmed")
        elif action == "triage":
            if args["decision"] != "accept":
                self.outcome = args["reason"]
            await self._transition(TRIAGE_DECISIONS[args["decision"]], args["by"], args["reason"])
        elif action == "choose_partner":
            chosen = [c for o in args["offer_ids"] for c in self.candidates
                      if str(c.get("offer_id")) == o]

            def engage_all():
                for candidate in chosen:
                    self._engage(candidate)

            await self._transition("awaiting_partner", args["by"],
                                   f"partner chosen: {', '.join(args['offer_ids'])}", engage_all)
        elif action == "partner_respond":
            engagement = self._engagement_for_token(args["token"])
            self._drop_engagement_deadlines(engagement.offer_id)
            if args["accept"]:
                engagement.status = "accepted"
                for other in self.engagements:
                    if other.status == "proposed":
                        other.status = "withdrawn"
                        other.reason = "another partner accepted"
                await self._transition("in_progress", args["by"],
                                       f"partner accepted: {engagement.offer_id}")
            else:
                engagement.status = "declined"
                engagement.reason = args["reason"]
                await self._engage_next(f"partner declined: {engagement.offer_id}")
        elif action == "submit_feedback":
            self.feedback.append({"by": args["by"], "at": workflow.now().isoformat(),
                                  "text": args["text"]})
            self.deadlines["feedback"] = self._due(self.config.feedback_interval)
        elif action == "close":
            self.outcome = args["outcome"]
            await self._transition("closed", args["by"], args["reason"])
        return self.snapshot()

    async def _submit(self, action: str, args: dict) -> dict:
        self.command_count += 1
        command = Command(self.command_count, action, args)
        self.commands.append(command)
        await workflow.wait_condition(lambda: command.done)
        if command.error:
            raise ApplicationError(command.error, type="InvalidAction", non_retryable=True)
        return command.result

    # one update per action; each validator refuses (raises) before anything is recorded

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
            "state": self.state,
            "fhir_status": FHIR_TASK_STATUS.get(self.state) if self.state else None,
            "history": list(self.history),
            "deadlines": {name: due.isoformat() for name, due in self.deadlines.items()},
            "candidates": list(self.candidates),
            "engagements": [e.public() for e in self.engagements],
            "feedback": list(self.feedback),
            "allowed_actions": allowed_actions(self.state),
            "outcome": self.outcome,
            "school_efforts": self.school_efforts,
        }

