"""Unit tests of send_email request validation."""
import pytest

from services.notifications.schemas import InvalidEmailRequest, validate_send_request


def request(**overrides):
    data = {"idempotency_key": "k1", "to": "school@example.org", "template": "reporter_received",
            "lang": "nl", "context": {}, "network": "mechelen", "referral_ref": "NS-2026-000001",
            "correlation_id": "c1"}
    data.update(overrides)
    return data


def test_valid_request_gets_the_ref_in_its_context():
    clean = validate_send_request(request())
    assert clean["context"] == {"ref": "NS-2026-000001"}


def test_every_problem_is_listed():
    with pytest.raises(InvalidEmailRequest) as info:
        validate_send_request(request(idempotency_key="", to="a@b", template="x", lang="de",
                                      context=[], network="", referral_ref="NS\r\nX"))
    problems = info.value.problems
    assert len(problems) == 7
    assert "to is not a valid e-mail address" in problems
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("address", ["a@b.c", "two@@example.org", "a b@example.org",
                                     "a@example.org, b@example.org", "<a@example.org>"])
def test_bad_addresses_are_refused(address):
    with pytest.raises(InvalidEmailRequest):
        validate_send_request(request(to=address))
