"""Parse and classify one raw e-mail. Never raises: what it cannot understand becomes a problem
(a short English string for ops), and a message without any mail header is `unprocessable`.

Kinds: `referral` (a new concern), `reply` (to an existing referral: the reference as a whole
token in the subject, or an answer to a mail we sent), `auto_reply` (out-of-office and other
automatic answers), `bounce` (delivery status notifications), `unprocessable`.
Used by intake (services/intake/mail/processing.py) and by `netsterk mail parse FILE`."""
from __future__ import annotations

import base64
import binascii
import codecs
import email
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from services.intake.mail.attachments import EXECUTABLE, safe_name, sniff
from services.intake.mail.threading import (
    answers_own_mail, find_reference, message_ids, normalise_message_id,
)

KINDS = ("referral", "reply", "auto_reply", "bounce", "unprocessable")
MAX_TEXT = 100_000
MAX_SUBJECT = 998
MAX_DEPTH = 20
KNOWN_HEADERS = frozenset({
    "from", "to", "cc", "subject", "date", "message-id", "received", "content-type",
    "mime-version", "return-path", "sender", "reply-to", "in-reply-to", "references",
})
CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "gb2312": "gb18030", "gbk": "gb18030",
    "x-gbk": "gb18030", "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "us-ascii": "ascii", "ascii": "ascii", "x-sjis": "shift_jis", "sjis": "shift_jis",
    "windows-874": "cp874", "x-mac-roman": "mac_roman", "utf8": "utf-8", "unicode-1-1-utf-7": "utf-7",
}
ISO_2022_JP = ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_3", "iso2022_jp_2004")
ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*?)\?=")
BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")

DAEMON_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliverable|undelivered mail|undeliverable mail|delivery status notification"
    r"|delivery (has )?failed|delivery failure|mail delivery (failed|failure|system)"
    r"|failure notice|returned mail|non[- ]?delivery|warning: could not send"
    r"|message (not delivered|delivery failure)|onbestelbaar|niet (afgeleverd|bezorgd)"
    r"|kan niet worden bezorgd|unzustellbar|nicht zustellbar)", re.IGNORECASE)
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(auto(matic|matische?|matisch)?[ -]?(reply|antwoord|response|reactie|beantwoording)\b"
    r"|autoreply\b|auto:|out[ -]of[ -](the[ -])?office|ooo\b|afwezig(heid|heidsmelding)?\b"
    r"|niet aanwezig|vakantie(melding)?\s*:|abwesen(d|heitsnotiz)|absent\b|absence\b"
    r"|réponse automatique|on (leave|vacation)\b)", re.IGNORECASE)
AUTO_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply", "auto-reply"})
UUENCODE = re.compile(r"^begin(?:-base64)? ([0-7]{3,4}) ([^\r\n]+)\r?\n(.*?)^end\s*$",
                      re.MULTILINE | re.DOTALL)
