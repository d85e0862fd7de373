"""reporting's real nameko container on the real broker: real nameko events in, RPC and HTTP out."""
import uuid

import kombu
import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy

from netsterk import amqp, contracts
from netsterk.envelope import make_envelope
from netsterk.testing import wait_until
from services.reporting.service import ReportingService


@pytest.fixture
def reporting(run_service, amqp_uri):
    container = run_service(ReportingService)
    base = f"http://{container.config['WEB_SERVER_ADDRESS']}"
    with ServiceRpcProxy("reporting", {"AMQP_URI": amqp_uri}) as proxy:
        yield base, proxy


@pytest.fixture
def publish(amqp_uri):
    connection = amqp.connect(amqp_uri)

    def send(source, event_type, body):
        amqp.publish_event(connection, source, event_type, body)
        return body
    yield send
    connection.close()


def submitted(network="mechelen", categories=("truancy",), referral_id=None):
    referral_id = referral_id or str(uuid.uuid4())
    return make_envelope(contracts.REFERRAL_SUBMITTED, {
        "referral_id": referral_id, "ref": "NS-2026-000001", "network": network, "channel": "web",
        "categories": list(categories), "postcode": "2800", "age": 15, "school_level": "secondary",
        "languages": ["nl"], "urgency": "normal", "school_efforts_done": True,
        "reporter_lang": "nl", "submitted_at": "2026-11-24T08:00:00+00:00"}, network=network, referral_ref="NS-2026-000001")


def state_changed(referral_id, to_state, at, sequence, network="mechelen"):
    return make_envelope(contracts.REFERRAL_STATE_CHANGED, {
        "referral_id": referral_id, "ref": "NS-2026-000001", "network": network,
        "from_state": None, "to_state": to_state, "by": "system", "reason": None, "at": at,
        "categories": ["truancy"], "due_at": None, "fhir_status": "received"},
        network=network, referral_ref="NS-2026-000001",
        message_id=f"referral-{referral_id}:{sequence}")


def counts_reach(proxy, network, total):
    return wait_until(lambda: (c := proxy.counts(network))["total"] == total and c,
                      timeout=20, what=f"{total} referrals counted in {network}")


def test_health(reporting):
    assert reporting[1].health() == {"service": "reporting", "status": "ok"}


def test_events_become_counts_and_a_duplicate_counts_once(reporting, publish):
    _base, proxy = reporting
    first = publish(contracts.INTAKE, contracts.REFERRAL_SUBMITTED, submitted())
    publish(contracts.INTAKE, contracts.REFERRAL_SUBMITTED, first)          # redelivered duplicate
    publish(contracts.INTAKE, contracts.REFERRAL_SUBMITTED,
            submitted(categories=("truancy", "home_situation")))
    publish(contracts.INTAKE, contracts.REFERRAL_SUBMITTED, submitted(network="gent"))
    counts_reach(proxy, "gent", 1)
    counts = counts_reach(proxy, "mechelen", 2)
    assert counts == {"network": "mechelen", "total": 2, "by_state": {"submitted": 2},
                      "by_category": {"home_situation": 1, "truancy": 2}}


def test_state_changes_apply_in_order_of_at_even_when_delivered_out_of_order(reporting, publish):
    _base, proxy = reporting
    early = str(uuid.uuid4())
    # the workflow's state change overtakes the submission
    publish(contracts.WORKFLOW, contracts.REFERRAL_STATE_CHANGED,
            state_changed(early, "matching", "2026-11-24T10:00:00+00:00", 2))
    wait_until(lambda: proxy.counts("mechelen")["by_state"] == {"matching": 1}, timeout=20,
               what="the fact created from the state change")
    publish(contracts.INTAKE, contracts.REFERRAL_SUBMITTED, submitted(referral_id=early))
    publish(contracts.WORKFLOW, contracts.REFERRAL_STATE_CHANGED,
            state_changed(early, "triage", "2026-11-24T09:00:00+00:00", 1))      # older, late
    publish(contracts.WORKFLOW, contracts.REFERRAL_STATE_CHANGED,
            state_changed(early, "in_progress", "2026-11-24T11:00:00+00:00", 3))
    wait_until(lambda: proxy.counts("mechelen")["by_state"] == {"in_progress": 1}, timeout=20,
               what="the newest state")
    assert proxy.counts("mechelen")["total"] == 1


