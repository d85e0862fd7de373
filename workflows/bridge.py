"""The AMQP <-> Temporal bridge: `python -m workflows.bridge`.

a) consumes the nameko event `intake.referral_submitted` (durable queue
   `evt-intake-referral_submitted--workflow_bridge.start_referral`, dead-lettered to `<queue>.dlq`)
   and starts one ReferralWorkflow per referral (id = workflow_id(referral_id)); a duplicate event
   finds the workflow already started and is simply acked; the ack comes after the start.
b) serves nameko-compatible RPC as `workflow_bridge`: health, get_referral, act.

kombu runs in one thread; Temporal calls run on the asyncio loop (run_coroutine_threadsafe).
"""
from __future__ import annotations

import asyncio
import inspect
import signal
import socket
import threading
import time

import kombu
from kombu import Queue
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from netsterk.amqp import (
    connect, dead_letter_arguments, dead_letter_queue, error_payload, event_exchange,
    event_queue_name, method_of, reply, rpc_server_queue,
)
from netsterk.contracts import BRIDGE, INTAKE, REFERRAL_SUBMITTED, workflow_id
from netsterk.envelope import EnvelopeError, validate_envelope
from netsterk import metrics
from netsterk.logging import configure_logging, context_from_envelope, get_logger, log_context
from netsterk.settings import get_settings
from workflows.referral.shared import ReferralInput
from workflows.referral.states import ALL_ACTIONS
from workflows.referral.workflow import ReferralWorkflow

log = get_logger(__name__)

START_METHOD = "start_referral"
EVENT_QUEUE = event_queue_name(INTAKE, REFERRAL_SUBMITTED, BRIDGE, START_METHOD)


class InvalidAction(Exception):
    """The workflow refused the action (wrong state, bad arguments) or the action is unknown."""


class UnknownReferral(Exception):
    """No workflow exists for this referral id."""


class MethodNotFound(Exception):
    """The RPC method is not served by workflow_bridge."""


class IncorrectSignature(Exception):
    """The RPC arguments do not fit the method (nameko's name for it)."""


def event_queue() -> Queue:
    return Queue(EVENT_QUEUE, exchange=event_exchange(INTAKE), routing_key=REFERRAL_SUBMITTED,
                 durable=True, queue_arguments=dead_letter_arguments(EVENT_QUEUE))


