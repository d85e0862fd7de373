"""The bridge's message handling with a fake broker message and a Temporal that is down or
refuses: retry later (never lost), or dead-letter with the reason; RPC answers after retries."""
from __future__ import annotations

import json

import pytest
from temporalio.service import RPCError, RPCStatusCode

from netsterk.contracts import REFERRAL_SUBMITTED
from netsterk.envelope import make_envelope
from workflows.bridge import (
    ATTEMPT_HEADER, EVENT_QUEUE, METHOD_HEADER, RETRY_EXCHANGE, RPC_ATTEMPTS, Bridge, is_transient,
)
from workflows.config import WorkflowConfig


class FakeMessage:
    def __init__(self, body, routing_key="workflow_bridge.act", headers=None):
        self.body = json.dumps(body).encode()
        self.headers = headers or {}
        self.properties = {"reply_to": "reply-1", "correlation_id": "corr-1"}
        self.delivery_info = {"routing_key": routing_key}
        self.content_type, self.content_encoding = "application/json", "utf-8"
        self.acked = False

    def ack(self):
        self.acked = True


class FakeProducer:
    def __init__(self):
        self.published = []

    def publish(self, body, **kwargs):
        self.published.append((body, kwargs))


class DownBridge(Bridge):
    """A bridge whose every Temporal call fails with `error`."""

    def __init__(self, error, config=None):
        super().__init__(client=None, amqp_uri="memory://", task_queue="q", loop=None, config=config)
        self.error = error
        self.producer = FakeProducer()

    def _run(self, coro, timeout=None):
        coro.close()
        raise self.error

    def _submit(self, coro):
        import concurrent.futures

        coro.close()
        future = concurrent.futures.Future()
        future.set_exception(self.error)
        return future


UNAVAILABLE = RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b"")
REFUSED = RPCError("workflow id too long", RPCStatusCode.INVALID_ARGUMENT, b"")


def submitted():
    return make_envelope(REFERRAL_SUBMITTED, {
        "referral_id": "r1", "ref": "NS-1", "network": "mechelen", "channel": "web",
        "categories": ["truancy"], "urgency": "urgent", "school_efforts_done": True,
        "reporter_email": "a@b.example", "submitted_at": "2026-11-24T09:00:00+00:00"})


def test_transient_and_refused_errors():
    assert is_transient(UNAVAILABLE) and is_transient(TimeoutError())
    assert not is_transient(REFUSED) and not is_transient(ValueError("x"))


def test_start_while_temporal_is_down_goes_round_the_retry_queue():
    bridge = DownBridge(UNAVAILABLE)
    message = FakeMessage(submitted(), routing_key="referral_submitted")
    bridge.on_event(submitted(), message)
    [(body, kwargs)] = bridge.producer.published
    assert message.acked and body == message.body
    assert kwargs["exchange"] == RETRY_EXCHANGE and kwargs["routing_key"] == EVENT_QUEUE
    assert kwargs["headers"][ATTEMPT_HEADER] == 1


def test_start_that_temporal_refuses_is_dead_lettered_with_the_reason():
    bridge = DownBridge(REFUSED)
    message = FakeMessage(submitted())
    bridge.on_event(submitted(), message)
    [(body, kwargs)] = bridge.producer.published
    assert message.acked and kwargs["routing_key"] == f"{EVENT_QUEUE}.dlq"
    assert body["error"] == "temporal refused the start: workflow id too long"
    assert body["body"]["payload"]["referral_id"] == "r1"


