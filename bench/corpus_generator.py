"""A seeded generator of cooperation-style documents for the scale benchmark.

Each page is about one partner institution in one country, in English (about 70%) or Russian:
the history of the partnership, one agreement sentence with a signing date and a term or end
date in varied real-world phrasings, a programme, an event and a contact. Every 150th file is
an agreements registry (.csv). The same seed writes byte-identical files.

Pages are written until the chunker (at the ingest's default sizes) would cut `chunks` chunks
from them, so an ingest of the folder yields close to that many chunks. Alongside the files
comes a list of questions with known answers (an agreement's end date and the file it is in;
structured questions over the agreements) for latency and quality measurements.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from assistant.settings import IngestSettings
from bench.corpus_words import (
    EVENTS_EN,
    EVENTS_RU,
    FIELDS,
    FIRST_EN,
    HEAD_EN,
    HEAD_RU,
    HISTORY_EN,
    HISTORY_RU,
    LAST_EN,
    MONTHS_EN,
    MONTHS_RU_GEN,
    NUMBERS_EN,
    PEOPLE_RU,
    PLACES,
    PREFIX_EN,
    PREFIX_RU,
    PROGRAMME_EN,
    PROGRAMME_RU,
    ROLES_EN,
    ROLES_RU,
    TOPICS_EN,
    TOPICS_RU,
    YEARS_RU,
)
from ingest.chunker import chunk_document
from ingest.loaders import load_file

# The date the questions are asked on ("this year", "in the next 60 days"): the bench sets it
# as the assistant's today so that structured answers do not depend on the calendar.
REFERENCE_TODAY = date(2026, 6, 15)
REGISTRY_EVERY = 150
REGISTRY_ROWS = 25
REGISTRY_FIRST = 5  # the 6th file, then every REGISTRY_EVERY files


@dataclass(frozen=True)
class GeneratedAgreement:
    """One agreement as written: partner (as it appears in the text), dates and file."""

    file: str
    partner: str
    language: str
    signed_text: str | None
    ends_text: str | None
    ends_on: date


@dataclass(frozen=True)
class GeneratedQuestion:
    """A question with a known answer.

    `expected` is literal text of `file`: the end date as written, or the signing date when
    the end follows from a term ("signed in May 2018 for a term of 3 years"); "" for list
    questions, whose answers depend on the whole corpus.
    """

    question: str
    expected: str
    file: str | None
    language: str
    kind: str  # expiry | structured
    ends_on: date | None = None


@dataclass
class CorpusInfo:
    """What `generate_corpus` wrote."""

    root: Path
    seed: int
    files: list[str] = field(default_factory=list)
    pages: int = 0
    registries: int = 0
    estimated_chunks: int = 0
    agreements: list[GeneratedAgreement] = field(default_factory=list)
    questions: list[GeneratedQuestion] = field(default_factory=list)
    today: date = REFERENCE_TODAY


def _en_day(d: date, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"
    return f"{MONTHS_EN[d.month - 1]} {d.day}, {d.year}"


def _ru_day(d: date) -> str:
    return f"{d.day} {MONTHS_RU_GEN[d.month - 1]} {d.year} года"


def _dotted(d: date) -> str:
    return f"{d.day:02d}.{d.month:02d}.{d.year}"


def _plus_years(d: date, years: int) -> date:
    return date(
        d.year + years, d.month, min(d.day, calendar.monthrange(d.year + years, d.month)[1])
    )


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


class _Writer:
    """Draws partners, sentences and pages from one `random.Random`."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used: set[str] = set()

    def _date(self, first_year: int, last_year: int) -> date:
        rng = self.rng
        return date(rng.randint(first_year, last_year), rng.randint(1, 12), rng.randint(1, 28))

    def place(self) -> tuple[str, str, str, str]:
        country, country_ru, cities = self.rng.choice(PLACES)
        city, city_ru = self.rng.choice(cities)
        return country, country_ru, city, city_ru

    def partner(self, city: str, city_ru: str) -> tuple[str, str, str, int]:
        """(name EN, name RU nominative, name RU instrumental, field index), unique per corpus."""
        rng = self.rng
        while True:
            fi = rng.randrange(len(FIELDS))
            en = f"{rng.choice(PREFIX_EN)} {rng.choice(HEAD_EN)} of {FIELDS[fi][0]} ({city})"
            adj, head = rng.choice(PREFIX_RU), rng.choice(HEAD_RU)
            ru = f"{adj[0]} {head[0]} {FIELDS[fi][1]} ({city_ru})"
            ru_instr = f"{adj[1]} {head[1]} {FIELDS[fi][1]} ({city_ru})"
            if en not in self.used and ru not in self.used:
                self.used.update((en, ru))
                return en, ru, ru_instr, fi

    def agreement_en(self, partner: str) -> tuple[str, str | None, str | None, date]:
        """(sentence, signed text, end text, ends_on) in one of several English phrasings."""
        rng = self.rng
        signed = self._date(2016, 2024)
        years = rng.choice(list(NUMBERS_EN))
        style = rng.randrange(4)
        if style == 0:
            s = _en_day(signed, rng)
            words = NUMBERS_EN[years]
            text = (
                f"A cooperation agreement with the {partner} was signed on {s} for {words} years."
            )
            return text, s, None, _plus_years(signed, years)
        if style == 1:
            ends = self._date(2025, 2031)
            e = _dotted(ends)
            return (
                f"The memorandum of understanding with the {partner} is valid until {e}.",
                None,
                e,
                ends,
            )
        if style == 2:
            ends = self._date(2025, 2031)
            s, e = _en_day(signed, rng), _en_day(ends, rng)
            text = f"The agreement with the {partner}, signed on {s}, expires on {e}."
            return text, s, e, ends
        s = f"{MONTHS_EN[signed.month - 1]} {signed.year}"
        end = _month_end(signed.year + years, signed.month)
        text = f"In {s} we concluded a contract with the {partner} for a term of {years} years."
        return text, s, None, end

    def agreement_ru(self, partner_instr: str) -> tuple[str, str | None, str | None, date]:
        """(sentence, signed text, end text, ends_on) in one of several Russian phrasings."""
        rng = self.rng
        signed = self._date(2016, 2024)
        years = rng.choice(list(YEARS_RU))
        style = rng.randrange(4)
        if style == 0:
            s = _ru_day(signed)
            text = (
                f"Соглашение о сотрудничестве с {partner_instr} подписано {s} "
                f"сроком на {YEARS_RU[years]}."
            )
            return text, s, None, _plus_years(signed, years)
        if style == 1:
            ends = self._date(2025, 2031)
            e = f"{MONTHS_RU_GEN[ends.month - 1]} {ends.year} г."
            text = f"Меморандум о взаимопонимании с {partner_instr} действует до {e}"
            return text, None, e, _month_end(ends.year, ends.month)
        if style == 2:
            ends = self._date(2025, 2031)
            s, e = _dotted(signed), _dotted(ends)
            return f"Договор с {partner_instr} от {s} действует до {e}.", s, e, ends
        ends = self._date(2025, 2031)
        e = _ru_day(ends)
        return f"Срок действия соглашения с {partner_instr} — до {e}.", None, e, ends

    def page(self, name: str) -> tuple[str, GeneratedAgreement, str]:
        """(text, its agreement, question) of one partner page (.md or .txt)."""
        rng = self.rng
        country, country_ru, city, city_ru = self.place()
        en, ru, ru_instr, fi = self.partner(city, city_ru)
        field_en, field_ru = FIELDS[fi]
        since = rng.randint(1995, 2015)
        event_day = self._date(2018, 2026)
        people = rng.randint(4, 40)
        markdown = name.endswith(".md")
        if rng.random() < 0.7:
            sentence, s, e, ends = self.agreement_en(en)
            last_name = rng.choice(LAST_EN)
            person = f"Dr. {rng.choice(FIRST_EN)} {last_name}"
            mail = f"{last_name.lower()}.{fi}@partner{rng.randint(10, 999)}.example.org"
            history = rng.choice(HISTORY_EN).format(p=en, y=since, f=field_en.lower())
            sections = [
                (f"{en}, {country}", history),
                ("Agreements", f"{sentence} The document covers joint research in "
                 f"{field_en.lower()}, academic mobility and the exchange of publications. "
                 f"Progress is reviewed every year by a joint working group."),
                ("Joint programmes", PROGRAMME_EN.format(f=field_en.lower(), n=people,
                                                          topic=rng.choice(TOPICS_EN))),
                ("Events", f"The {rng.choice(EVENTS_EN)} on {field_en} was held in {city}, "
                 f"{country}, on {_en_day(event_day, rng)}, with {people * 3} participants from "
                 f"{rng.randint(3, 25)} countries. Its proceedings are published online."),
                ("Contacts", f"{rng.choice(ROLES_EN).capitalize()}: {person}\n"
                 f"E-mail: {mail}\nTel. +{rng.randint(1, 99)} {rng.randint(100, 999)} "
                 f"{rng.randint(100, 999)} {rng.randint(1000, 9999)}"),
            ]  # fmt: skip
            question = f"When does the agreement with the {en} expire?"
            language = "en"
        else:
            sentence, s, e, ends = self.agreement_ru(ru_instr)
            person = rng.choice(PEOPLE_RU)
            event, held = rng.choice(EVENTS_RU)
            mail = f"intl{fi}@partner{rng.randint(10, 999)}.example.ru"
            sections = [
                (f"{ru}, {country_ru}", rng.choice(HISTORY_RU).format(p=ru, y=since, f=field_ru)),
                ("Соглашения", f"{sentence} Документ охватывает совместные исследования в области "
                 f"{field_ru}, академическую мобильность и обмен публикациями. Ход работы "
                 "ежегодно рассматривает совместная рабочая группа."),
                ("Совместные программы", PROGRAMME_RU.format(f=field_ru, n=people,
                                                              topic=rng.choice(TOPICS_RU))),
                ("Мероприятия", f"{event} в области {field_ru} {held} в городе "
                 f"{city_ru} ({country_ru}) {_ru_day(event_day)}; участвовали {people * 3} "
                 f"специалистов из {rng.randint(3, 25)} стран."),
                ("Контакты", f"{rng.choice(ROLES_RU).capitalize()}: {person}\n"
                 f"E-mail: {mail}\nТел. +7 ({rng.randint(300, 999)}) {rng.randint(100, 999)}-"
                 f"{rng.randint(10, 99)}-{rng.randint(10, 99)}"),
            ]  # fmt: skip
            question = f"Когда истекает соглашение с {ru_instr}?"
            language = "ru"
        mark = "# " if markdown else ""
        sub = "## " if markdown else ""
        blocks = [f"{mark}{sections[0][0]}", sections[0][1]]
        for title, body in sections[1:]:
            blocks += [f"{sub}{title}", body]
        text = "\n\n".join(blocks) + "\n"
        partner = en if language == "en" else ru_instr
        return text, GeneratedAgreement(name, partner, language, s, e, ends), question

    def registry(self, name: str) -> tuple[str, list[GeneratedAgreement]]:
        """A semicolon-separated registry in Russian headers, one agreement per row."""
        rng = self.rng
        lines = ["Партнёр;Страна;Вид документа;Дата подписания;Действует до;Статус;E-mail"]
        rows: list[GeneratedAgreement] = []
        for _ in range(REGISTRY_ROWS):
            country, _country_ru, city, city_ru = self.place()
            en, _ru, _instr, fi = self.partner(city, city_ru)
            signed, ends = self._date(2016, 2024), self._date(2025, 2031)
            s, e = _dotted(signed), _dotted(ends)
            kind = rng.choice(
                ["Соглашение о сотрудничестве", "Меморандум о взаимопонимании", "Договор"]
            )
            lines.append(f"{en};{country};{kind};{s};{e};действует;intl{fi}@example.org")
            rows.append(GeneratedAgreement(name, en, "ru", s, e, ends))
        return "\n".join(lines) + "\n", rows