class Bridge:
    def __init__(self, client: Client, *, amqp_uri: str, task_queue: str,
                 loop: asyncio.AbstractEventLoop, call_timeout: float = 30.0):
        self.client = client
        self.amqp_uri = amqp_uri
        self.task_queue = task_queue
        self.loop = loop
        self.call_timeout = call_timeout
        self.ready = threading.Event()

    # ------------------------------------------------------------ Temporal side (asyncio)

    async def start_referral(self, referral: ReferralInput) -> str:
        try:
            await self.client.start_workflow(
                ReferralWorkflow.run, referral, id=workflow_id(referral.referral_id),
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:
            return "duplicate"
        return "started"

    async def health(self) -> dict:
        return {"service": BRIDGE, "status": "ok"}

    async def get_referral(self, referral_id: str) -> dict:
        handle = self.client.get_workflow_handle(workflow_id(self._referral_id(referral_id)))
        try:
            return await handle.query(ReferralWorkflow.snapshot)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise UnknownReferral(f"no referral {referral_id}") from None
            raise

    async def act(self, referral_id: str, action: str, args: dict | None = None) -> dict:
        referral_id = self._referral_id(referral_id)
        if action not in ALL_ACTIONS:
            raise InvalidAction(f"unknown action {action!r}; actions: {', '.join(ALL_ACTIONS)}")
        handle = self.client.get_workflow_handle(workflow_id(referral_id))
        try:
            return await handle.execute_update(action, args if args is not None else {})
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

    @staticmethod
    def _referral_id(referral_id) -> str:
        if not isinstance(referral_id, str) or not referral_id:
            raise InvalidAction("referral_id must be a non-empty string")
        return referral_id

    def _run(self, coro, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout or self.call_timeout)

    # ------------------------------------------------------------ AMQP side (one thread)

    def on_event(self, body, message) -> None:
        try:
            envelope = validate_envelope(body, expected_type=REFERRAL_SUBMITTED)
            referral = ReferralInput.from_event(envelope)
        except (EnvelopeError, ValueError) as exc:
            log.warning("referral_submitted dead-lettered", error=str(exc))
            message.reject(requeue=False)
            return
        with log_context(**context_from_envelope(envelope)):
            try:
                outcome = self._run(self.start_referral(referral))
            except Exception as exc:  # Temporal unreachable: keep the message, try again
                log.warning("workflow start failed; message requeued", error=str(exc))
                time.sleep(1.0)
                message.requeue()
                return
            message.ack()
            log.info("referral workflow " + outcome, workflow_id=workflow_id(referral.referral_id))

    def on_event_decode_error(self, message, exc) -> None:
        log.warning("undecodable referral_submitted dead-lettered", error=str(exc),
                    content_type=message.content_type)
        message.reject(requeue=False)

    def on_rpc(self, body, message, producer) -> None:
        method = method_of(message)
        result, error = None, None
        try:
            if not isinstance(body, dict):
                raise IncorrectSignature("an RPC body must be an object with args and kwargs")
            target = {"health": self.health, "get_referral": self.get_referral,
                      "act": self.act}.get(method)
            if target is None:
                raise MethodNotFound(method)
            args, kwargs = body.get("args") or [], body.get("kwargs") or {}
            try:
                inspect.signature(target).bind(*args, **kwargs)
            except TypeError as exc:
                raise IncorrectSignature(f"{method}: {exc}") from None
            result = self._run(target(*args, **kwargs))
        except Exception as exc:
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
                with connect(self.amqp_uri) as connection:
                    channel = connection.channel()
                    channel.basic_qos(0, 1, False)
                    dead_letter_queue(EVENT_QUEUE)(channel).declare()
                    producer = kombu.Producer(channel)
                    events = kombu.Consumer(channel, queues=[event_queue()], accept=["json"],
                                            callbacks=[self.on_event],
                                            on_decode_error=self.on_event_decode_error)
                    rpc_queue = rpc_server_queue(BRIDGE)
                    rpc = kombu.Consumer(
                        channel, queues=[rpc_queue], accept=["json"],
                        callbacks=[lambda body, message: self.on_rpc(body, message, producer)],
                        on_decode_error=lambda message, exc: message.reject(requeue=False))
                    with events, rpc:
                        self.ready.set()
                        log.info("bridge consuming", event_queue=EVENT_QUEUE, rpc_queue=rpc_queue.name)
                        while not stop.is_set():
                            try:
                                connection.drain_events(timeout=1.0)
                            except socket.timeout:
                                continue
            except Exception as exc:  # broker gone: reconnect
                if stop.is_set():
                    break
                self.ready.clear()
                log.warning("broker connection lost; reconnecting", error=str(exc))
                time.sleep(1.0)


async def main() -> None:
    configure_logging("workflow_bridge")
    metrics.serve("workflow_bridge")  # /metrics on NETSTERK_METRICS_PORT (0: off)
    from workflows.worker import connect_client

    settings = get_settings()
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    client = await connect_client(settings.temporal_address, settings.temporal_namespace)
    bridge = Bridge(client, amqp_uri=settings.amqp_uri, task_queue=settings.temporal_task_queue,
                    loop=loop, call_timeout=settings.rpc_timeout)
    stop = threading.Event()
    thread = threading.Thread(target=bridge.consume, args=(stop,), name="bridge-amqp", daemon=True)
    thread.start()
    while not stopping.is_set() and thread.is_alive():
        try:
            await asyncio.wait_for(stopping.wait(), timeout=1.0)
        except asyncio.TimeoutError:
            continue
    log.info("bridge stopping")
    stop.set()
    await asyncio.to_thread(thread.join, 10)
    log.info("bridge stopped")


if __name__ == "__main__":
    from workflows.worker import run_process

    run_process(main, "bridge")
