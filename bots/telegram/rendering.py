"""Answers, agreement and contact lists and reminders as Telegram HTML with numbered footnotes.

A footnote names the source document (and its section); it links to the source viewer, which
highlights the quoted text, when `public_url` is configured, and is plain text otherwise.
Everything taken from documents is escaped; only the tags written here are markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.answering.models import Answer
from assistant.knowledge.periods import Period
from bots.telegram.formatting import absolute_url, escape, link
from bots.telegram.texts import Lang, text

MAX_LISTED = 50
_KINDS_RU = {
    "memorandum": "меморандум",
    "contract": "договор",
    "agreement": "соглашение",
    "other": "другое",
}


def _footnote(n: int, title: str, section: str, url: str | None, public_url: str | None) -> str:
    label = escape(title or "?")
    href = absolute_url(public_url, url) if url else None
    line = f"[{n}] {link(href, label) if href else label}"
    last = section.rsplit(" > ", maxsplit=1)[-1].strip() if section else ""
    if last and last != title.strip():
        line += f" — {escape(last)}"
    return line


class Footnotes:
    """Numbers sources as they are cited; one number per source document without links, one
    per quote with links (each link highlights its own quote)."""

    def __init__(self, public_url: str | None) -> None:
        self._public_url = public_url
        self._numbers: dict[tuple[str, str | None], int] = {}
        self._lines: list[str] = []

    def cite(self, citation: Mapping[str, Any] | None) -> str:
        """` [n]` for a citation dict from `agreement_rows`/`contact_rows` ('' when None)."""
        if not citation:
            return ""
        title = str(citation.get("title") or citation.get("source") or "?")
        url = str(citation["url"]) if citation.get("url") else None
        key = (title, url if absolute_url(self._public_url, url or "") else None)
        if key not in self._numbers:
            n = len(self._numbers) + 1
            self._numbers[key] = n
            self._lines.append(_footnote(n, title, "", url, self._public_url))
        return f" [{self._numbers[key]}]"

    def render(self, lang: Lang) -> str:
        """The footnote block ('' when nothing was cited)."""
        if not self._lines:
            return ""
        return f"\n\n<b>{text('sources', lang)}</b>\n" + "\n".join(self._lines)


def render_answer(answer: Answer, lang: Lang, public_url: str | None) -> str:
    """The answer text (escaped), a distinct mark when the documents do not answer, and the
    citations as footnotes."""
    body = escape(answer.answer.strip())
    if not answer.found:
        body = f"{text('not_found', lang)}\n{body}"
    seen: set[int] = set()
    lines = []
    for citation in sorted(answer.citations, key=lambda c: c.n):
        if citation.n in seen:
            continue
        seen.add(citation.n)
        lines.append(
            _footnote(citation.n, citation.title, citation.section, citation.url, public_url)
        )
    if lines:
        body += f"\n\n<b>{text('sources', lang)}</b>\n" + "\n".join(lines)
    return body


def _when(row: Mapping[str, Any], lang: Lang) -> str:
    ends_on, days_left = row.get("ends_on"), row.get("days_left")
    if ends_on is None or days_left is None:
        return text("no_end", lang)
    if days_left < 0:
        return text("expired_on", lang, date=escape(str(ends_on)))
    if days_left in (0, 1):
        key = "ends_today" if days_left == 0 else "ends_tomorrow"
        return text(key, lang, date=escape(str(ends_on)))
    return text("ends_in", lang, date=escape(str(ends_on)), days=days_left)


def agreement_line(row: Mapping[str, Any], lang: Lang, footnotes: Footnotes, note: str = "") -> str:
    """`• Partner (Country) — kind, ends DATE: in N days — responsible (note) [n]`."""
    country = f" ({escape(str(row['country']))})" if row.get("country") else ""
    kind = str(row.get("kind") or "agreement")
    kind = _KINDS_RU.get(kind, kind) if lang == "ru" else kind
    responsible = f" — {escape(str(row['responsible']))}" if row.get("responsible") else ""
    return (
        f"• <b>{escape(str(row['partner']))}</b>{country} — {escape(kind)}, "
        f"{_when(row, lang)}{responsible}{f' ({note})' if note else ''}"
        f"{footnotes.cite(row.get('citation'))}"
    )


def render_agreements(
    result: Mapping[str, Any], lang: Lang, period: Period | None, public_url: str | None
) -> str:
    """What `agreement_rows` returned, soonest first, with sources."""
    rows: list[Mapping[str, Any]] = result["agreements"]
    label = ""
    if period is not None:
        period_label = period.label_ru if lang == "ru" else period.label_en
        label = text("agreements_period", lang, label=escape(period_label))
    lines = [text("agreements_header", lang, period=label, today=result["as_of"], count=len(rows))]
    footnotes = Footnotes(public_url)
    lines.extend(agreement_line(row, lang, footnotes) for row in rows[:MAX_LISTED])
    if len(rows) > MAX_LISTED:
        lines.append(text("agreements_more", lang, count=len(rows) - MAX_LISTED))
    if period is not None and result.get("without_end_date"):
        lines.append(text("without_end_date", lang, count=result["without_end_date"]))
    return "\n".join(lines) + footnotes.render(lang)


def render_contacts(
    rows: Sequence[Mapping[str, Any]], query: str, lang: Lang, public_url: str | None
) -> str:
    """What `contact_rows` returned, with sources."""
    if not rows:
        return text("contacts_none", lang, query=escape(query))
    footnotes = Footnotes(public_url)
    lines = [text("contacts_header", lang, query=escape(query), count=len(rows))]
    for row in rows[:MAX_LISTED]:
        who = escape(str(row.get("person") or row.get("organisation") or "?"))
        details = [row.get("role"), row.get("organisation") if row.get("person") else None]
        reach = [row.get("phone"), row.get("email")]
        line = f"• <b>{who}</b>" + "".join(f", {escape(str(d))}" for d in details if d)
        if any(reach):
            line += " — " + ", ".join(escape(str(r)) for r in reach if r)
        lines.append(line + footnotes.cite(row.get("citation")))
    if len(rows) > MAX_LISTED:
        lines.append(text("agreements_more", lang, count=len(rows) - MAX_LISTED))
    return "\n".join(lines) + footnotes.render(lang)


@dataclass(frozen=True)
class DueReminder:
    """One agreement to remind a chat of, and the smallest window it has reached."""

    key: str
    window: int
    windows_reached: tuple[int, ...]
    row: Mapping[str, Any]


def render_reminders(
    due: Iterable[DueReminder], today: str, lang: Lang, public_url: str | None
) -> str:
    """The reminder message: agreements expiring soon, soonest first, with sources."""
    footnotes = Footnotes(public_url)
    lines = [text("reminder_header", lang, today=escape(today))]
    for item in due:
        note = text("reminder_window", lang, window=item.window)
        lines.append(agreement_line(item.row, lang, footnotes, note))
    return "\n".join(lines) + footnotes.render(lang)