def test_public_http_view_suppresses_small_cells(reporting, publish):
    base, proxy = reporting
    for _ in range(5):
        publish(contracts.INTAKE, contracts.REFERRAL_SUBMITTED, submitted())
    publish(contracts.INTAKE, contracts.REFERRAL_SUBMITTED, submitted(categories=("leisure",)))
    counts_reach(proxy, "mechelen", 6)
    response = requests.get(f"{base}/api/v1/reports/counts", params={"network": "mechelen"}, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"network": "mechelen", "total": 6, "by_state": {"submitted": 6},
                               "by_category": {"leisure": "<5", "truancy": 5}}
    assert proxy.counts("mechelen")["by_category"] == {"leisure": 1, "truancy": 5}

    missing = requests.get(f"{base}/api/v1/reports/counts", timeout=10)
    assert missing.status_code == 400
    assert "?network=<code>" in missing.json()["error"]


def test_malformed_messages_end_in_the_dead_letter_queue(reporting, publish, amqp_uri):
    _base, proxy = reporting
    publish(contracts.INTAKE, contracts.REFERRAL_SUBMITTED, {"hello": "not an envelope"})
    bad_payload = state_changed(str(uuid.uuid4()), "triage", "not a time", 1)
    publish(contracts.WORKFLOW, contracts.REFERRAL_STATE_CHANGED, bad_payload)

    def parked(consumer, wanted):
        """The parked message `wanted` picks out (other tests of the session vhost may have
        parked theirs in the same queue before)."""
        with kombu.Connection(amqp_uri) as connection:
            queue = amqp.dead_letter_queue(consumer)(connection.channel())
            queue.declare()
            while (message := queue.get(no_ack=True)) is not None:
                if wanted(message.payload):
                    return message.payload
        return None

    dead = wait_until(lambda: parked("reporting.on_referral_submitted",
                                     lambda p: p["body"] == {"hello": "not an envelope"}), timeout=20,
                      what="the malformed submission in the dead-letter queue")
    assert "envelope misses" in dead["error"]
    dead = wait_until(lambda: parked("reporting.on_state_changed", lambda p: isinstance(p["body"], dict)
                                     and p["body"].get("message_id") == bad_payload["message_id"]),
                      timeout=20, what="the bad state change in the dead-letter queue")
    assert "ISO 8601" in dead["error"]
    assert proxy.counts("mechelen")["total"] == 0


def test_fixture_history_dashboard_exports_and_rebuild_equal_live(reporting, publish, settings_env, tmp_path):
    """Every kind of event through the real broker; the protected dashboard, the exports, and
    `netsterk reports rebuild --check` on the service's own database (same numbers)."""
    import base64
    import io

    import duckdb
    import pandas

    from netsterk_ops.cli import main
    from services.reporting.tests import fixture

    _base, proxy = reporting
    items = fixture.events("svc")
    for source, event_type, envelope in items:
        publish(source, event_type, envelope)
    counts_reach(proxy, "svc", 12)
    wait_until(lambda: proxy.gap_counts("svc")["total"] == 1, timeout=20, what="the gap")
    wait_until(lambda: next(t for t in proxy.dashboard("svc", 2026)["tables"]
                            if t["id"] == "outcomes_per_offer")["rows"] == ["arktos-naft", "jam-jeugdwerk"],
               timeout=20, what="every event applied")
    live = proxy.dashboard("svc", 2026)
    month = live["tables"][0]
    assert month["id"] == "referrals_per_month" and month["row_totals"] == [12]
    assert month["cells"][0][2:4] == ["x", "<5"]
    assert proxy.dashboard("svc")["year"] == 2026           # the latest year with data

    frame = pandas.read_csv(io.StringIO(proxy.export("svc", 2026, "csv")))
    assert "<5" in set(frame["value"])
    path = tmp_path / "svc.parquet"
    path.write_bytes(base64.b64decode(proxy.export("svc", 2026, "parquet")))
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0] == len(frame)
    svg = proxy.chart("svc", 2026, "referrals_per_month", "en")
    assert svg.startswith("<svg") and "Referrals per month" in svg
    assert "<svg" in proxy.periodic_report("svc", 2026, "nl")

    assert main(["reports", "rebuild", "--check"]) == 0
    assert main(["reports", "rebuild"]) == 0
    assert proxy.dashboard("svc", 2026) == live


