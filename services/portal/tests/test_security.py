"""The response layer of services/portal/security.py without a server: the CSRF field goes into
every post form (whoever wrote the page), the check, the headers, the page language."""
from __future__ import annotations

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from netsterk import i18n
from services.portal import pages, security


def request(method="GET", path="/", data=None, headers=None, cookies=None) -> Request:
    builder = EnvironBuilder(method=method, path=path, data=data, headers=headers or {})
    for name, value in (cookies or {}).items():
        builder.headers.add("Cookie", f"{name}={value}")
    return Request(builder.get_environ())


def test_every_post_form_gets_the_token_and_get_forms_do_not():
    html = ('<form method="post" action="/a"></form><FORM class="x" method=POST action="/b"></FORM>'
            '<form method="get" action="/"></form><form action="/c" method=\'post\'>')
    response = security.finish(request(cookies={"netsterk_csrf": "abc"}), Response(html, mimetype="text/html"))
    text = response.get_data(as_text=True)
    token = security.csrf_token("abc")
    assert text.count(f'name="csrf_token" value="{token}"') == 3
    assert '<form method="get" action="/"><input' not in text
    assert "netsterk_csrf" not in response.headers.get("Set-Cookie", "")      # kept, not renewed


def test_a_first_visit_gets_a_cookie_and_the_matching_token():
    response = security.finish(request(), Response('<form method="post"></form>', mimetype="text/html"))
    cookie = response.headers["Set-Cookie"]
    value = cookie.split("netsterk_csrf=")[1].split(";")[0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert security.csrf_token(value) in response.get_data(as_text=True)


def test_the_check():
    token = security.csrf_token("abc")
    assert security.csrf_ok(request())
    assert not security.csrf_ok(request("POST", "/login", data={"username": "x"}, cookies={"netsterk_csrf": "abc"}))
    assert not security.csrf_ok(request("POST", "/login", data={"csrf_token": token}))               # no cookie
    assert not security.csrf_ok(request("POST", "/login", data={"csrf_token": token}, cookies={"netsterk_csrf": "abd"}))
    assert security.csrf_ok(request("POST", "/login", data={"csrf_token": token}, cookies={"netsterk_csrf": "abc"}))
    assert security.csrf_ok(request("POST", "/api/v1/x", headers={"X-CSRF-Token": token}, cookies={"netsterk_csrf": "abc"}))
    assert security.csrf_ok(request("POST", "/api/v1/x", headers={"Authorization": "Bearer nst_x"}))
    assert not security.csrf_ok(request("POST", "/api/v1/x", headers={"Authorization": "Basic eDp5"},
                                        cookies={"netsterk_session": "s"}))   # passwords are no way around it
    assert security.csrf_ok(request("POST", "/api/v1/x"))             # no session: the API answers 401
    assert not security.csrf_ok(request("POST", "/api/v1/x", cookies={"netsterk_session": "s"}))


def test_security_headers_on_every_response_and_csp_on_pages():
    page = security.finish(request(), Response("<p>x</p>", mimetype="text/html"))
    data = security.finish(request(), Response("{}", mimetype="application/json"))
    for response in (page, data):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_language_links_return_to_the_page_and_the_page_speaks_one_language():
    html = pages.layout("Titel", "<p>x</p>")
    response = security.finish(request(path="/referrals/r1"), Response(html, mimetype="text/html"))
    assert 'href="/language?lang=en&amp;next=/referrals/r1"' in response.get_data(as_text=True)
    assert security.request_language(request(cookies={"netsterk_lang": "en"})) == "en"
    assert security.request_language(request(cookies={"netsterk_lang": "both"})) is None
    token = i18n.set_display_language("en")
    try:
        english = pages.layout("Title", "")
    finally:
        i18n.reset_display_language(token)
    assert '<html lang="en">' in english and "Log out" not in english and "Skip to content" in english
    assert "Naar de inhoud / Skip to content" in pages.layout("T", "")
