"""netsterk.ical: RFC 5545 text (CRLF, folding at 75 octets, escaping, UTC times) and METHOD:REQUEST."""
from datetime import datetime, timedelta, timezone

import pytest

from netsterk import ical


def test_an_invitation_is_valid_icalendar_text():
    start = datetime(2030, 3, 4, 14, 0, tzinfo=timezone(timedelta(hours=1)))
    text = ical.invitation([ical.Event(
        uid="c-0@netsterk", start=start, end=start + timedelta(minutes=90), status="TENTATIVE",
        summary="Casusoverleg NS-2030-000001; één, twee", description="Lijn 1\nLijn 2 " + "é" * 60,
        location="CLB, zaal 2", attendees=[("a@b.example", "school"), ("c@d.example", "partner")])],
        organizer="meldpunt@netsterk.example", now=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert "METHOD:REQUEST\r\n" in text and "VERSION:2.0\r\n" in text
    method, events = ical.parse_events(text)
    event = events[0]
    assert method == "REQUEST" and event["DTSTART"] == "20300304T130000Z" and event["DTEND"] == "20300304T143000Z"
    assert event["SUMMARY"] == r"Casusoverleg NS-2030-000001\; één\, twee"
    assert event["DESCRIPTION"].startswith(r"Lijn 1\nLijn 2 ") and event["DESCRIPTION"].endswith("é" * 60)
    assert event["ATTENDEE"] == ["a@b.example", "c@d.example"] and event["STATUS"] == "TENTATIVE"
    assert event["DTSTAMP"] == "20300101T000000Z" and event["ORGANIZER"] == "mailto:meldpunt@netsterk.example"


def test_bad_events_are_refused():
    start = datetime(2030, 3, 4, 14, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        ical.invitation([ical.Event(uid="x", start=start, end=start, summary="s")], organizer="o@x.example")
    with pytest.raises(ValueError):
        ical.invitation([ical.Event(uid="x", start=start.replace(tzinfo=None), end=start, summary="s")],
                        organizer="o@x.example")
    with pytest.raises(ValueError):
        ical.invitation([], organizer="o@x.example")
