"""The gold set: questions with the facts a correct answer contains and the source it cites."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GoldItem:
    """One gold question (see tests/gold/README.md for the format)."""

    id: str
    lang: str
    question: str
    kind: str
    answerable: bool
    expected_facts: tuple[tuple[str, ...], ...]
    expected_sources: tuple[str, ...]
    follow_up_of: str | None = None


def load_gold(path: Path) -> list[GoldItem]:
    """Read a JSON-lines gold file; a malformed line is an error that names it."""
    items: list[GoldItem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            items.append(
                GoldItem(
                    id=raw["id"],
                    lang=raw["lang"],
                    question=raw["question"],
                    kind=raw["kind"],
                    answerable=bool(raw["answerable"]),
                    expected_facts=tuple(tuple(fact) for fact in raw["expected_facts"]),
                    expected_sources=tuple(raw["expected_sources"]),
                    follow_up_of=raw.get("follow_up_of"),
                )
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}:{number}: not a valid gold item ({exc})") from exc
    return items


def facts_present(answer: str, expected: tuple[tuple[str, ...], ...]) -> bool:
    """Every expected fact (any of its alternatives) occurs in the answer, case-insensitively."""
    text = " ".join(answer.lower().split())
    return all(any(alt.lower() in text for alt in alternatives) for alternatives in expected)
