"""Test helpers for the portal (no nameko import: usable from every test process).

`PortalClient(url)` is a requests.Session that signs in (password, then the TOTP code when the
role has a second factor) and adds the CSRF token to every form it posts. `totp_codes(secret)`
hands out codes that were not used yet in this process (a code works once per account), for
browser tests."""
from __future__ import annotations

import re
import threading
import time

import requests

from services.portal.auth import TOTP_STEP, hotp

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
_used: dict[tuple[str, str], int] = {}
_lock = threading.Lock()


def fresh_code(secret: str, account: str = "") -> str:
    """A code for a time step this process has not used for `secret` on `account` yet (the portal
    refuses a step at or before the last one a user signed in with): the current step, else the
    next one (the server accepts one step of drift), else it waits for a new step. `account` names
    the user on one portal (its URL and username), so other users and other test portals sharing
    the demo key don't wait for each other."""
    key = (account, secret)
    while True:
        with _lock:
            current = int(time.time() // TOTP_STEP)
            last = _used.get(key, -1)
            for step in (current, current + 1):
                if step > last:
                    _used[key] = step
                    return hotp(secret, step)
        time.sleep(TOTP_STEP - time.time() % TOTP_STEP + 0.2)


class PortalClient(requests.Session):
    def __init__(self, url: str):
        super().__init__()
        self.url = url.rstrip("/")
        self.token: str | None = None

    def csrf(self) -> str:
        if self.token is None:
            page = super().request("GET", f"{self.url}/login", allow_redirects=False, timeout=20)
            found = CSRF_INPUT.search(page.text)
            if found is None:
                raise AssertionError("no CSRF token on /login (signed in already?)")
            self.token = found.group(1)
        return self.token

    def request(self, method, url, *args, **kwargs):
        if method.upper() == "POST" and kwargs.get("auth") is None:
            data = kwargs.get("data")
            if isinstance(data, dict) or data is None and kwargs.get("json") is None:
                kwargs["data"] = dict(data or {}, csrf_token=self.csrf())
            else:
                kwargs["headers"] = dict(kwargs.get("headers") or {}, **{"X-CSRF-Token": self.csrf()})
        if url.startswith("/"):
            url = self.url + url
        kwargs.setdefault("timeout", 20)
        return super().request(method, url, *args, **kwargs)

    def login(self, username: str, password: str, totp_secret: str | None = None, *, next_path: str = ""):
        """Sign in; returns the last response (a 303 to the page asked for when it worked)."""
        self.csrf()
        response = self.post(f"{self.url}/login", data={"username": username, "password": password,
                                                        "next": next_path}, allow_redirects=False)
        if response.status_code == 303 and "/login/totp" in response.headers.get("Location", ""):
            if totp_secret is None:
                raise AssertionError(f"{username} needs a TOTP secret to sign in")
            for _attempt in range(3):
                response = self.post(f"{self.url}/login/totp", data={"code": fresh_code(totp_secret, f"{self.url} {username}"),
                                                                     "next": next_path}, allow_redirects=False)
                if response.status_code != 401:
                    break
        return response


def anonymous_post(url: str, **kwargs) -> requests.Response:
    """POST like a browser that opened the site first (CSRF cookie and token), not signed in."""
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    with PortalClient(f"{parts.scheme}://{parts.netloc}") as client:
        return client.post(url, **kwargs)


_signed_in: dict[tuple[str, str], PortalClient] = {}


def signed_in(url: str, username: str, password: str = "netsterk-demo", totp_secret: str | None = None,
              *, cached: bool = True) -> PortalClient:
    """A client signed in as `username` (the demo's TOTP key by default), shared by the tests of
    one process so that a second factor code is not needed for every test."""
    if totp_secret is None:
        from netsterk_ops.demo import DEMO_TOTP_SECRET as totp_secret
    key = (url, username)
    if cached and key in _signed_in:
        return _signed_in[key]
    client = PortalClient(url)
    response = client.login(username, password, totp_secret)
    assert response.status_code == 303, (response.status_code, response.text[:500])
    if cached:
        _signed_in[key] = client
    return client


def browser_login(page, url: str, username: str, password: str = "netsterk-demo",
                  totp_secret: str | None = None, *, path: str = "/login") -> None:
    """Sign in in a real browser (Playwright page): the password form, then the code form when
    the portal asks for the second factor (the demo's TOTP key by default)."""
    if totp_secret is None:
        from netsterk_ops.demo import DEMO_TOTP_SECRET as totp_secret
    page.goto(f"{url.rstrip('/')}{path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()
    for _attempt in range(3):
        if "/login/totp" not in page.url:
            return
        page.fill("#code", fresh_code(totp_secret, f"{url.rstrip('/')} {username}"))
        page.click("#code-form button[type=submit]")
        page.wait_for_load_state()
