"""Contacts in prose: a person with a role, a phone or an e-mail.

Two shapes are read: a block of lines ("Head of X: N. Surname" followed by phone and e-mail
lines), and a single sentence ("The coordinator is Dr. N. Surname, tel. +7 ...").
"""

from __future__ import annotations

import re

from ingest.facts.models import ContactFact
from ingest.facts.organisations import find_organisations, tokenize
from ingest.facts.sentence_splitter import LINE

_ROLE = (
    r"(?:head|director|deputy|coordinator|manager|officer|secretary|chief|contact\s+person"
    r"|contact|responsible|specialist|curator|chair(?:man|person)?|president|rector|dean"
    r"|руководител\w*|начальник\w*|директор\w*|заведующ\w*|координатор\w*|контактное\s+лицо"
    r"|ответственн\w*|специалист\w*|заместител\w*|куратор\w*|ректор\w*|декан\w*|секретар\w*"
    r"|менеджер\w*|председател\w*|президент\w*)"
)
_TITLE = r"(?:(?:Professor|Prof\.|Dr\.|Mr\.|Ms\.|Mrs\.|Academician|профессор|академик|д-р)\s+)?"
_NAME = (
    r"(?P<name>[A-ZА-ЯЁ]\.\s?(?:[A-ZА-ЯЁ]\.\s?)?[A-ZА-ЯЁ][a-zа-яё'’-]+"
    r"|[A-ZА-ЯЁ][a-zа-яё'’-]+\s+[A-ZА-ЯЁ]\.\s?(?:[A-ZА-ЯЁ]\.)?"
    r"|[A-ZА-ЯЁ][a-zа-яё'’-]+(?:\s+[A-ZА-ЯЁ][a-zа-яё'’-]+){1,2})"
)
_ROLE_LINE = re.compile(
    rf"(?P<role>(?i:[^\n:]{{0,60}}?(?<!\w){_ROLE}(?!\w)[^\n:]{{0,60}}?))\s*[:—–]\s*{_TITLE}"
    rf"{_NAME}\s*[.;,]?"
)
_ROLE_IS = re.compile(
    rf"(?P<role>(?i:(?<!\w){_ROLE}(?!\w))[^.;:\n]{{0,80}}?)\s+(?:is|—|–|является)\s+{_TITLE}"
    rf"{_NAME}"
)
_PHONE = re.compile(
    r"(?i)(?:(?<!\w)(?:tel|phone|telephone|mob|mobile|fax|тел|телефон|моб|факс)\.?\s*:?\s*"
    r"(?P<labelled>\+?\d[\d ().-]{5,}\d)|(?P<plus>(?<![\w+])\+\s?\d[\d ().-]{6,}\d))"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DETAIL_WORDS = re.compile(
    r"(?i)(?<!\w)(?:e-?mail|tel|phone|telephone|mob|mobile|fax|тел|телефон|моб|факс|эл|почта"
    r"|электронная)(?!\w)"
)


# Cheap tests that let most sentences skip the contact patterns.
_ROLE_IS_HINT = re.compile(r"(?:\bis|является|[—–])\s+(?:\S+\s+)?[A-ZА-ЯЁ]")
_DETAIL_HINT = re.compile(r"@|\d\d")


def _phone(text: str, start: int, end: int) -> str | None:
    m = _PHONE.search(text, start, end)
    return (m["labelled"] or m["plus"]).strip() if m else None


def _email(text: str, start: int, end: int) -> str | None:
    m = _EMAIL.search(text, start, end)
    return m[0].rstrip(".") if m else None


def _is_detail_line(line: str) -> bool:
    rest = _DETAIL_WORDS.sub("", _EMAIL.sub("", _PHONE.sub("", line)))
    return (_PHONE.search(line) or _EMAIL.search(line)) is not None and not any(
        ch.isalpha() for ch in rest
    )


def _role_organisation(role: str) -> str | None:
    """ "Head of the International Relations Department" → "International Relations Department"."""
    tokens = tokenize(role, 0, len(role))
    for k, token in enumerate(tokens):
        if token.text.lower() == "of":
            orgs = find_organisations(tokens, k + 1, len(tokens))
            if orgs:
                return role[tokens[orgs[0][0]].start : tokens[orgs[0][1]].end]
    return None


def extract_contacts(text: str, sentence_spans: list[tuple[int, int]]) -> list[ContactFact]:
    """Contacts in `text`, in order: blocks of role and detail lines first, then sentences
    outside those blocks that name a role holder, a phone or an e-mail."""
    contacts: list[ContactFact] = []
    covered: list[tuple[int, int]] = []
    group: list[tuple[int, int]] = []
    person: re.Match[str] | None = None

    def close() -> None:
        nonlocal group, person
        if group and (
            person
            or _phone(text, group[0][0], group[-1][1])
            or _email(text, group[0][0], group[-1][1])
        ):
            start, end = group[0][0], group[-1][1]
            contacts.append(
                ContactFact(
                    evidence_start=start,
                    evidence_end=end,
                    person=person["name"] if person else None,
                    role=person["role"].strip() if person else None,
                    organisation=_role_organisation(person["role"]) if person else None,
                    phone=_phone(text, start, end),
                    email=_email(text, start, end),
                )
            )
            covered.append((start, end))
        group, person = [], None

    for m in LINE.finditer(text):
        line = m[0].strip()
        start = m.start() + len(m[0]) - len(m[0].lstrip())
        span = (start, start + len(line))
        role = _ROLE_LINE.fullmatch(line) if len(line) < 160 else None
        if role:
            if person is not None:
                close()
            group.append(span)
            person = role
        elif line and len(line) < 200 and _is_detail_line(line):
            group.append(span)
        elif line:
            close()
    close()
    for start, end in sentence_spans:
        if any(a <= start < b for a, b in covered):
            continue
        said = _ROLE_IS.search(text, start, end) if _ROLE_IS_HINT.search(text, start, end) else None
        details = _DETAIL_HINT.search(text, start, end) is not None
        phone = _phone(text, start, end) if details else None
        email = _email(text, start, end) if details else None
        if said or phone or email:
            contacts.append(
                ContactFact(
                    evidence_start=start,
                    evidence_end=end,
                    person=said["name"] if said else None,
                    role=said["role"].strip() if said else None,
                    phone=phone,
                    email=email,
                )
            )
    contacts.sort(key=lambda c: c.evidence_start)
    return contacts