def test_bad_report_requests_are_refused(reporting):
    from nameko.exceptions import RemoteError

    _base, proxy = reporting
    with pytest.raises(RemoteError, match="InvalidReport"):
        proxy.dashboard("svc", 1700)
    with pytest.raises(RemoteError, match="UnknownChart"):
        proxy.chart("svc", 2026, "pie_of_names", "nl")
    with pytest.raises(RemoteError, match="InvalidExport"):
        proxy.export("svc", 2026, "xlsx")


def test_erasure_removes_the_referrals_facts_and_counts_and_confirms(reporting, publish, settings_env):
    """`intake.referral_erased`: the facts, transitions, engagements and logged events of the
    referral go and the counts no longer include it; a rebuild does not bring it back; reporting
    confirms (also a repeated message)."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from netsterk.db import make_engine
    from netsterk.testing import erasure_event, erasure_receipts
    from services.reporting.models import EventLog, ReferralFact, TransitionFact

    _base, proxy = reporting
    gone, kept = submitted(), submitted()
    gone_id = gone["payload"]["referral_id"]
    for body in (gone, kept):
        publish(contracts.INTAKE, contracts.REFERRAL_SUBMITTED, body)
    publish(contracts.WORKFLOW, contracts.REFERRAL_STATE_CHANGED,
            state_changed(gone_id, "triage", "2026-11-24T09:00:00+00:00", 1))
    counts_reach(proxy, "mechelen", 2)
    engine = make_engine(settings_env.database_url("reporting"))
    wait_until(lambda: Session(engine).scalar(select(func.count()).select_from(TransitionFact)) == 1,
               what="the transition fact")
    event = erasure_event(gone_id)
    with erasure_receipts(settings_env.amqp_uri, "reporting") as take:
        publish(contracts.INTAKE, contracts.REFERRAL_ERASED, event)
        publish(contracts.INTAKE, contracts.REFERRAL_ERASED, event)
        # both confirm (concurrent workers: either may come first); one of them removed it all
        second, first = sorted(take(2), key=lambda r: bool(r["payload"]["removed"]))
    assert first["payload"]["service"] == "reporting"
    assert first["payload"]["removed"]["referral_fact"] == 1 and first["payload"]["removed"]["transition_fact"] == 1
    assert first["payload"]["removed"]["event_log"] == 2 and second["payload"]["removed"] == {}
    assert proxy.counts("mechelen") == {"network": "mechelen", "total": 1, "by_state": {"submitted": 1},
                                        "by_category": {"truancy": 1}}
    with Session(engine) as session:
        for model in (ReferralFact, TransitionFact, EventLog):
            assert session.scalar(select(func.count()).select_from(model)
                                  .where(model.referral_id == gone_id)) == 0
    from services.reporting import domain
    from netsterk.db import session_scope
    from sqlalchemy.orm import sessionmaker
    with session_scope(sessionmaker(engine)) as session:
        domain.rebuild(session)
    assert proxy.counts("mechelen")["total"] == 1
    engine.dispose()
