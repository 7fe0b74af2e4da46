"""HTML (.html, .htm): the main text as blocks, without navigation, scripts or hidden parts.

What a reader of the page would not see (see `html_visibility`) is left out, and the document's
warnings say how many hidden parts with text were dropped: hidden text is where a page carries
instructions meant for a model, or content nobody reviews."""

from __future__ import annotations

import codecs
import logging
import re

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from ingest.document import LoadedDocument, LoaderError
from ingest.encoding import decode_bytes
from ingest.loaders.html_visibility import PageVisibility
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
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_SPACES = re.compile(r"\s+")
# What browsers actually use for these labels (WHATWG encoding standard).
_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252"}


def load_html(data: bytes) -> LoadedDocument:
    """Load an HTML page: `<main>` or a single `<article>` when present, else `<body>`."""
    html, encoding, warnings = decode_html(data)
    soup = BeautifulSoup(html, "lxml")
    page = _Page(PageVisibility.of(soup))
    try:
        root = _main_content(soup, page)
        blocks = _Collector(page).collect(root)
    except RecursionError as exc:
        raise LoaderError(
            "the page is nested too deeply to read (thousands of elements inside each other)"
        ) from exc
    text, headings = assemble_blocks(blocks)
    if not text:
        raise LoaderError("no text could be extracted from the HTML page")
    title_tag = soup.find("title")
    title = heading_line(title_tag.get_text()) if title_tag else ""
    if not title:
        first_h1 = next((h for h in headings if h.level == 1), None)
        title = first_h1.text if first_h1 else ""
    if page.hidden_with_text:
        warnings.append(
            f"left out {page.hidden_with_text} hidden part(s) of the page that hold text "
            "(hidden by an attribute, a style or a colour matching the background)"
        )
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


def _main_content(soup: BeautifulSoup, page: _Page) -> Tag:
    main = soup.find("main") or soup.find(None, {"role": "main"})
    if isinstance(main, Tag) and not page.dropped(main) and not page.inside_hidden(main):
        return main
    articles = soup.find_all("article")
    if len(articles) == 1 and isinstance(articles[0], Tag):
        article = articles[0]
        if not page.dropped(article) and not page.inside_hidden(article):
            return article
    body = soup.find("body")
    return body if isinstance(body, Tag) else soup


class _Page:
    """What is dropped from the page, and a count of the hidden parts that held text."""

    def __init__(self, visibility: PageVisibility) -> None:
        self.visibility = visibility
        self.hidden_with_text = 0
        self._counted: set[int] = set()

    def dropped(self, tag: Tag) -> bool:
        """Whether `tag` (with everything in it) is left out."""
        if tag.name in _DROPPED:
            return True
        if tag.name in _PAGE_CHROME and tag.find_parent(["main", "article"]) is None:
            return True
        if not self.visibility.hidden(tag):
            return False
        if id(tag) not in self._counted:
            self._counted.add(id(tag))
            if tag.get_text().strip():
                self.hidden_with_text += 1
        return True

    def text_shown(self, parent: Tag, text: str) -> bool:
        """Whether `text`, directly inside `parent`, can be seen (its colour is not that of its
        background)."""
        if not text.strip() or not self.visibility.faint(parent):
            return True
        if id(parent) not in self._counted:
            self._counted.add(id(parent))
            self.hidden_with_text += 1
        return False

    def inside_hidden(self, tag: Tag) -> bool:
        """Whether an ancestor of `tag` hides it (for a `<main>` found by search)."""
        return any(self.dropped(parent) for parent in tag.parents if parent.name != "[document]")


class _Collector:
    """Walks the tree, turning block elements into blocks and inline runs into their text."""

    def __init__(self, page: _Page) -> None:
        self.page = page
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
            elif type(child) is NavigableString and self.page.text_shown(tag, child):
                # (not comments, CDATA, doctype)
                self.buffer.append(str(child) if preformatted else _SPACES.sub(" ", child))

    def _visit(self, tag: Tag, *, preformatted: bool) -> None:
        if self.page.dropped(tag):
            return
        name = tag.name
        if name == "br":
            self.buffer.append("\n")
        elif name in _HEADINGS:
            self._flush()
            self.blocks.append(Block(visible_text(tag, self.page), _HEADINGS[name]))
        elif name == "table":
            self._flush()
            self.blocks.append(Block("\n".join(_table_rows(tag, self.page))))
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


def _table_rows(table: Tag, page: _Page) -> list[str]:
    """One line per row, cells joined by " | "; empty cells are skipped."""
    rows = []
    for row in table.find_all("tr"):
        if row.find_parent("table") is not table:
            continue
        if any(page.dropped(tag) for tag in _path(row, table)):
            continue
        cells = [_SPACES.sub(" ", visible_text(cell, page)).strip() for cell in _cells(row, page)]
        line = " | ".join(cell for cell in cells if cell)
        if line:
            rows.append(line)
    return rows


def _path(tag: Tag, top: Tag) -> list[Tag]:
    """`tag` and its ancestors below `top`."""
    path = [tag]
    for parent in tag.parents:
        if parent is top:
            break
        path.append(parent)
    return path


def _cells(row: Tag, page: _Page) -> list[Tag]:
    return [c for c in row.find_all(["td", "th"], recursive=False) if not page.dropped(c)]


def visible_text(tag: Tag, page: _Page) -> str:
    """The text of `tag` without dropped or hidden descendants; blocks and `<br>` become breaks."""
    parts: list[str] = []
    for child in tag.children:
        if isinstance(child, Tag):
            if page.dropped(child):
                continue
            if child.name == "br":
                parts.append("\n")
            elif child.name in _BLOCKS or child.name in ("td", "th", "tr", "table"):
                parts.append(f"\n{visible_text(child, page)}\n")
            else:
                parts.append(visible_text(child, page))
        elif type(child) is NavigableString and page.text_shown(tag, child):
            parts.append(str(child))
    return "".join(parts)
