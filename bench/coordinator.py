"""A coordinator as the benchmarks play it: reads a referral's state and acts on it over the
portal's JSON API with a personal API token (made once on the portal's tokens page, after the
second factor), one HTTP session per thread. Used by bench_e2e and bench_workflows."""
from __future__ import annotations

import os
import threading
import time

import requests

from services.portal.testing import api_auth

COORDINATOR = ("coordinator", "netsterk-demo")
POLL = float(os.environ.get("BENCH_POLL", "0.2"))   # seconds between state reads


class Coordinator:
    def __init__(self, portal_url: str, *, timeout: float = 300.0):
        self.portal_url = portal_url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()

    def http(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._local.session.auth = api_auth(self.portal_url, *COORDINATOR)   # one token, shared
        return self._local.session

    def state(self, referral_id: str, wanted: str) -> dict:
        """Wait until the referral is in `wanted`; its JSON."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            response = self.http().get(f"{self.portal_url}/api/v1/referrals/{referral_id}", timeout=60)
            if response.ok and response.json().get("state") == wanted:
                return response.json()
            time.sleep(POLL)
        raise TimeoutError(f"{referral_id} not in {wanted}")

    def act(self, referral_id: str, action: str, **args) -> None:
        response = self.http().post(f"{self.portal_url}/api/v1/referrals/{referral_id}/actions/{action}",
                                    json=args, timeout=60)
        if response.status_code != 200:
            raise RuntimeError(f"{action}: {response.status_code} {response.text[:200]}")

    def to_partner(self, referral_id: str, *, wait: bool = False) -> None:
        """Triage (accept) and choose the best-ranked offer: the partner's request goes out."""
        self.state(referral_id, "triage")
        self.act(referral_id, "triage", decision="accept", reason="school deed genoeg")
        best = self.state(referral_id, "matching")["candidates"][0]
        self.act(referral_id, "choose_partner", offer_ids=[best["offer_id"]])
        if wait:
            self.state(referral_id, "awaiting_partner")