EMBEDDED_HEADER = {
    "message_id": re.compile(r"^message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE),
    "netsterk_ref": re.compile(r"^x-netsterk-ref:\s*(\S+)", re.IGNORECASE | re.MULTILINE),
    "subject": re.compile(r"^subject:\s*(.+)$", re.IGNORECASE | re.MULTILINE),
}


@dataclass
class Attachment:
    name: str
    content_type: str          # sniffed from the bytes
    declared_type: str         # what the sender said
    size: int
    data: bytes = field(repr=False)

    def as_json(self) -> dict:
        return {"name": self.name, "content_type": self.content_type,
                "declared_type": self.declared_type, "size": self.size}


@dataclass
class ParsedMail:
    message_id: str | None = None
    from_addr: str | None = None
    from_name: str | None = None
    to: list[str] = field(default_factory=list)
    subject: str = ""
    date: str | None = None
    kind: str = "unprocessable"
    reference: str | None = None
    text: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    thread_ids: list[str] = field(default_factory=list)     # In-Reply-To then References
    answers: str | None = None      # bounce / auto-reply: the Message-ID of the mail it answers
    auto_reason: str | None = None  # why it was taken for a bounce or auto-reply

    def as_json(self) -> dict:
        return {"message_id": self.message_id, "from": self.from_addr, "from_name": self.from_name,
                "to": self.to, "subject": self.subject, "date": self.date, "kind": self.kind,
                "reference": self.reference, "text": self.text,
                "attachments": [a.as_json() for a in self.attachments],
                "problems": self.problems, "in_reply_to": self.thread_ids, "answers": self.answers,
                "reason": self.auto_reason}


# --- decoding ------------------------------------------------------------------------------------

def _codec(charset: str | None) -> str | None:
    name = (charset or "").strip().strip('"').lower().split("*")[0]
    if not name or name in ("unknown-8bit", "x-unknown", "unknown", "default", "8bit"):
        return None
    name = CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "?" + name


def decode_bytes(data: bytes, charset: str | None, problems: list[str], where: str) -> str:
    """Text from bytes in a declared charset; falls back to UTF-8 then Windows-1252, noting why."""
    codec = _codec(charset)
    if codec and codec.startswith("?"):
        _note(problems, f"{where}: unknown charset {codec[1:][:40]!r}")
        codec = None
    candidates = [codec] if codec else []
    if codec and codec.startswith("iso2022_jp"):
        candidates = list(ISO_2022_JP)
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    if codec and codec != "ascii":
        _note(problems, f"{where}: bytes do not match charset {charset!r}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec and codec != "ascii":
        return data.decode(candidates[-1] if codec.startswith("iso2022") else codec, errors="replace")
    return data.decode("cp1252", errors="replace")


def _note(problems: list[str], problem: str) -> None:
    if problem not in problems and len(problems) < 50:
        problems.append(problem)


def _raw_header_text(value: str) -> str:
    """A header value as the parser keeps it (8-bit bytes as surrogates) → text, unfolded."""
    if any("\udc80" <= c <= "\udcff" for c in value):
        data = value.encode("ascii", "surrogateescape")
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError:
            value = data.decode("cp1252", errors="replace")
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def _decode_word(charset: str, encoding: str, text: str, problems: list[str]) -> str:
    if encoding.upper() == "B":
        clean = re.sub(r"[^A-Za-z0-9+/]", "", text)
        clean += "=" * (-len(clean) % 4)
        try:
            data = base64.b64decode(clean)
        except (binascii.Error, ValueError):
            _note(problems, "header: broken base64 encoded-word")
            return text
    else:
        data = re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                      text.replace("_", " ").encode("ascii", "replace"))
    return decode_bytes(data, charset, problems, "header")


def decode_header_text(value: str | None, problems: list[str]) -> str:
    """RFC 2047 encoded-words decoded, tolerant of broken padding and unknown charsets."""
    if not value:
        return ""
    value = BETWEEN_WORDS.sub(r"\1\2", _raw_header_text(value))
    return ENCODED_WORD.sub(lambda m: _decode_word(m.group(1), m.group(2), m.group(3), problems), value)


def _address_header(value: str, problems: list[str]) -> str:
    """Encoded-words of display names become quoted strings before the address list is split
    (a comma inside one is no separator); never in a local part (no spoofing through decoding)."""
    def quote(match: re.Match) -> str:
        decoded = _decode_word(match.group(1), match.group(2), match.group(3), problems)
        return '"' + decoded.replace("\\", "\\\\").replace('"', '\\"') + '"'
    value = BETWEEN_WORDS.sub(r"\1\2", value)
    return re.sub(ENCODED_WORD.pattern + r"(?![^\s<>,]*@)", quote, value)


def _headers(message: Message, name: str) -> list[str]:
    return [_raw_header_text(v) for k, v in message.raw_items() if k.lower() == name]


# --- HTML to safe text ----------------------------------------------------------------------------

class _TextFromHtml(HTMLParser):
    BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table",
                       "blockquote", "pre", "hr", "ul", "ol", "section", "article", "header", "footer"})
    SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "object", "iframe"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.href: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.href = href if href.startswith(("http://", "https://", "mailto:")) else None

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")
        elif tag == "a" and self.href:
            self.parts.append(f" <{self.href}>")
            self.href = None

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML body: no markup, scripts or styles survive; links as <url>."""
    parser = _TextFromHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient; this only guards truly odd input
        return re.sub(r"<[^>]*>", " ", html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = "".join(c for c in text if c in "\n\t" or not (ord(c) < 32 or 0x7f <= ord(c) < 0xa0))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- walking the MIME tree ------------------------------------------------------------------------

@dataclass
class _Collected:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    delivery_status: list[str] = field(default_factory=list)
    originals: list[str] = field(default_factory=list)   # header blocks of enclosed messages


def _payload(part: Message, problems: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # a broken transfer encoding: keep the raw payload
        _note(problems, f"body: cannot decode transfer encoding ({type(exc).__name__})")
        data = None
    if data is None:
        raw = part.get_payload()
        data = raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else b""
    return data


def _filename(part: Message, problems: list[str]) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        _note(problems, "attachment: unreadable file name")
        return None
    if name is None:
        return None
    return decode_header_text(str(name), problems) or None


def _add_attachment(out: _Collected, name: str | None, declared: str, data: bytes,
                    problems: list[str]) -> None:
    content_type = sniff(data)
    if declared in ("message/rfc822", "message/global") and content_type == "text/plain":
        content_type = "message/rfc822"
    attachment = Attachment(name=safe_name(name), content_type=content_type,
                            declared_type=declared, size=len(data), data=data)
    if content_type in EXECUTABLE:
        _note(problems, f"attachment {attachment.name!r}: executable content ({content_type})")
    out.attachments.append(attachment)


def _message_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=policy.compat32)
    except Exception:
        return message.as_string(policy=policy.compat32).encode("utf-8", "surrogateescape")


def _collect(part: Message, out: _Collected, problems: list[str], depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        _note(problems, "body: MIME nesting too deep; deeper parts ignored")
        return
    ctype = part.get_content_type()
    for defect in getattr(part, "defects", []):
        _note(problems, f"mime: {type(defect).__name__}")
    if ctype in ("message/rfc822", "message/global"):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            data = _message_bytes(inner)
            header_block = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
            out.originals.append(header_block.decode("utf-8", "replace"))
            subject = decode_header_text((_headers(inner, "subject") or [""])[0], problems)
            name = _filename(part, problems) or (subject[:80] + ".eml" if subject else "message.eml")
            _add_attachment(out, name, ctype, data, problems)
        return
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, Message)]
        if ctype == "multipart/alternative" and children:
            chosen: _Collected | None = None
            for child in children:
                sub = _Collected()
                _collect(child, sub, problems, depth + 1)
                out.attachments += sub.attachments
                out.delivery_status += sub.delivery_status
                out.originals += sub.originals
                if any(t.strip() for t in sub.plain):
                    chosen = chosen if chosen and chosen.plain else sub
                elif chosen is None or not chosen.plain:
                    chosen = sub if (sub.html or chosen is None) else chosen
            if chosen:
                out.plain += chosen.plain if chosen.plain else []
                out.html += chosen.html if not chosen.plain else []
            return
        for child in children:
            _collect(child, out, problems, depth + 1)
        return
    data = _payload(part, problems)
    disposition = part.get_content_disposition()
    name = _filename(part, problems)
    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        out.delivery_status.append(data.decode("utf-8", "replace"))
        return
    if ctype == "text/rfc822-headers":
        out.originals.append(data.decode("utf-8", "replace"))
        return
    is_text = part.get_content_maintype() == "text" and ctype not in ("text/calendar", "text/csv",
                                                                        "text/vcard", "text/x-vcard")
    if disposition == "attachment" or not is_text or name:
        _add_attachment(out, name, ctype, data, problems)
        return
    charset = None
    try:
        charset = part.get_content_charset()
    except Exception:
        _note(problems, "body: unreadable charset parameter")
    if ctype == "text/html":
        if not charset:
            meta = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_:.-]+)", data[:4096], re.IGNORECASE)
            charset = meta.group(1).decode("ascii") if meta else None
        out.html.append(html_to_text(decode_bytes(data, charset, problems, "html body")))
    else:
        out.plain.append(decode_bytes(data, charset, problems, "body"))


def _extract_uuencoded(text: str, out: _Collected, problems: list[str]) -> str:
    """Inline `begin 644 name ... end` blocks become attachments and leave the text."""
    def take(match: re.Match) -> str:
        data = bytearray()
        for line in match.group(3).splitlines():
            if not line.strip() or line.strip() == "`":
                continue
            try:
                data += binascii.a2b_uu(line)
            except binascii.Error:
                try:  # lines some encoders pad wrongly: decode just the announced length
                    nbytes = (((ord(line[0]) - 32) & 63) * 4 + 5) // 3
                    data += binascii.a2b_uu(line[:nbytes])
                except (binascii.Error, IndexError):
                    _note(problems, "uuencode: damaged line skipped")
        _add_attachment(out, match.group(2).strip(), "application/x-uuencode", bytes(data), problems)
        return ""
    return UUENCODE.sub(take, text)


# --- the entry point ------------------------------------------------------------------------------

def _parse_message(raw: bytes) -> tuple[Message, list[str]]:
    problems: list[str] = []
    message = email.message_from_bytes(raw, policy=policy.compat32)
    if not {k.lower() for k in message.keys()} & KNOWN_HEADERS:
        # a line that is not a header before the real headers (a pasted separator): skip it
        lines = raw.splitlines(keepends=True)
        for skip in range(1, min(6, len(lines))):
            candidate = email.message_from_bytes(b"".join(lines[skip:]), policy=policy.compat32)
            if {k.lower() for k in candidate.keys()} & KNOWN_HEADERS:
                _note(problems, f"headers: {skip} leading line(s) that were no header skipped")
                return candidate, problems
    return message, problems


def parse_mail(raw: bytes, *, own_domains: set[str] | frozenset[str] = frozenset(),
               envelope_from: str | None = None) -> ParsedMail:
    """Parse and classify; `own_domains` are the domains our own Message-IDs use,
    `envelope_from` the SMTP MAIL FROM when known ('' for a null sender)."""
    try:
        return _parse(raw, own_domains={d.lower() for d in own_domains}, envelope_from=envelope_from)
    except Exception as exc:  # the parser must answer for any input; the reason is kept
        return ParsedMail(kind="unprocessable", problems=[f"parser failed: {type(exc).__name__}: {exc}"[:300]])


def _parse(raw: bytes, *, own_domains: set[str], envelope_from: str | None) -> ParsedMail:
    if not raw.strip():
        return ParsedMail(kind="unprocessable", problems=["empty file"])
    message, problems = _parse_message(raw)
    parsed = ParsedMail(problems=problems)
    if not {k.lower() for k in message.keys()} & KNOWN_HEADERS:
        _note(problems, "no mail headers found")
        parsed.text = clean_text(raw[:MAX_TEXT].decode("utf-8", "replace"))[:2000]
        return parsed

    # headers
    froms = _headers(message, "from")
    if len(froms) > 1:
        _note(problems, "headers: several From headers; the first is used")
    if froms:
        addresses = [(n, a) for n, a in getaddresses([_address_header(froms[0], problems)]) if a]
        if len(addresses) > 1:
            _note(problems, "headers: From holds several mailboxes; the first is used")
        if addresses and "@" in addresses[0][1]:
            parsed.from_name = " ".join(addresses[0][0].split()) or None
            parsed.from_addr = addresses[0][1].strip().lower()
        else:
            _note(problems, "headers: From has no usable address")
    else:
        _note(problems, "headers: no From")
    parsed.to = [a.lower() for _n, a in getaddresses(_headers(message, "to") + _headers(message, "cc")) if "@" in a]
    subjects = _headers(message, "subject")
    subject = decode_header_text(subjects[0], problems) if subjects else ""
    if len(subject) > MAX_SUBJECT:
        _note(problems, "headers: subject longer than 998 characters; cut")
    parsed.subject = " ".join(subject.split())[:MAX_SUBJECT]
    ids = _headers(message, "message-id")
    parsed.message_id = normalise_message_id(ids[0]) if ids else None
    if parsed.message_id is None:
        _note(problems, "headers: no Message-ID")
    dates = _headers(message, "date")
    if len(dates) > 1:
        _note(problems, "headers: several Date headers; the first is used")
    if dates:
        try:
            parsed.date = parsedate_to_datetime(dates[0]).isoformat()
        except (TypeError, ValueError, IndexError, OverflowError):
            _note(problems, "headers: invalid Date")
    else:
        _note(problems, "headers: no Date")
    parsed.thread_ids = (message_ids(" ".join(_headers(message, "in-reply-to")))
                         + [m for m in reversed(message_ids(" ".join(_headers(message, "references"))))])
    parsed.thread_ids = list(dict.fromkeys(parsed.thread_ids))

    # body
    out = _Collected()
    _collect(message, out, problems)
    text = "\n\n".join(t for t in out.plain if t.strip()) or "\n\n".join(t for t in out.html if t.strip())
    text = _extract_uuencoded(clean_text(text), out, problems)
    text = clean_text(text)
    if len(text) > MAX_TEXT:
        _note(problems, "body: text longer than 100000 characters; cut")
        text = text[:MAX_TEXT]
    parsed.text = text
    parsed.attachments = out.attachments
    if not text and not out.attachments:
        _note(problems, "body: empty")

    _classify(message, parsed, out, own_domains, envelope_from)
    return parsed


def _header_value(message: Message, name: str) -> str:
    values = _headers(message, name)
    return values[0].strip().lower() if values else ""


def _classify(message: Message, parsed: ParsedMail, out: _Collected, own_domains: set[str],
              envelope_from: str | None) -> None:
    sender_local = (parsed.from_addr or "").split("@")[0]
    null_sender = envelope_from == "" or _header_value(message, "return-path") in ("<>", "")and bool(
        _headers(message, "return-path"))
    daemon = sender_local in DAEMON_SENDERS or sender_local.startswith("microsoftexchange")
    ctype = message.get_content_type()
    report_type = (message.get_param("report-type") or "") if ctype == "multipart/report" else ""
    bounce_subject = bool(BOUNCE_SUBJECT.search(parsed.subject))

    reason = None
    if ctype == "multipart/report" and str(report_type).lower() == "delivery-status" or out.delivery_status:
        reason = "delivery status report"
    elif _headers(message, "x-failed-recipients"):
        reason = "X-Failed-Recipients"
    elif daemon and (bounce_subject or null_sender or not parsed.subject):
        reason = "sent by a mail system"
    elif bounce_subject and (null_sender or daemon):
        reason = "failure subject from a null sender"
    if reason:
        parsed.kind, parsed.auto_reason = "bounce", reason
        _link_to_original(parsed, out)
        return

    auto = _header_value(message, "auto-submitted")
    precedence = _header_value(message, "precedence") or _header_value(message, "x-precedence")
    if auto and auto != "no":
        reason = f"Auto-Submitted: {auto[:40]}"
    elif any(_headers(message, h) for h in ("x-autoreply", "x-autorespond", "x-autoresponse",
                                               "x-autogenerated", "x-auto-reply")):
        reason = "auto-reply header"
    elif precedence in AUTO_PRECEDENCE:
        reason = f"Precedence: {precedence}"
    elif AUTO_REPLY_SUBJECT.search(parsed.subject):
        reason = "out-of-office subject"
    elif _header_value(message, "x-ms-exchange-inbox-rules-loop") or "oof" in _header_value(
            message, "x-ms-exchange-generated-message-source").lower():
        reason = "Exchange automatic reply"
    if reason:
        parsed.kind, parsed.auto_reason = "auto_reply", reason
        parsed.reference = find_reference(parsed.subject)
        parsed.answers = parsed.thread_ids[0] if parsed.thread_ids else None
        return

    parsed.reference = find_reference(parsed.subject)
    if parsed.reference or answers_own_mail(parsed.thread_ids, own_domains):
        parsed.kind = "reply"
        return
    parsed.kind = "referral"


def _link_to_original(parsed: ParsedMail, out: _Collected) -> None:
    """A bounce names the mail it returns: the enclosed headers, or a copy in the text (qmail)."""
    sources = out.originals + [parsed.text]
    for block in sources:
        found = EMBEDDED_HEADER["message_id"].search(block)
        if found and not parsed.answers:
            parsed.answers = found.group(1)
        ref = EMBEDDED_HEADER["netsterk_ref"].search(block)
        if ref and not parsed.reference:
            parsed.reference = find_reference(ref.group(1))
        subject = EMBEDDED_HEADER["subject"].search(block)
        if subject and not parsed.reference:
            parsed.reference = find_reference(subject.group(1))
    parsed.reference = parsed.reference or find_reference(parsed.subject)
