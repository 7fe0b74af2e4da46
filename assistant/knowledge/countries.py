"""Country names in English and Russian (stems, so every grammatical case matches)."""

from __future__ import annotations

import re

# canonical English name: (English pattern, Russian stem pattern)
COUNTRIES: dict[str, tuple[str, str]] = {
    "Armenia": (r"armenia\w*", r"армени\w*|армянск\w*"),
    "Australia": (r"australia\w*", r"австрали\w*"),
    "Austria": (r"austria\w*", r"австри\w*"),
    "Azerbaijan": (r"azerbaijan\w*", r"азербайджан\w*"),
    "Belarus": (r"belarus\w*", r"беларус\w*|белорус\w*"),
    "Brazil": (r"brazil\w*", r"бразили\w*"),
    "Canada": (r"canad\w*", r"канад\w*"),
    "China": (r"china|chinese", r"кита\w*"),
    "Cuba": (r"cuba\w*", r"куб[аеуыо]\w*|кубинск\w*"),
    "Egypt": (r"egypt\w*", r"егип\w*"),
    "Estonia": (r"estonia\w*", r"эстони\w*"),
    "Finland": (r"finland|finnish", r"финлянд\w*|финск\w*"),
    "France": (r"france|french", r"франци\w*|французск\w*"),
    "Georgia": (r"georgia\b", r"грузи\w*"),
    "Germany": (r"germany|german", r"германи\w*|немецк\w*"),
    "Hungary": (r"hungar\w*", r"венгри\w*|венгерск\w*"),
    "India": (r"india\b|indian", r"инди[ияюе]\w*|индийск\w*"),
    "Italy": (r"italy|italian", r"итали\w*"),
    "Japan": (r"japan\w*", r"япони\w*|японск\w*"),
    "Kazakhstan": (r"kazakh\w*", r"казахстан\w*|казахск\w*"),
    "Kyrgyzstan": (r"kyrgyz\w*", r"киргиз\w*|кыргыз\w*"),
    "Latvia": (r"latvia\w*", r"латви\w*"),
    "Lithuania": (r"lithuania\w*", r"литв\w*|литовск\w*"),
    "Moldova": (r"moldov\w*", r"молдов\w*"),
    "Mongolia": (r"mongolia\w*", r"монголи\w*"),
    "Netherlands": (r"netherlands|dutch", r"нидерланд\w*|голланд\w*"),
    "Norway": (r"norw\w*", r"норвеги\w*"),
    "Poland": (r"poland|polish", r"польш\w*|польск\w*"),
    "Russia": (r"russia\b|russian federation", r"росси[ийяюе]\w*"),
    "Serbia": (r"serbia\w*", r"серби\w*|сербск\w*"),
    "Spain": (r"spain|spanish", r"испани\w*"),
    "Sweden": (r"sweden|swedish", r"швеци\w*|шведск\w*"),
    "Switzerland": (r"switzerland|swiss", r"швейцари\w*"),
    "Tajikistan": (r"tajik\w*", r"таджик\w*"),
    "Turkey": (r"turkey|türkiye|turkish", r"турци\w*|турецк\w*"),
    "Ukraine": (r"ukrain\w*", r"украин\w*"),
    "United Kingdom": (r"united kingdom|\buk\b|britain|british", r"великобритани\w*|британск\w*"),
    "United States": (r"\busa\b|united states|\bu\.s\.", r"\bсша\b|америк\w*"),
    "Uzbekistan": (r"uzbek\w*", r"узбекистан\w*|узбекск\w*"),
    "Vietnam": (r"vietnam\w*|viet nam", r"вьетнам\w*"),
}
_PATTERNS = {
    name: re.compile(rf"\b(?:{en}|{ru})", re.IGNORECASE) for name, (en, ru) in COUNTRIES.items()
}


def find_country(text: str) -> str | None:
    """The first country named in `text` (canonical English name), if any."""
    found = [(m.start(), name) for name, p in _PATTERNS.items() if (m := p.search(text))]
    return min(found)[1] if found else None


def same_country(stored: str | None, wanted: str) -> bool:
    """Whether a stored country (as written in a document) is `wanted`."""
    return bool(stored) and find_country(stored or "") == wanted
