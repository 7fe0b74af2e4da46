"""The source viewer: a document's full text as HTML, with one quote highlighted.

Everything that comes from a document (title, source, text, language) is escaped; the page's
only script is the constant one below, and the Content-Security-Policy allows nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import html

from vectorstore.records import DocumentRecord

SCROLL_SCRIPT = "document.getElementById('quote')?.scrollIntoView({block:'center'});"
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCROLL_SCRIPT.encode("utf-8")).digest()).decode()

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)

_STYLE = """
body { font: 16px/1.55 system-ui, sans-serif; margin: 0 auto; max-width: 48rem;
       padding: 1.5rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
.source { color: #555; margin: 0 0 1.5rem; font-size: .9rem; word-break: break-all; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
mark { background: #ffe066; padding: .1em 0; }
"""


class OffsetError(ValueError):
    """The requested quote offsets do not lie within the document's text."""


def check_offsets(text: str, start: int | None, end: int | None) -> tuple[int, int] | None:
    """The (start, end) to highlight, None for no highlight, or OffsetError when they are
    given but cannot be a quote of `text`."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise OffsetError("give both start and end, or neither")
    if start < 0 or end < 0:
        raise OffsetError("start and end must not be negative")
    if start > end:
        raise OffsetError(f"start ({start}) is after end ({end})")
    if end > len(text):
        raise OffsetError(f"end ({end}) is beyond the document's {len(text)} characters")
    if start == end:
        return None
    return start, end


def render_source(document: DocumentRecord, quote: tuple[int, int] | None) -> str:
    """The viewer page; `quote` is a checked (start, end) to wrap in `<mark id="quote">`."""
    text = document.text
    if quote is None:
        body = html.escape(text)
    else:
        start, end = quote
        body = (
            f"{html.escape(text[:start])}"
            f'<mark id="quote">{html.escape(text[start:end])}</mark>'
            f"{html.escape(text[end:])}"
        )
    title = html.escape(document.title or document.source)
    return (
        "<!doctype html>\n"
        f'<html lang="{html.escape(document.language)}">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{title}</title>\n"
        f"<style>{_STYLE}</style>\n"
        "</head>\n"
        "<body>\n"
        f"<header><h1>{title}</h1>"
        f'<p class="source">{html.escape(document.source)}</p></header>\n'
        f'<main><div class="text">{body}</div></main>\n'
        f"<script>{SCROLL_SCRIPT}</script>\n"
        "</body>\n"
        "</html>\n"
    )
