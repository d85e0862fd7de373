"""HTML of incoming mail, made safe before anyone sees it: an allow-list of harmless tags and
attributes (nh3, the Rust `ammonia` sanitiser), no scripts, styles, forms, frames or event
handlers, links only to http(s)/mailto and opened without referrer, and no remote images (they
are tracking beacons: opening a mail must not tell the sender it was read)."""
from __future__ import annotations

from email import policy
from email.parser import BytesParser

import nh3

TAGS = {"a", "abbr", "b", "blockquote", "br", "caption", "code", "div", "em", "h1", "h2", "h3",
        "h4", "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong",
        "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"}
ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"},
              "abbr": {"title"}}
MAX_HTML = 512 * 1024


def sanitise_html(html: str) -> str:
    return nh3.clean(html[:MAX_HTML], tags=TAGS, attributes=ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow",
                     strip_comments=True, clean_content_tags={"script", "style", "title", "head"})


def html_part(raw: bytes) -> str | None:
    """The first text/html body of a raw message (decoded), or None."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        part = message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else None
    except Exception:
        return None
