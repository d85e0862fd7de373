"""The analyst area on the real stack: events over the real broker into reporting, the portal's
report pages, charts and exports over HTTP, and an analyst kept away from referrals."""
import io

import pytest
import requests

from netsterk import amqp
from netsterk.testing import wait_until
from netsterk_ops.demo import DEMO_TOTP_SECRET
from services.portal.testing import PortalClient, signed_in
from services.reporting.tests import fixture

NETWORK = "e2e-reports"
ANALYST = {"username": "analyst-e2e", "password": "analyst-e2e-pass"}


@pytest.fixture(scope="module")
def analyst(live_stack):
    settings, _stack = live_stack
    amqp.rpc_call(settings.amqp_uri, "portal", "upsert_user", ANALYST["username"], ANALYST["password"],
                  "analyst", NETWORK, timeout=30)
    connection = amqp.connect(settings.amqp_uri)
    try:
        # the real bridge starts workflows for these submissions too: their own state changes
        # must not be mistaken for the fixture's (same deterministic message ids)
        for source, event_type, envelope in fixture.events(NETWORK):
            amqp.publish_event(connection, source, event_type,
                               dict(envelope, message_id=f"fixture-{envelope['message_id']}"))
    finally:
        connection.close()

    def complete():
        report = amqp.rpc_call(settings.amqp_uri, "reporting", "dashboard", NETWORK, 2026, timeout=30)
        outcomes = next(t for t in report["tables"] if t["id"] == "outcomes_per_offer")
        return report["tables"][0]["row_totals"] == [12] and len(outcomes["rows"]) == 2
    wait_until(complete, timeout=60, what="the fixture history in reporting")
    session = PortalClient(settings.portal_url)
    response = session.login(ANALYST["username"], ANALYST["password"], next_path="/reports")
    assert response.status_code == 303 and response.headers["Location"] == "/reports"
    yield settings, session
    session.close()


def test_analyst_sees_protected_reports_and_charts(analyst):
    settings, session = analyst
    page = session.get(f"{settings.portal_url}/reports?year=2026", timeout=30)
    assert page.status_code == 200
    html = page.text
    for title in ("Meldingen per maand", "Hiaten: welke nood, waar", "Resultaat per aanbod",
                  "Tijd per fase en termijnen", "Weigeringen per reden",
                  "Rechtstreekse inschakelingen naast meldingen via het meldpunt",
                  "Herhaalde meldingen van dezelfde jongere"):
        assert title in html
    assert "&lt;5" in html and ">x<" in html
    assert "teacher@school.example" not in html and "NS-2026-" not in html
    chart = session.get(f"{settings.portal_url}/reports/charts/referrals_by_category.svg?year=2026", timeout=30)
    assert chart.status_code == 200 and chart.headers["Content-Type"].startswith("image/svg+xml")
    assert chart.text.startswith("<svg")
    assert session.get(f"{settings.portal_url}/reports/charts/nothing.svg", timeout=30).status_code == 422


def test_exports_and_periodic_report_download(analyst):
    import duckdb
    import pandas

    settings, session = analyst
    csv = session.get(f"{settings.portal_url}/reports/export.csv?year=2026", timeout=30)
    assert csv.status_code == 200 and "attachment" in csv.headers["Content-Disposition"]
    frame = pandas.read_csv(io.StringIO(csv.text))
    total = frame[(frame.table == "referrals_per_month") & (frame.column == "total")]["value"].tolist()
    assert total == ["12"]
    parquet = session.get(f"{settings.portal_url}/reports/export.parquet?year=2026", timeout=30)
    assert parquet.status_code == 200
    relation = duckdb.from_arrow(__import__("pyarrow.parquet").parquet.read_table(io.BytesIO(parquet.content)))
    assert relation.aggregate("count(*)").fetchall()[0][0] == len(frame)
    report = session.get(f"{settings.portal_url}/reports/periodic.html?year=2026", timeout=30)
    assert report.status_code == 200 and "attachment" in report.headers["Content-Disposition"]
    assert "<svg" in report.text and "Signalen en tendensen e2e-reports 2026" in report.text
    assert session.get(f"{settings.portal_url}/reports?year=20x6", timeout=30).status_code == 422


def test_analyst_cannot_open_referrals_or_tasks(analyst):
    settings, session = analyst
    assert session.get(f"{settings.portal_url}/referrals/{NETWORK}-r01", timeout=30).status_code == 403
    start = session.get(f"{settings.portal_url}/", timeout=30, allow_redirects=False)   # no inbox: to the reports
    assert start.status_code == 303 and start.headers["Location"] == "/reports"
    assert session.get(f"{settings.portal_url}/api/v1/tasks", timeout=30).status_code == 403
    assert session.get(f"{settings.portal_url}/account/tokens", timeout=30).status_code == 403   # no API token
    # a password is no way into the API (it would skip the second factor): refused, with the way to a token
    api = requests.get(f"{settings.portal_url}/api/v1/tasks", auth=(ANALYST["username"], ANALYST["password"]),
                       timeout=30)
    assert api.status_code == 401 and "Bearer" in api.json()["error"]


def test_reports_need_a_login_and_a_report_role(live_stack):
    settings, _stack = live_stack
    anonymous = requests.get(f"{settings.portal_url}/reports", timeout=30, allow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["Location"]
    amqp.rpc_call(settings.amqp_uri, "portal", "upsert_user", "ops-e2e", "ops-e2e-pass", "ops", NETWORK,
                  timeout=30, totp_secret=DEMO_TOTP_SECRET)
    ops = signed_in(settings.portal_url, "ops-e2e", "ops-e2e-pass")
    assert ops.get(f"{settings.portal_url}/reports", timeout=30).status_code == 403
    assert ops.get(f"{settings.portal_url}/reports/export.csv", timeout=30).status_code == 403
