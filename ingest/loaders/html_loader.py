"""HTML (.html, .htm): the main text as blocks, without navigation, scripts or hidden parts."""

from __future__ import annotations

import codecs
import logging
import re

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from ingest.document import LoadedDocument, LoaderError
from ingest.encoding import decode_bytes
from ingest.normalize import Block, assemble_blocks, heading_line

logger = logging.getLogger(__name__)

_DROPPED = frozenset(
    {"script", "style", "noscript", "template", "nav", "aside", "form", "iframe", "svg",
     "head", "button", "select", "object", "embed", "canvas", "map"}
)  # fmt: skip
_PAGE_CHROME = frozenset({"header", "footer"})  # dropped unless inside <main> or <article>
_BLOCKS = frozenset(
    {"address", "article", "blockquote", "body", "caption", "center", "dd", "details", "dialog",
     "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "hr",
     "html", "legend", "li", "main", "menu", "ol", "p", "pre", "section", "summary", "ul"}
)  # fmt: skip
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_SPACES = re.compile(r"\s+")
# What browsers actually use for these labels (WHATWG encoding standard).
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252"}


def load_html(data: bytes) -> LoadedDocument:
    """Load an HTML page: `<main>` or a single `<article>` when present, else `<body>`."""
    html, encoding, warnings = decode_html(data)
    soup = BeautifulSoup(html, "lxml")
    root = _main_content(soup)
    blocks = _Collector().collect(root)
    text, headings = assemble_blocks(blocks)
    if not text:
        raise LoaderError("no text could be extracted from the HTML page")
    title_tag = soup.find("title")
    title = heading_line(title_tag.get_text()) if title_tag else ""
    if not title:
        first_h1 = next((h for h in headings if h.level == 1), None)
        title = first_h1.text if first_h1 else ""
    return LoadedDocument(
        text=text,
        format="html",
        title=title or None,
        headings=headings,
        encoding=encoding,
        warnings=warnings,
    )


def decode_html(data: bytes) -> tuple[str, str, list[str]]:
    """Decode with the charset the page declares in a `<meta>` tag, else by detection."""
    declared = _declared_charset(data)
    if declared is not None and not data.startswith((codecs.BOM_UTF8, b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode(declared), declared, []
        except UnicodeDecodeError:
            text, detected = decode_bytes(data)
            warning = f"the page declares charset {declared} but is {detected}; used {detected}"
            logger.warning(warning)
            return text, detected, [warning]
    text, detected = decode_bytes(data)
    return text, detected, []


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    if match is None:
        return None
    label = match.group(1).decode("ascii").lower()
    label = _CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        logger.warning("unknown charset %r declared in HTML; detecting instead", label)
        return None


def _main_content(soup: BeautifulSoup) -> Tag:
    main = soup.find("main") or soup.find(None, {"role": "main"})
    if isinstance(main, Tag) and not _is_dropped(main):
        return main
    articles = soup.find_all("article")
    if len(articles) == 1 and isinstance(articles[0], Tag):
        return articles[0]
    body = soup.find("body")
    return body if isinstance(body, Tag) else soup


def _is_dropped(tag: Tag) -> bool:
    if tag.name in _DROPPED:
        return True
    if tag.name in _PAGE_CHROME and tag.find_parent(["main", "article"]) is None:
        return True
    if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    return bool(_HIDDEN_STYLE.search(str(tag.get("style", ""))))


class _Collector:
    """Walks the tree, turning block elements into blocks and inline runs into their text."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.buffer: list[str] = []

    def collect(self, root: Tag) -> list[Block]:
        self._walk(root, preformatted=False)
        self._flush()
        return self.blocks

    def _flush(self) -> None:
        lines = [line.strip() for line in "".join(self.buffer).split("\n")]
        self.buffer = []
        text = "\n".join(line for line in lines if line)
        if text:
            self.blocks.append(Block(text))

    def _walk(self, tag: Tag, *, preformatted: bool) -> None:
        for child in tag.children:
            if isinstance(child, Tag):
                self._visit(child, preformatted=preformatted)
            elif type(child) is NavigableString:  # not comments, CDATA, doctype
                self.buffer.append(str(child) if preformatted else _SPACES.sub(" ", child))

    def _visit(self, tag: Tag, *, preformatted: bool) -> None:
        if _is_dropped(tag):
            return
        name = tag.name
        if name == "br":
            self.buffer.append("\n")
        elif name in _HEADINGS:
            self._flush()
            self.blocks.append(Block(visible_text(tag), _HEADINGS[name]))
        elif name == "table":
            self._flush()
            self.blocks.append(Block("\n".join(_table_rows(tag))))
        elif name in ("td", "th"):  # a cell outside a table element
            self.buffer.append(" ")
            self._walk(tag, preformatted=preformatted)
            self.buffer.append(" ")
        elif name in _BLOCKS or name == "pre":
            self._flush()
            self._walk(tag, preformatted=preformatted or name == "pre")
            self._flush()
        else:
            self._walk(tag, preformatted=preformatted)


def _table_rows(table: Tag) -> list[str]:
    """One line per row, cells joined by " | "; empty cells are skipped."""
    rows = []
    for row in table.find_all("tr"):
        if row.find_parent("table") is not table:
            continue
        cells = [_SPACES.sub(" ", visible_text(cell)).strip() for cell in _cells(row)]
        line = " | ".join(cell for cell in cells if cell)
        if line:
            rows.append(line)
    return rows


def _cells(row: Tag) -> list[Tag]:
    return [c for c in row.find_all(["td", "th"], recursive=False) if not _is_dropped(c)]


def visible_text(tag: Tag) -> str:
    """The text of `tag` without dropped or hidden descendants; blocks and `<br>` become breaks."""
    parts: list[str] = []
    for child in tag.children:
        if isinstance(child, Tag):
            if _is_dropped(child):
                continue
            if child.name == "br":
                parts.append("\n")
            elif child.name in _BLOCKS or child.name in ("td", "th", "tr", "table"):
                parts.append(f"\n{visible_text(child)}\n")
            else:
                parts.append(visible_text(child))
        elif type(child) is NavigableString:
            parts.append(str(child))
    return "".join(parts)
