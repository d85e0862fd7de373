"""The offer catalogue on matching's real (migrated) database with the demo directory: search by
each criterion, plain descriptions, no staff data; sessions announced, registered, full, twice."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from netsterk import ical
from netsterk.db import session_scope
from netsterk.refusal import Refusal
from netsterk_ops import demo
from services.matching import catalogue


def search(factory, **criteria):
    with session_scope(factory) as session:
        return catalogue.search(session, "mechelen", **criteria)


def offers():
    return [dict(o, organisation_id=org["id"]) for org in demo.ORGANISATIONS for o in org["offers"]]


def test_search_by_each_criterion_matches_the_directory(factory):
    everything = search(factory)
    assert everything["total"] == len(offers()) and all(o["description"] for o in everything["offers"])
    assert "staff" not in str(everything) and not any("@arktos" in str(o.get("staff")) for o in everything["offers"])
    cases = {
        "concern": ("home_situation", lambda o: "home_situation" in o["categories"]),
        "age": ("8", lambda o: o["min_age"] <= 8 <= o["max_age"]),
        "area": ("Nekkerspoel", lambda o: "Nekkerspoel" in o.get("neighbourhoods", []) or "Nekkerspoel" in o["postcodes"]),
        "language": ("ar", lambda o: "ar" in o["languages"]),
    }
    for criterion, (value, expected) in cases.items():
        found = {o["offer_id"] for o in search(factory, **{criterion: value})["offers"]}
        want = {o["id"] for o in offers() if expected(o)}
        assert found == want and 0 < len(found) < len(offers()), criterion
    by_postcode = {o["offer_id"] for o in search(factory, area="2801")["offers"]}
    assert by_postcode and all("2801" in o["postcodes"] for o in search(factory, area="2801")["offers"])
    combined = search(factory, concern="learning", age="9", language="ar")
    assert combined["total"] >= 1 and all("ar" in o["languages"] and o["min_age"] <= 9 <= o["max_age"]
                                          for o in combined["offers"])
    assert search(factory, language="zz")["total"] == 0
    with pytest.raises(Refusal) as refused:
        search(factory, age="twaalf")
    assert refused.value.field == "age"


def test_partners_announce_sessions_and_professionals_register(factory):
    start = (datetime.now(timezone.utc) + timedelta(days=10)).replace(microsecond=0)
    data = {"kind": "training", "title": "Signalen van schoolverzuim", "theme": "truancy",
            "description": "Voor leerkrachten en zorgcoördinatoren.", "location": "Arktos, Mechelen",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(), "capacity": "2"}
    with session_scope(factory) as session:
        with pytest.raises(Refusal) as refused:
            catalogue.announce(session, "mechelen", "arktos", dict(data, theme="cooking"), "arktos",
                               ["truancy", "learning"])
        assert refused.value.field == "theme"
        with pytest.raises(Refusal):
            catalogue.announce(session, "kiel", "arktos", data, "arktos")       # not its network
        announced = catalogue.announce(session, "mechelen", "arktos", data, "arktos", ["truancy"])
    assert announced["places_left"] == 2 and announced["organisation"]
    person = {"name": "Ilse Claes", "organisation": "BS De Regenboog", "email": "ilse@regenboog.example"}
    with session_scope(factory) as session:
        assert catalogue.register(session, "mechelen", announced["id"], person)["places_left"] == 1
    with session_scope(factory) as session:
        with pytest.raises(Refusal) as refused:
            catalogue.register(session, "mechelen", announced["id"], person)
        assert refused.value.field == "email"
    with session_scope(factory) as session:
        catalogue.register(session, "mechelen", announced["id"], dict(person, email="jan@clb.example"))
    with session_scope(factory) as session:
        with pytest.raises(Refusal) as refused:
            catalogue.register(session, "mechelen", announced["id"], dict(person, email="x@y.example"))
        assert "volzet" in refused.value.message
        listed = catalogue.list_sessions(session, "mechelen")
        assert [s["title"] for s in listed] == ["Signalen van schoolverzuim"] and listed[0]["places_left"] == 0
        seen = catalogue.registrations(session, "mechelen", "arktos", announced["id"])
        assert [r["email"] for r in seen["registrations"]] == ["ilse@regenboog.example", "jan@clb.example"]
        with pytest.raises(Refusal):
            catalogue.registrations(session, "mechelen", "profo", announced["id"])   # not Profo's
        raw = str(list(session.execute(text("SELECT * FROM info_session_registration"))))
        assert "ilse@regenboog.example" not in raw and "Ilse Claes" not in raw
        mail = catalogue.registration_mail(session, "mechelen", announced["id"], "ilse@regenboog.example")
        assert mail["to"] == "ilse@regenboog.example" and "Ilse Claes" in mail["body"]
        method, events = ical.parse_events(mail["ics"])
        assert method == "REQUEST" and events[0]["DTSTART"] == start.strftime("%Y%m%dT%H%M%SZ")
        assert events[0]["ORGANIZER"] == "mailto:" + next(o["email"] for o in demo.ORGANISATIONS if o["id"] == "arktos")
        assert catalogue.registration_mail(session, "mechelen", announced["id"], "nobody@x.example") is None