def _chunk_count(path: Path, settings: IngestSettings) -> int:
    loaded = load_file(path, max_bytes=int(settings.max_file_mb * 1024 * 1024))
    return len(
        chunk_document(
            loaded,
            target_chars=settings.chunk_target_chars,
            max_chars=settings.chunk_max_chars,
            overlap_chars=settings.chunk_overlap_chars,
        )
    )


def _structured_questions() -> list[GeneratedQuestion]:
    """List questions over all agreements (their answers are lists, so `expected` is empty)."""
    texts = [
        ("Which agreements expire this year?", "en"),
        ("Which agreements expire in the next 60 days?", "en"),
        ("Which cooperation agreements end by the end of the year?", "en"),
        ("Какие соглашения истекают в этом году?", "ru"),
        ("Какие договоры заканчиваются в ближайшие 90 дней?", "ru"),
        ("Which agreements expire next year?", "en"),
    ]
    return [GeneratedQuestion(q, "", None, lang, "structured") for q, lang in texts]


def generate_corpus(
    target_dir: Path,
    *,
    chunks: int,
    seed: int = 0,
    settings: IngestSettings | None = None,
    max_questions: int = 200,
) -> CorpusInfo:
    """Write pages (and a registry every `REGISTRY_EVERY` files) into `target_dir` until the
    chunker at `settings` (the ingest defaults) would cut about `chunks` chunks from them.

    Files go into subfolders of 500 so no folder gets huge. Deterministic for a seed.
    """
    settings = settings or IngestSettings()
    writer = _Writer(seed)
    info = CorpusInfo(root=target_dir, seed=seed)
    expiry: list[GeneratedQuestion] = []
    while info.estimated_chunks < chunks:
        number = len(info.files)
        folder = target_dir / f"part{number // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        if number % REGISTRY_EVERY == REGISTRY_FIRST:
            name = f"part{number // 500:03d}/registry_{number:06d}.csv"
            text, rows = writer.registry(name)
            info.agreements.extend(rows)
            info.registries += 1
        else:
            suffix = ".md" if writer.rng.random() < 0.5 else ".txt"
            name = f"part{number // 500:03d}/partner_{number:06d}{suffix}"
            text, agreement, question = writer.page(name)
            info.agreements.append(agreement)
            expected = agreement.ends_text or agreement.signed_text or ""
            expiry.append(
                GeneratedQuestion(
                    question, expected, name, agreement.language, "expiry", agreement.ends_on
                )
            )
            info.pages += 1
        path = target_dir / name
        path.write_text(text, encoding="utf-8")
        info.files.append(name)
        info.estimated_chunks += _chunk_count(path, settings)
    sampler = random.Random(seed + 1)
    picked = sampler.sample(expiry, min(max_questions, len(expiry)))
    info.questions = picked + _structured_questions()
    return info
