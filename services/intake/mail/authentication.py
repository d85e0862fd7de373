"""Is the sender who the mail says? Reads the Authentication-Results header (RFC 8601) that the
receiving mail server (our MX / relay in front of the gateway) adds after checking SPF, DKIM and
DMARC, and flags a failure for the coordinator's review instead of acting on the mail.

Only a header from a trusted authentication service counts: the one named in
settings.intake_mail_authserv_ids (comma-separated), or, when none are configured, the topmost
Authentication-Results header (the last hop, which our own server prepends). A sender cannot
vouch for itself with a header of its own further down."""
from __future__ import annotations

import base64
import re
from email import policy
from email.parser import BytesHeaderParser

FAILING = {"spf": ("fail", "softfail", "permerror"), "dkim": ("fail", "permerror"),
           "dmarc": ("fail",)}
_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)


def _strip_comments(text: str) -> str:
    depth, out = 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif not depth:
            out.append(char)
    return "".join(out)


def parse_header(value: str) -> tuple[str, dict[str, list[str]]]:
    """(authserv-id, {method: [results]}) of one Authentication-Results header value."""
    text = " ".join(_strip_comments(str(value)).split())
    authserv, _, rest = text.partition(";")
    results: dict[str, list[str]] = {}
    for method, result in _RESULT.findall(rest):
        results.setdefault(method.lower(), []).append(result.lower())
    return authserv.strip().split(" ")[0].lower(), results


def trusted_results(headers: list[str], trusted_ids: set[str]) -> dict[str, list[str]] | None:
    """The results of the trusted header(s); None when no trusted header is present."""
    parsed = [parse_header(h) for h in headers]
    if trusted_ids:
        chosen = [results for authserv, results in parsed if authserv in trusted_ids]
    else:
        chosen = [results for _authserv, results in parsed[:1]]
    if not chosen:
        return None
    merged: dict[str, list[str]] = {}
    for results in chosen:
        for method, values in results.items():
            merged.setdefault(method, []).extend(values)
    return merged


def failures(results: dict[str, list[str]] | None) -> list[str]:
    """['spf=fail', ...]: the checks that failed. DKIM counts as failed only when no signature
    passed (a mail may carry several)."""
    if not results:
        return []
    found = []
    for method, bad in FAILING.items():
        values = results.get(method) or []
        if method == "dkim" and "pass" in values:
            continue
        found += [f"{method}={v}" for v in values if v in bad]
    return sorted(set(found))


def check_raw(raw: bytes, trusted_ids: set[str]) -> dict:
    """{verified: bool|None, failures: [...], results: {...}} for a raw message; verified None
    when no trusted Authentication-Results header is there (nothing to go by)."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        values = [str(v) for v in headers.get_all("Authentication-Results") or []]
    except Exception:
        values = []
    results = trusted_results(values, trusted_ids)
    failed = failures(results)
    return {"verified": None if results is None else not failed, "failures": failed,
            "results": results or {}}


def check_stored(raw_b64: str, trusted_ids: set[str]) -> dict:
    return check_raw(base64.b64decode(raw_b64 or ""), trusted_ids)
