"""Tell Russian documents from English ones by the share of Cyrillic letters."""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["ru", "en"]

CYRILLIC_SHARE = 0.3
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_CYRILLIC_RUN = re.compile(r"[\u0400-\u0481\u048A-\u052F]+")  # Cyrillic letters only


def detect_language(text: str) -> Language:
    """Return "ru" when at least 30% of the letters are Cyrillic, else "en" (also for no letters).

    Counting is done by regex runs, so it stays fast on multi-megabyte texts.
    """
    letters = sum(len(run) for run in _LETTER_RUN.findall(text))
    if letters == 0:
        return "en"
    cyrillic = sum(len(run) for run in _CYRILLIC_RUN.findall(text))
    return "ru" if cyrillic / letters >= CYRILLIC_SHARE else "en"
