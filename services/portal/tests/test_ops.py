"""The ops area's log reading: warnings and errors by event name only, never the fields."""
from __future__ import annotations

from services.portal import ops_pages


def test_log_lines_give_the_event_name_only(tmp_path, monkeypatch):
    console = "2026-12-02 12:46:27 [error    ] portal_request_failed          path=/login email=x@y.be"
    json_line = '{"event": "bridge_timeout", "level": "warning", "timestamp": "2026-12-02T12:47:00Z", "ref": "NS-1"}'
    assert ops_pages.parse_log_line(console) == {"at": "2026-12-02 12:46:27", "level": "error",
                                                 "event": "portal_request_failed"}
    assert ops_pages.parse_log_line(json_line)["event"] == "bridge_timeout"
    assert ops_pages.parse_log_line("2026-12-02 12:46:27 [info     ] login role=coordinator") is None
    assert ops_pages.parse_log_line("Traceback (most recent call last):") is None
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "portal.log").write_text(console + "\n" + "noise\n" + json_line + "\n")
    monkeypatch.setenv("NETSTERK_VAR_DIR", str(tmp_path))
    from netsterk.settings import get_settings
    get_settings.cache_clear()
    try:
        found = ops_pages.recent_errors()
    finally:
        get_settings.cache_clear()
    assert [(f["process"], f["event"]) for f in found] == [("portal", "bridge_timeout"), ("portal", "portal_request_failed")]
    assert "x@y.be" not in str(found)