def test_deadlines_of_the_network_and_urgency_go_into_the_input(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("networks:\n  mechelen:\n    coordinator_email: m@x.example\n    urgent: {triage: 1, matching: 2}\n")
    bridge = DownBridge(UNAVAILABLE, config=WorkflowConfig.load(path))
    referral = bridge.referral_input(submitted())
    assert referral.deadlines.matching == 2 and referral.deadlines.first_feedback == 5
    assert referral.coordinator_email == "m@x.example"


def test_the_networks_own_deadlines_in_the_event_are_laid_over_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("networks:\n  mechelen:\n    urgent: {triage: 1, matching: 2}\n")
    bridge = DownBridge(UNAVAILABLE, config=WorkflowConfig.load(path))
    envelope = submitted()
    envelope["payload"]["deadlines"] = {"urgent": {"matching": 4, "partner_response": 6},
                                        "normal": {"triage": 9}}
    referral = bridge.referral_input(envelope)
    assert (referral.deadlines.matching, referral.deadlines.partner_response) == (4, 6)
    assert referral.deadlines.triage == 1 and referral.deadlines.first_feedback == 5    # the file's, kept
    # values that do not fit (any more) are left out: the referral starts with the file's
    for bad in ({"urgent": {"partner_reminder": 7}}, {"urgent": {"flying": 2}}, {"urgent": {"triage": 0}},
                {"urgent": {"triage": "2"}}, "everything"):
        envelope["payload"]["deadlines"] = bad
        deadlines = bridge.referral_input(envelope).deadlines
        assert (deadlines.triage, deadlines.matching, deadlines.partner_reminder) == (1, 2, 1)
    envelope["payload"].pop("deadlines")      # events from before issue 9b: the file's
    assert bridge.referral_input(envelope).deadlines.matching == 2


def test_deadline_rules():
    from netsterk import deadlines as rules

    assert rules.clean(None) == {} and rules.clean({"normal": {}}) == {}
    assert rules.clean({"urgent": {"triage": 2, "draft": 60}}) == {"urgent": {"draft": 60, "triage": 2}}
    problems = [({"urgent": {"triage": 61}}, "deadlines.out_of_range"), ({"urgent": {"triage": True}}, "deadlines.out_of_range"),
                ({"soon": {}}, "deadlines.unknown_urgency"), ({"normal": {"lunch": 1}}, "deadlines.unknown_step"),
                ([1], "deadlines.not_a_mapping"), ({"normal": [1]}, "deadlines.not_a_mapping")]
    for value, key in problems:
        with pytest.raises(rules.DeadlineError) as error:
            rules.clean(value)
        assert error.value.key == key and error.value.text()
    defaults = {u: {step: 3 for step in rules.STEPS} for u in rules.URGENCIES}
    days = rules.merged(defaults, {"normal": {"partner_reminder": 1}})
    assert days["normal"]["partner_reminder"] == 1 and days["urgent"]["partner_reminder"] == 3
    rules.check_order(days["normal"] | {"school_efforts_reminder": 2})
    with pytest.raises(rules.DeadlineError) as error:
        rules.check_order(days["urgent"])
    assert "herinnering" in error.value.text() and "reminder" in error.value.text()


def test_act_while_temporal_is_down_is_retried_then_answered():
    bridge = DownBridge(UNAVAILABLE)
    request = {"args": ["r1", "close", {"by": "c"}], "kwargs": {"command_id": "cmd-1"}}
    first = FakeMessage(request)
    bridge.on_rpc(request, first, bridge.producer)
    assert not first.acked                      # running: answered when it finishes
    bridge.complete_rpcs()
    [(_, kwargs)] = bridge.producer.published
    assert first.acked and kwargs["routing_key"] == "rpc-workflow_bridge"
    assert kwargs["headers"] == {ATTEMPT_HEADER: 1, METHOD_HEADER: "act"}
    assert kwargs["reply_to"] == "reply-1" and kwargs["correlation_id"] == "corr-1"

    last = FakeMessage(request, routing_key="rpc-workflow_bridge",
                       headers={ATTEMPT_HEADER: RPC_ATTEMPTS - 1, METHOD_HEADER: "act"})
    bridge.on_rpc(request, last, bridge.producer)
    bridge.complete_rpcs()
    reply_body, reply_kwargs = bridge.producer.published[-1]
    assert reply_kwargs["routing_key"] == "reply-1"
    assert reply_body["error"]["exc_type"] == "TemporalUnavailable" and last.acked


@pytest.mark.parametrize("error,exc_type", [(REFUSED, "RPCError"), (ValueError("bad"), "ValueError")])
def test_act_refused_is_answered_at_once(error, exc_type):
    bridge = DownBridge(error)
    request = {"args": ["r1", "close", {"by": "c"}], "kwargs": {}}
    message = FakeMessage(request)
    bridge.on_rpc(request, message, bridge.producer)
    bridge.complete_rpcs()
    [(reply_body, _)] = bridge.producer.published
    assert bridge.pending == []
    assert reply_body["error"]["exc_type"] == exc_type and message.acked


def test_get_question_knows_two_kinds_of_link():
    import asyncio

    from workflows.bridge import InvalidAction
    bridge = DownBridge(UNAVAILABLE)
    with pytest.raises(InvalidAction, match="kind must be information or school_efforts"):
        asyncio.run(bridge.get_question("r1", "token", "payment"))


def test_a_slow_call_does_not_hold_up_the_others():
    """RPC calls run concurrently on the loop: a quick call is answered while a slow one waits."""
    import asyncio
    import threading
    import time

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    release = asyncio.Event()

    class SlowBridge(Bridge):
        async def get_referral(self, referral_id):
            await release.wait()
            return {"referral_id": referral_id}

        async def health(self):
            return {"status": "ok"}

    bridge = SlowBridge(client=None, amqp_uri="memory://", task_queue="q", loop=loop)
    producer = FakeProducer()
    slow = FakeMessage({"args": ["r1"], "kwargs": {}}, routing_key="workflow_bridge.get_referral")
    quick = FakeMessage({"args": [], "kwargs": {}}, routing_key="workflow_bridge.health")
    bridge.on_rpc({"args": ["r1"], "kwargs": {}}, slow, producer)
    bridge.on_rpc({"args": [], "kwargs": {}}, quick, producer)
    deadline = time.monotonic() + 5
    while not quick.acked and time.monotonic() < deadline:
        bridge.complete_rpcs()
        time.sleep(0.01)
    assert quick.acked and not slow.acked
    assert producer.published[0][0] == {"result": {"status": "ok"}, "error": None}
    loop.call_soon_threadsafe(release.set)
    while not slow.acked and time.monotonic() < deadline:
        bridge.complete_rpcs()
        time.sleep(0.01)
    assert slow.acked and producer.published[1][0]["result"] == {"referral_id": "r1"}
    loop.call_soon_threadsafe(loop.stop)


def test_a_hanging_amqp_thread_is_noticed_with_where_it_hangs():
    import threading
    import time

    from workflows.bridge import STALL_SECONDS, stalled

    bridge = DownBridge(UNAVAILABLE)
    release = threading.Event()

    def hangs_in_a_blocking_call():
        release.wait()

    thread = threading.Thread(target=hangs_in_a_blocking_call, daemon=True)
    thread.start()
    try:
        assert stalled(bridge, thread) is None                          # it beat just now
        later = bridge.beat + STALL_SECONDS + 1
        where = stalled(bridge, thread, now=later)
        assert where.startswith(f"no sign of life for {STALL_SECONDS + 1:.0f} s")
        assert "hangs_in_a_blocking_call" in where                       # the thread's own stack
        bridge.beat = time.monotonic()
        assert stalled(bridge, thread) is None
    finally:
        release.set()
        thread.join(5)
    assert stalled(bridge, thread, now=bridge.beat + STALL_SECONDS + 1) is None   # ended, not hung
