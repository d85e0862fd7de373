"""The AMQP <-> Temporal bridge: `python -m workflows.bridge`.

a) consumes the nameko event `intake.referral_submitted` (durable queue
   `evt-intake-referral_submitted--workflow_bridge.start_referral`) and starts one
   ReferralWorkflow per referral (id = workflow_id(referral_id)), with the deadlines of its
   network and urgency (workflows/config.py); a duplicate event finds the workflow already
   started and is simply acked. The ack comes only after Temporal accepted the start.
   - Temporal down (unavailable, timeout): the message goes to the retry queue
     `workflow_bridge.retry` (a TTL of RETRY_DELAY) and comes back to its queue afterwards;
     it is never lost.
   - Temporal refuses (invalid argument...) or the message is not a valid referral: it goes to
     `<queue>.dlq` as `{consumer, error, body}`, the reason beside the message.
c) consumes `intake.referral_erased` (queue
   `evt-intake-referral_erased--workflow_bridge.erase_referral`): deletes the referral's
   workflow execution and its history in Temporal (a running workflow is terminated first, by
   Temporal), waits until Temporal no longer knows it, then publishes
   `workflow_bridge.erasure_confirmed` (netsterk/erasure.py). Temporal down: retried later like a
   start; an invalid message: dead-lettered.
b) serves nameko-compatible RPC as `workflow_bridge`: health, get_referral, get_question, act.
   `act(referral_id, action, args, command_id=None)`: the Temporal update id is the command id,
   so a command sent twice (a double click, a redelivery) is applied once and both get the
   result. An `act` while Temporal is down is retried the same way (up to RPC_ATTEMPTS), then
   answered with `TemporalUnavailable`.

kombu runs in one thread; Temporal calls run on the asyncio loop (run_coroutine_threadsafe).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import re
import signal
import socket
import sys
import threading
import time
import traceback

import kombu
from kombu import Exchange, Queue
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from netsterk.amqp import (
    DEAD_LETTER_EXCHANGE, connect, dead_letter_arguments, dead_letter_queue, error_payload,
    event_exchange, event_queue_name, method_of, redelivery_verdict, reply, rpc_server_queue,
)
from netsterk.contracts import (
    BRIDGE, FINAL_STATES, INTAKE, REFERRAL_ERASED, REFERRAL_SUBMITTED, workflow_id,
)
from netsterk import erasure
from netsterk.envelope import EnvelopeError, validate_envelope
from netsterk import metrics
from netsterk.logging import configure_logging, context_from_envelope, get_logger, log_context
from netsterk.settings import get_settings
from workflows.config import WorkflowConfig
from workflows.referral.shared import ReferralInput, draft_facts
from workflows.referral.states import ALL_ACTIONS, TASK_ACTIONS
from workflows.referral.workflow import ReferralWorkflow

log = get_logger(__name__)

START_METHOD = "start_referral"
EVENT_QUEUE = event_queue_name(INTAKE, REFERRAL_SUBMITTED, BRIDGE, START_METHOD)
ERASE_METHOD = "erase_referral"
ERASED_QUEUE = event_queue_name(INTAKE, REFERRAL_ERASED, BRIDGE, ERASE_METHOD)
METHOD_OF_QUEUE = {EVENT_QUEUE: START_METHOD, ERASED_QUEUE: ERASE_METHOD}
DELETE_WAIT_SECONDS = 10.0   # Temporal deletes asynchronously: how long to wait for it
# the AMQP thread beats at least every second (drain timeout) and every blocking step it takes
# is bounded by the call timeout: silence this long means it hangs (the process then leaves,
# with the thread's stack in the log, so its supervisor starts it again)
STALL_SECONDS = 180.0
RETRY_EXCHANGE = Exchange(f"{BRIDGE}.retry", type="fanout", durable=True)
RETRY_QUEUE = f"{BRIDGE}.retry"
RETRY_DELAY_MS = 2000
RPC_ATTEMPTS = 5
RPC_PREFETCH = 64   # RPC calls (and referral starts) taken from the broker at once
ATTEMPT_HEADER = "x-bridge-attempt"
METHOD_HEADER = "x-bridge-method"
COMMAND_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
# Temporal answers that mean "not now" rather than "no"
TRANSIENT = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
                       RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.ABORTED,
                       RPCStatusCode.CANCELLED, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL})


class InvalidAction(Exception):
    """The workflow refused the action (wrong state, bad arguments) or the action is unknown."""


class UnknownReferral(Exception):
    """No workflow exists for this referral id."""


class MethodNotFound(Exception):
    """The RPC method is not served by workflow_bridge."""


class IncorrectSignature(Exception):
    """The RPC arguments do not fit the method (nameko's name for it)."""


class TemporalUnavailable(Exception):
    """Temporal did not answer, also after retries; nothing was applied."""


def is_transient(exc: BaseException) -> bool:
    """Temporal is down or slow (retry later), as opposed to a refusal (dead-letter)."""
    if isinstance(exc, RPCError):
        return exc.status in TRANSIENT
    return isinstance(exc, (TimeoutError, asyncio.TimeoutError, concurrent.futures.TimeoutError,
                            ConnectionError, OSError))


def retry_queue() -> Queue:
    """Messages wait here RETRY_DELAY_MS, then go back (default exchange, their routing key =
    the queue they came from)."""
    return Queue(RETRY_QUEUE, exchange=RETRY_EXCHANGE, durable=True,
                 queue_arguments={"x-message-ttl": RETRY_DELAY_MS, "x-dead-letter-exchange": ""})


def event_queue() -> Queue:
    return Queue(EVENT_QUEUE, exchange=event_exchange(INTAKE), routing_key=REFERRAL_SUBMITTED,
                 durable=True, queue_arguments=dead_letter_arguments(EVENT_QUEUE))


def erased_queue() -> Queue:
    return Queue(ERASED_QUEUE, exchange=event_exchange(INTAKE), routing_key=REFERRAL_ERASED,
                 durable=True, queue_arguments=dead_letter_arguments(ERASED_QUEUE))


class Bridge:
    def __init__(self, client: Client, *, amqp_uri: str, task_queue: str,
                 loop: asyncio.AbstractEventLoop, call_timeout: float = 30.0,
                 config: WorkflowConfig | None = None):
        self.client = client
        self.amqp_uri = amqp_uri
        self.task_queue = task_queue
        self.loop = loop
        self.call_timeout = call_timeout
        self.config = config or WorkflowConfig()
        self.ready = threading.Event()
        self.producer: kombu.Producer | None = None
        self.connection: kombu.Connection | None = None
        # RPC calls running on the loop: (future, started, message, producer, method)
        self.pending: list = []
        self.beat = time.monotonic()   # the AMQP thread's last sign of life (see stalled())

    # ------------------------------------------------------------ Temporal side (asyncio)

    async def start_referral(self, referral: ReferralInput, envelope: dict | None = None) -> str:
        """Start the referral's workflow. When it runs already and this event is the completion
        of an e-mail draft (`draft: false`), complete the draft instead (update id = the event's
        message id, so a redelivery completes it once)."""
        try:
            await self.client.start_workflow(
                ReferralWorkflow.run, referral, id=workflow_id(referral.referral_id),
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:
            if referral.draft or envelope is None:
                return "duplicate"
            payload = envelope["payload"]
            args = {"by": "reporter", "school_efforts_done": referral.school_efforts_done,
                    "facts": draft_facts(payload)}
            try:
                await self.act(referral.referral_id, "complete_draft", args,
                               command_id=f"complete-{envelope['message_id']}"[:128])
            except InvalidAction:   # not (any more) a draft: a plain redelivery
                return "duplicate"
            return "draft completed"
        return "started"

    async def erase_referral(self, referral_id: str) -> dict:
        """Erasure: delete the referral's workflow execution with its history (Temporal
        terminates it first when it still runs) and wait until Temporal no longer knows it.
        Idempotent: an unknown workflow is already erased. Returns {store: count}."""
        from temporalio.api.common.v1 import WorkflowExecution
        from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest

        handle = self.client.get_workflow_handle(workflow_id(self._referral_id(referral_id)))

        async def known() -> bool:
            try:
                await handle.describe()
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    return False
                raise
            return True

        if not await known():
            return {"temporal_execution": 0}
        try:
            await self.client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
                namespace=self.client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=handle.id)))
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        waited = 0.0
        while await known():
            if waited >= DELETE_WAIT_SECONDS:   # transient: the message comes back later
                raise TimeoutError(f"workflow {handle.id} is not deleted yet")
            await asyncio.sleep(0.2)
            waited += 0.2
        return {"temporal_execution": 1}

    async def health(self) -> dict:
        return {"service": BRIDGE, "status": "ok"}

    # --- issue 9: the ops page's view of the workflow layer (ids, types, times; nothing personal)
    async def deadlines_config(self, network: str) -> dict:
        """The deadlines a new referral of `network` gets, per urgency (the network admin's view)."""
        from dataclasses import asdict
        return {urgency: asdict(self.config.deadlines(network, urgency)) for urgency in ("normal", "urgent")}

    async def workflows_overview(self, limit: int = 20) -> dict:
        """The worker's pollers on the task queue, and the newest running and failed workflows."""
        from temporalio.api.enums.v1 import TaskQueueType
        from temporalio.api.taskqueue.v1 import TaskQueue
        from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

        limit = max(1, min(int(limit), 100))
        described = await self.client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=self.client.namespace, task_queue=TaskQueue(name=self.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))

        async def listed(query: str) -> tuple[list[dict], int]:
            rows, total = [], 0
            async for execution in self.client.list_workflows(query, page_size=limit):
                total += 1
                if len(rows) < limit:
                    rows.append({"workflow_id": execution.id, "run_id": execution.run_id,
                                 "type": execution.workflow_type,
                                 "status": execution.status.name.lower() if execution.status else "",
                                 "started_at": execution.start_time.isoformat() if execution.start_time else None,
                                 "closed_at": execution.close_time.isoformat() if execution.close_time else None})
                if total >= 1000:
                    break
            return rows, total

        running, running_total = await listed('ExecutionStatus="Running"')
        failed, failed_total = await listed(
            'ExecutionStatus="Failed" OR ExecutionStatus="TimedOut" OR ExecutionStatus="Terminated"')
        return {"namespace": self.client.namespace, "task_queue": self.task_queue,
                "pollers": len(described.pollers), "running": running, "running_total": running_total,
                "failed": failed, "failed_total": failed_total}

    async def get_referral(self, referral_id: str) -> dict:
        handle = self.client.get_workflow_handle(workflow_id(self._referral_id(referral_id)))
        try:
            return await handle.query(ReferralWorkflow.snapshot)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise UnknownReferral(f"no referral {referral_id}") from None
            raise

    async def get_question(self, referral_id: str, token: str, kind: str = "information") -> dict:
        """The open request behind a link: the reporter's question (`information`) or the
        school's efforts confirmation (`school_efforts`): {referral_id, ref, question, asked_at}."""
        if kind not in ("information", "school_efforts"):
            raise InvalidAction("kind must be information or school_efforts")
        query = ReferralWorkflow.open_question if kind == "information" else ReferralWorkflow.school_request
        handle = self.client.get_workflow_handle(workflow_id(self._referral_id(referral_id)))
        try:
            question = await handle.query(query, str(token))
            snapshot = await handle.query(ReferralWorkflow.snapshot)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise UnknownReferral(f"no referral {referral_id}") from None
            raise
        if question is None:
            raise InvalidAction("this link is not valid (any more): no open question")
        return {"referral_id": referral_id, "ref": snapshot["ref"], **question}

    async def _check_merge_target(self, referral_id: str, args) -> None:
        """mark_duplicate: the target must exist, be open and belong to the same network."""
        target = args.get("target_referral_id") if isinstance(args, dict) else None
        if not isinstance(target, str) or not target:
            return   # the workflow's validator names the missing argument
        try:
            target_snapshot = await self.get_referral(target)
        except UnknownReferral:
            raise InvalidAction(f"target referral {target} does not exist") from None
        source = await self.get_referral(referral_id)
        if target_snapshot["network"] != source["network"]:
            raise InvalidAction(f"target referral {target} does not exist")
        if target_snapshot["state"] in FINAL_STATES:
            raise InvalidAction(f"target referral {target_snapshot['ref']} is already "
                                f"{target_snapshot['state']}; merge into an open referral")

    async def act(self, referral_id: str, action: str, args: dict | None = None,
                  command_id: str | None = None) -> dict:
        referral_id = self._referral_id(referral_id)
        if action not in ALL_ACTIONS + TASK_ACTIONS:
            raise InvalidAction(f"unknown action {action!r}; actions: {', '.join(ALL_ACTIONS + TASK_ACTIONS)}")
        if command_id is not None and (not isinstance(command_id, str) or not COMMAND_ID.match(command_id)):
            raise InvalidAction("command_id must be 1 to 128 letters, digits or _.:- "
                                "(starting with a letter or digit)")
        if action == "mark_duplicate":
            await self._check_merge_target(referral_id, args)
        handle = self.client.get_workflow_handle(workflow_id(referral_id))
        try:
            return await handle.execute_update(action, args if args is not None else {},
                                               id=command_id)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            raise InvalidAction(getattr(cause, "message", None) or str(cause)) from None
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise UnknownReferral(f"no referral {referral_id}") from None
            raise
        raise InvalidAction(f"{action} is not allowed: the referral's workflow is "
                            f"{description.status.name.lower()}")

    async def add_tasks(self, referral_id: str, tasks: list, by: str, source: str | None = None,
                        command_id: str | None = None) -> dict:
        """A case conference's actions become tasks with due dates in the referral's workflow
        (Temporal update `add_tasks`; the same command_id is applied once)."""
        return await self.act(referral_id, "add_tasks", {"by": by, "tasks": tasks, "source": source},
                              command_id)

    @staticmethod
    def _referral_id(referral_id) -> str:
        if not isinstance(referral_id, str) or not referral_id:
            raise InvalidAction("referral_id must be a non-empty string")
        return referral_id

    def _submit(self, coro) -> concurrent.futures.Future:
        """Run a coroutine on the bridge's asyncio loop; its future, not waited for."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def _run(self, coro, timeout: float | None = None):
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout or self.call_timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()   # Temporal did not answer in time: stop waiting for it
            raise

    # ------------------------------------------------------------ AMQP side (one thread)

    def referral_input(self, envelope: dict) -> ReferralInput:
        referral = ReferralInput.from_event(envelope)
        # the network admin's own deadlines (intake sends them with the event) over the file's
        referral.deadlines = self.config.deadlines(referral.network, referral.urgency,
                                                   envelope["payload"].get("deadlines"))
        referral.coordinator_email = self.config.coordinator_email(referral.network)
        return referral

    def _dead_letter(self, queue_name: str, body, error: str) -> None:
        """Park a message with the reason in `<queue>.dlq` (confirmed before the ack)."""
        if isinstance(body, bytes):
            body = body.decode("utf-8", errors="replace")
        dlq = dead_letter_queue(queue_name)
        consumer = f"{BRIDGE}.{METHOD_OF_QUEUE.get(queue_name, START_METHOD)}"
        self.producer.publish({"consumer": consumer, "error": error, "body": body},
                              exchange=DEAD_LETTER_EXCHANGE, routing_key=dlq.routing_key,
                              serializer="json", delivery_mode=2, declare=[dlq])

    def _retry_later(self, message, queue_name: str, extra_headers: dict | None = None) -> int:
        """Send a copy through the retry queue back to `queue_name`; returns its attempt number."""
        headers = dict(message.headers or {})
        attempt = int(headers.get(ATTEMPT_HEADER, 0)) + 1
        headers.update(extra_headers or {}, **{ATTEMPT_HEADER: attempt})
        headers.pop("x-death", None)
        properties = {k: v for k, v in message.properties.items()
                      if k in ("reply_to", "correlation_id") and v}
        self.producer.publish(message.body, exchange=RETRY_EXCHANGE, routing_key=queue_name,
                              headers=headers, delivery_mode=2, declare=[retry_queue()],
                              content_type=message.content_type or "application/json",
                              content_encoding=message.content_encoding or "utf-8", **properties)
        return attempt

    def _stop_redelivered(self, body, message, queue_name: str) -> bool:
        """A message the bridge stopped on before the ack: True when it is handled here (parked
        at the delivery limit, or requeued behind the others)."""
        if not message.delivery_info.get("redelivered"):
            return False
        limit = get_settings().delivery_limit
        verdict = redelivery_verdict(self.producer, message, queue_name, limit)
        if verdict == "limit":
            log.error("delivery limit reached; message dead-lettered", queue=queue_name, limit=limit)
            self._dead_letter(queue_name, body, f"delivery limit: the bridge stopped {limit} "
                              "times on this message before it could finish")
        if verdict != "process":
            message.ack()
            return True
        return False

    def on_erased(self, body, message) -> None:
        """`intake.referral_erased`: delete the workflow and its history, then confirm."""
        if self._stop_redelivered(body, message, ERASED_QUEUE):
            return
        try:
            envelope = validate_envelope(body, expected_type=REFERRAL_ERASED)
            referral_id = self._referral_id(envelope["payload"].get("referral_id"))
        except (EnvelopeError, InvalidAction) as exc:
            log.warning("referral_erased dead-lettered", error=str(exc))
            self._dead_letter(ERASED_QUEUE, body, str(exc))
            message.ack()
            return
        with log_context(**context_from_envelope(envelope)):
            try:
                removed = self._run(self.erase_referral(referral_id))
                erasure.publish_receipt(self.connection, BRIDGE, envelope, removed)
            except Exception as exc:
                if is_transient(exc):
                    attempt = self._retry_later(message, ERASED_QUEUE)
                    log.warning("workflow erasure failed; retrying later", attempt=attempt,
                                error=str(exc) or type(exc).__name__)
                else:
                    self._dead_letter(ERASED_QUEUE, body, f"erasure failed: {exc}")
                    log.warning("referral_erased dead-lettered", error=str(exc))
                message.ack()
                return
            message.ack()
            log.info("referral workflow erased", workflow_id=workflow_id(referral_id), **removed)

    def on_event(self, body, message) -> None:
        if self._stop_redelivered(body, message, EVENT_QUEUE):
            return
        try:
            envelope = validate_envelope(body, expected_type=REFERRAL_SUBMITTED)
            referral = self.referral_input(envelope)
        except (EnvelopeError, ValueError) as exc:
            log.warning("referral_submitted dead-lettered", error=str(exc))
            self._dead_letter(EVENT_QUEUE, body, str(exc))
            message.ack()
            return
        with log_context(**context_from_envelope(envelope)):
            try:
                outcome = self._run(self.start_referral(referral, envelope))
            except Exception as exc:
                if is_transient(exc):   # Temporal down: keep the message, try again later
                    attempt = self._retry_later(message, EVENT_QUEUE)
                    log.warning("workflow start failed; retrying later", error=str(exc) or type(exc).__name__,
                                attempt=attempt, delay_ms=RETRY_DELAY_MS)
                else:                   # Temporal refused: park it with the reason
                    reason = f"temporal refused the start: {exc}"
                    log.warning("referral_submitted dead-lettered", error=reason)
                    self._dead_letter(EVENT_QUEUE, body, reason)
                message.ack()
                return
            message.ack()
            log.info("referral workflow " + outcome, workflow_id=workflow_id(referral.referral_id))

    def on_event_decode_error(self, message, exc) -> None:
        self._park_undecodable(EVENT_QUEUE, message, exc)

    def _park_undecodable(self, queue_name: str, message, exc) -> None:
        log.warning("undecodable message dead-lettered", queue=queue_name, error=str(exc),
                    content_type=message.content_type)
        self._dead_letter(queue_name, message.body, f"undecodable message: {exc}")
        message.ack()

    def on_rpc(self, body, message, producer) -> None:
        """Check the call here (kombu's thread) and hand it to the asyncio loop without waiting:
        many calls run against Temporal at once (an `act` waits for the workflow to apply the
        update). `complete_rpcs`, called from the same thread, answers and acks each one."""
        method = (message.headers or {}).get(METHOD_HEADER) or method_of(message)
        try:
            if not isinstance(body, dict):
                raise IncorrectSignature("an RPC body must be an object with args and kwargs")
            target = {"health": self.health, "get_referral": self.get_referral,
                      "get_question": self.get_question, "act": self.act,
                      "add_tasks": self.add_tasks,
                      "workflows_overview": self.workflows_overview,
                      "deadlines_config": self.deadlines_config}.get(method)
            if target is None:
                raise MethodNotFound(method)
            args, kwargs = body.get("args") or [], body.get("kwargs") or {}
            try:
                inspect.signature(target).bind(*args, **kwargs)
            except TypeError as exc:
                raise IncorrectSignature(f"{method}: {exc}") from None
            coro = target(*args, **kwargs)
        except Exception as exc:
            self._answer(message, producer, method, None, exc)
            return
        self.pending.append((self._submit(coro), time.monotonic(), message, producer, method))

    def complete_rpcs(self) -> None:
        """Answer the calls that finished (or ran out of time), in kombu's thread."""
        still = []
        for future, started, message, producer, method in self.pending:
            if not future.done():
                if time.monotonic() - started < self.call_timeout:
                    still.append((future, started, message, producer, method))
                    continue
                future.cancel()   # Temporal did not answer in time: stop waiting for it
                self._answer(message, producer, method, None, concurrent.futures.TimeoutError())
                continue
            try:
                result, exc = future.result(), None
            except BaseException as error:   # noqa: BLE001 - every failure is answered
                result, exc = None, error
            self._answer(message, producer, method, result, exc)
        self.pending = still

    def _answer(self, message, producer, method: str, result, exc: BaseException | None) -> None:
        error = None
        if exc is not None:
            if is_transient(exc) and int((message.headers or {}).get(ATTEMPT_HEADER, 0)) + 1 < RPC_ATTEMPTS:
                attempt = self._retry_later(message, rpc_server_queue(BRIDGE).name, {METHOD_HEADER: method})
                log.warning("temporal unavailable; rpc retried later", method=method,
                            attempt=attempt, error=str(exc) or type(exc).__name__)
                message.ack()
                return
            if is_transient(exc):
                exc = TemporalUnavailable("Temporal did not answer; nothing was applied, try again later")
            if not isinstance(exc, (InvalidAction, UnknownReferral, MethodNotFound, IncorrectSignature)):
                log.warning("rpc failed", method=method, error=str(exc))
            error = error_payload(exc)
        if message.properties.get("reply_to"):
            reply(producer, message, result=result, error=error)
        message.ack()

    def consume(self, stop: threading.Event) -> None:
        """Serve both queues until `stop` is set; reconnect when the broker goes away."""
        while not stop.is_set():
            try:
                # publishing has a connection of its own: waiting for a publish confirm on the
                # consuming connection reads its frames, so a delivery arriving meanwhile runs a
                # callback inside the wait whose publish can take the outer one's (coalesced) ack
                # and leave the outer wait hanging for ever
                with connect(self.amqp_uri) as connection, connect(self.amqp_uri) as publishing:
                    channel = connection.channel()
                    channel.basic_qos(0, RPC_PREFETCH, False)
                    self.pending = []   # unacked calls of a lost connection come again
                    self.connection = publishing
                    dead_letter_queue(EVENT_QUEUE)(channel).declare()
                    dead_letter_queue(ERASED_QUEUE)(channel).declare()
                    retry_queue()(channel).declare()
                    producer = kombu.Producer(publishing.channel())
                    self.producer = producer
                    events = kombu.Consumer(channel, queues=[event_queue()], accept=["json"],
                                            callbacks=[self.on_event],
                                            on_decode_error=self.on_event_decode_error)
                    erasures = kombu.Consumer(
                        channel, queues=[erased_queue()], accept=["json"], callbacks=[self.on_erased],
                        on_decode_error=lambda message, exc: self._park_undecodable(ERASED_QUEUE, message, exc))
                    rpc_queue = rpc_server_queue(BRIDGE)
                    rpc = kombu.Consumer(
                        channel, queues=[rpc_queue], accept=["json"],
                        callbacks=[lambda body, message: self.on_rpc(body, message, producer)],
                        on_decode_error=lambda message, exc: message.reject(requeue=False))
                    with events, erasures, rpc:
                        self.ready.set()
                        log.info("bridge consuming", event_queue=EVENT_QUEUE, rpc_queue=rpc_queue.name)
                        while not stop.is_set():
                            self.beat = time.monotonic()
                            try:
                                connection.drain_events(timeout=0.02 if self.pending else 1.0)
                            except socket.timeout:
                                pass
                            self.complete_rpcs()
            except Exception as exc:  # broker gone: reconnect
                if stop.is_set():
                    break
                self.ready.clear()
                log.warning("broker connection lost; reconnecting", error=str(exc))
                time.sleep(1.0)
                self.beat = time.monotonic()


class BridgeStalled(RuntimeError):
    """The AMQP thread gave no sign of life for STALL_SECONDS."""


def stalled(bridge: Bridge, thread: threading.Thread, *, now: float | None = None,
            limit: float = STALL_SECONDS) -> str | None:
    """Where the AMQP thread hangs (its stack: code locations only), or None while it beats."""
    silent = (time.monotonic() if now is None else now) - bridge.beat
    if silent < limit or not thread.is_alive():
        return None
    frame = sys._current_frames().get(thread.ident)
    where = "".join(traceback.format_stack(frame)) if frame is not None else "(no frame)"
    return f"no sign of life for {silent:.0f} s; the thread is at:\n{where}"


async def main() -> None:
    configure_logging("workflow_bridge")
    metrics.serve("workflow_bridge")  # /metrics on NETSTERK_METRICS_PORT (0: off)
    if get_settings().metrics_port:   # queue depths of the installation's vhost
        metrics.register_collector(metrics.QueueCollector(get_settings().amqp_uri))
    from workflows.worker import connect_client

    settings = get_settings()
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    client = await connect_client(settings.temporal_address, settings.temporal_namespace)
    config = WorkflowConfig.load(settings.workflow_config)
    bridge = Bridge(client, amqp_uri=settings.amqp_uri, task_queue=settings.temporal_task_queue,
                    loop=loop, call_timeout=settings.rpc_timeout, config=config)
    stop = threading.Event()
    thread = threading.Thread(target=bridge.consume, args=(stop,), name="bridge-amqp", daemon=True)
    thread.start()
    while not stopping.is_set() and thread.is_alive():
        try:
            await asyncio.wait_for(stopping.wait(), timeout=1.0)
        except asyncio.TimeoutError:
            hang = stalled(bridge, thread)
            if hang is not None:
                log.error("bridge_stalled", where=hang)
                raise BridgeStalled(hang)
    log.info("bridge stopping")
    stop.set()
    await asyncio.to_thread(thread.join, 10)
    log.info("bridge stopped")


if __name__ == "__main__":
    from workflows.worker import run_process

    run_process(main, "bridge")
