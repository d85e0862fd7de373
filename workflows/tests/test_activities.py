"""The `send_email` activity over the real broker (a throw-away vhost): a request that names a
recipient role gets its address from `intake.contact_address` at send time; no address (the
school is the reporter, the referral was erased) means no mail; a refused role is not retried.
intake and notifications answer here from a small kombu RPC responder (this process must not
load nameko); the whole path with the real services runs in tests/test_privacy_e2e.py."""
from __future__ import annotations

import contextlib
import threading

import kombu
import pytest
from temporalio.exceptions import ApplicationError

from netsterk.amqp import connect, error_payload, reply, rpc_server_queue
from netsterk.contracts import INTAKE, NOTIFICATIONS
from netsterk.testing import rabbit_vhost
from workflows.referral.activities import ReferralActivities
from workflows.referral.shared import EmailRequest

pytestmark = pytest.mark.integration

CONTACTS = {("r-1", "reporter"): "an@school.example", ("r-1", "school_other_than_reporter"): None}


@pytest.fixture(scope="module")
def amqp_uri():
    with rabbit_vhost("netsterk_act") as uri:
        yield uri


@pytest.fixture
def services(amqp_uri):
    """intake.contact_address and notifications.send_email, answering from this thread."""
    calls, stop, ready = [], threading.Event(), threading.Event()

    def answer(body, message, producer):
        method = message.delivery_info["routing_key"].rpartition(".")[2]
        args = body.get("args") or []
        calls.append((method, args))
        if method == "contact_address":
            referral_id, role = args[0], args[1]
            if role not in ("reporter", "school_or_reporter", "school_other_than_reporter"):
                error = error_payload(ValueError(f"role must be one of ... not {role}"))
                reply(producer, message, error=error)
            elif referral_id not in {key[0] for key in CONTACTS}:
                reply(producer, message, error=error_payload(LookupError(f"no referral {referral_id}")))
            else:
                reply(producer, message, result=CONTACTS[(referral_id, role)])
        else:
            reply(producer, message, result={"status": "sent", "mail_id": "m-1"})
        message.ack()

    def serve():
        with connect(amqp_uri) as connection:
            channel = connection.channel()
            producer = kombu.Producer(channel)
            queues = [rpc_server_queue(INTAKE), rpc_server_queue(NOTIFICATIONS)]
            with kombu.Consumer(channel, queues=queues, accept=["json"],
                                callbacks=[lambda body, message: answer(body, message, producer)]):
                ready.set()
                while not stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        connection.drain_events(timeout=0.2)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(20)
    yield calls
    stop.set()
    thread.join(10)


def request(referral_id: str, recipient: str | None, to: str | None = None) -> EmailRequest:
    return EmailRequest(workflow_id=f"referral-{referral_id}", purpose="reporter_received",
                        template="reporter_received", to=to, lang="nl", context={"ref": "NS-1"},
                        network="mechelen", referral_ref="NS-1", correlation_id="c-1", recipient=recipient)


def test_send_email_resolves_the_recipient_at_send_time(amqp_uri, services):
    activities = ReferralActivities(amqp_uri=amqp_uri, portal_url="http://portal.test",
                                    coordinator_email="coord@netsterk.example", rpc_timeout=10)
    assert activities.send_email(request("r-1", "reporter"))["status"] == "sent"
    assert services[0] == ("contact_address", ["r-1", "reporter", "notification"])
    method, [body] = services[1]
    assert method == "send_email" and body["to"] == "an@school.example"
    assert body["context"]["status_url"].startswith("http://portal.test/")

    services.clear()       # the school is the reporter: intake has no separate address, no mail
    assert activities.send_email(request("r-1", "school_other_than_reporter")) == {"status": "no_recipient"}
    assert [m for m, _ in services] == ["contact_address"]
    services.clear()       # erased, or unknown to intake: nobody to mail
    assert activities.send_email(request("r-gone", "reporter")) == {"status": "no_recipient"}
    services.clear()       # an address in the request (a run from before the patch) is used as is
    activities.send_email(request("r-1", None, to="old@school.example"))
    assert [m for m, _ in services] == ["send_email"] and services[0][1][0]["to"] == "old@school.example"
    with pytest.raises(ApplicationError) as refused:
        activities.send_email(request("r-1", "partner"))
    assert refused.value.non_retryable and refused.value.type == "InvalidEmailRequest"
