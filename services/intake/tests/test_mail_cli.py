"""`netsterk mail parse FILE` as ops run it: a subprocess, one JSON object, exit codes."""
import json
import subprocess
import sys

from netsterk.settings import REPO_ROOT, SHARED_DIR

OURS = REPO_ROOT / "tests" / "data" / "mail"
SHARED = SHARED_DIR / "mail-corpus"
KEYS = {"message_id", "from", "subject", "date", "kind", "reference", "text", "attachments", "problems"}


def netsterk(*args):
    return subprocess.run([sys.executable, "-m", "netsterk_ops.cli", *map(str, args)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


def test_parse_prints_one_json_object():
    for path, kind in ((OURS / "reply_with_pdf.eml", "reply"), (OURS / "bounce_exchange.eml", "bounce"),
                       (OURS / "ooo_outlook_nl.eml", "auto_reply"),
                       (SHARED / "zammad_mail078-content_transfer_encoding_x_uuencode.eml", "referral")):
        result = netsterk("mail", "parse", path)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        data = json.loads(result.stdout)
        assert KEYS <= set(data) and data["kind"] == kind
    pdf = json.loads(netsterk("mail", "parse", OURS / "reply_with_pdf.eml").stdout)
    assert pdf["reference"] == "NS-2026-000128" and pdf["from"] == "directie@school.example"
    assert pdf["attachments"] == [{"name": "verslag.pdf", "content_type": "application/pdf",
                                   "declared_type": "application/pdf", "size": pdf["attachments"][0]["size"]}]
    assert pdf["date"].startswith("2026-11-03T09:14:00")


def test_malformed_mail_and_garbage_exit_zero(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 20)
    for path in (garbage, OURS / "empty.eml", OURS / "referral_deep_nesting.eml",
                 SHARED / "zammad_mail017.eml"):
        result = netsterk("mail", "parse", path)
        assert result.returncode == 0 and "Traceback" not in result.stderr + result.stdout
        data = json.loads(result.stdout)
        assert KEYS <= set(data) and isinstance(data["problems"], list)
    assert json.loads(netsterk("mail", "parse", garbage).stdout)["kind"] == "unprocessable"


def test_unreadable_path_exits_two_with_one_line(tmp_path):
    for path in (tmp_path / "missing.eml", tmp_path):
        result = netsterk("mail", "parse", path)
        assert result.returncode == 2 and result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert str(path) in result.stderr
