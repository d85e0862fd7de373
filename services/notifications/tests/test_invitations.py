"""notifications.send_invitation on the real nameko container and broker, to a real SMTP server:
an e-mail with an iCalendar attachment (METHOD:REQUEST), once per idempotency key; a refused or
failed send stores nothing and says why."""
from datetime import datetime, timedelta, timezone

import pytest
from nameko.exceptions import RemoteError

from netsterk import ical
from services.notifications.tests.test_service import notifications, smtp_port, smtp_server  # noqa: F401


def request(**overrides):
    start = datetime(2030, 3, 4, 13, 0, tzinfo=timezone.utc)
    ics = ical.invitation([ical.Event(uid="conf-1-0@netsterk", start=start, end=start + timedelta(hours=1),
                                      summary="Casusoverleg NS-2030-000001", location="CLB, zaal 2",
                                      attendees=[("zorg@school.example", "school")])],
                          organizer="meldpunt@netsterk.example")
    data = {"idempotency_key": "conference:conf-1:0:zorg@school.example", "to": "zorg@school.example",
            "lang": "nl", "subject": "Casusoverleg NS-2030-000001 [NS-2030-000001]",
            "body": "U bent uitgenodigd.", "ics": ics, "network": "mechelen",
            "referral_ref": "NS-2030-000001", "correlation_id": "corr-1"}
    data.update(overrides)
    return data


def test_an_invitation_arrives_once_with_its_ics(notifications, smtp_server):  # noqa: F811
    inbox = smtp_server()
    first = notifications.send_invitation(request())
    again = notifications.send_invitation(request())
    assert first["status"] == "sent" and again == {"status": "duplicate", "mail_id": first["mail_id"]}
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "zorg@school.example" and "NS-2030-000001" in message["Subject"]
    part = next(p for p in message.iter_attachments() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "REQUEST" and part.get_filename() == "invite.ics"
    method, events = ical.parse_events(part.get_content())
    assert method == "REQUEST" and events[0]["DTSTART"] == "20300304T130000Z"
    assert events[0]["ATTENDEE"] == ["zorg@school.example"]
    assert notifications.mail_status(first["mail_id"])["status"] == "sent"


def test_a_bad_invitation_is_refused_and_a_failed_send_stores_nothing(notifications, smtp_server):  # noqa: F811
    with pytest.raises(RemoteError) as refused:
        notifications.send_invitation(request(ics="not a calendar", to="nobody"))
    assert refused.value.exc_type == "InvalidEmailRequest" and "ics must be" in str(refused.value)
    with pytest.raises(RemoteError):                 # no SMTP server yet: the caller hears it
        notifications.send_invitation(request(idempotency_key="conference:conf-2:0:x"))
    inbox = smtp_server()
    assert notifications.send_invitation(request(idempotency_key="conference:conf-2:0:x"))["status"] == "sent"
    assert len(inbox.messages) == 1


def test_a_cancel_goes_out_as_cancel_ics(notifications, smtp_server):  # noqa: F811
    inbox = smtp_server()
    start = datetime(2030, 3, 5, 13, 0, tzinfo=timezone.utc)
    cancel = ical.invitation([ical.Event(uid="conf-1-1@netsterk", start=start, end=start + timedelta(hours=1),
                                         summary="Casusoverleg", sequence=1, status="CANCELLED")],
                             organizer="meldpunt@netsterk.example", method="CANCEL")
    with pytest.raises(RemoteError):               # a CANCEL calendar announced as a REQUEST
        notifications.send_invitation(request(idempotency_key="c:1:cancel", ics=cancel))
    sent = notifications.send_invitation(request(idempotency_key="c:1:cancel", ics=cancel, method="CANCEL"))
    assert sent["status"] == "sent"
    part = next(p for p in inbox.messages[0].iter_attachments() if p.get_content_type() == "text/calendar")
    assert part.get_param("method") == "CANCEL" and part.get_filename() == "cancel.ics"

