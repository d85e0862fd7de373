"""iCalendar (RFC 5545) invitations, written here without a library: one VCALENDAR with
METHOD:REQUEST (RFC 5546) and a VEVENT per proposed time. Lines end in CRLF and are folded at
75 octets; text values are escaped. Times are written in UTC (`...Z`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

PRODID = "-//Netsterk//Case conference//NL"


def escape_text(value: str) -> str:
    """TEXT escaping of RFC 5545 §3.3.11."""
    return (str(value).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets (continuation lines start with one space), never inside a
    UTF-8 character."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts, current, limit = [], b"", 75
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > limit:
            parts.append(current.decode("utf-8"))
            current, limit = b"", 74     # the leading space counts
        current += encoded
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)


def utc_stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("iCalendar times must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class Event:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    location: str = ""
    status: str = "CONFIRMED"          # CONFIRMED | TENTATIVE | CANCELLED
    sequence: int = 0
    attendees: list[tuple[str, str]] = field(default_factory=list)   # (e-mail, role label)


def invitation(events: list[Event], *, organizer: str, method: str = "REQUEST",
               now: datetime | None = None) -> str:
    """The text of a .ics file inviting the attendees to every event."""
    if method not in ("REQUEST", "CANCEL", "PUBLISH"):
        raise ValueError("method must be REQUEST, CANCEL or PUBLISH")
    if not events:
        raise ValueError("an invitation needs at least one event")
    stamp = utc_stamp(now or datetime.now(timezone.utc))
    lines = ["BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0", "CALSCALE:GREGORIAN",
             f"METHOD:{method}"]
    for event in events:
        if event.start.tzinfo is None or event.end.tzinfo is None:
            raise ValueError("iCalendar times must be timezone-aware")
        if event.end <= event.start:
            raise ValueError("an event must end after it starts")
        lines += ["BEGIN:VEVENT", f"UID:{event.uid}", f"DTSTAMP:{stamp}",
                  f"DTSTART:{utc_stamp(event.start)}", f"DTEND:{utc_stamp(event.end)}",
                  f"SEQUENCE:{event.sequence}", f"STATUS:{event.status}",
                  f"SUMMARY:{escape_text(event.summary)}",
                  f"ORGANIZER:mailto:{organizer}"]
        if event.description:
            lines.append(f"DESCRIPTION:{escape_text(event.description)}")
        if event.location:
            lines.append(f"LOCATION:{escape_text(event.location)}")
        for email, role in event.attendees:
            name = escape_text(role).replace('"', "'")
            lines.append(f'ATTENDEE;CN="{name}";ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{email}')
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def unfold(text: str) -> list[str]:
    """The content lines of an iCalendar text (folding undone), for readers and tests."""
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


def parse_events(text: str) -> tuple[str | None, list[dict]]:
    """(METHOD, [{property: value}]) of an iCalendar text: a small reader for what invitation() writes."""
    method, events, current = None, [], None
    for line in unfold(text):
        name, _, value = line.partition(":")
        key = name.split(";", 1)[0]
        if key == "METHOD" and current is None:
            method = value
        elif line == "BEGIN:VEVENT":
            current = {"ATTENDEE": []}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            if key == "ATTENDEE":
                current["ATTENDEE"].append(value.removeprefix("mailto:"))
            else:
                current[key] = value
    return method, events
