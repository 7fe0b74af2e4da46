"""Held-out measurement of the prose agreement extractor.

`extraction_holdout.jsonl` was written independently of the extractor (without reading its
source or its tests). Each line: {"id", "lang", "text", "agreements": [{"partner", "signed",
"ends"}]}, where "partner" is a distinctive substring of the partner's name as written and
"signed"/"ends" are "YYYY-MM-DD", "YYYY-MM", "YYYY" or null.

A predicted agreement matches an expected one when the expected partner substring occurs
(case-insensitively) in the predicted partner and both dates agree at the expected precision
(ISO prefix comparison; an expected null requires None). Predictions and expectations are
paired one-to-one (maximum bipartite matching per snippet).

Run with ``pytest tests/ingest/test_extraction_holdout.py -q -s`` to see the figures.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from ingest.facts.models import AgreementFact
from ingest.facts.prose_extractor import extract_from_prose
from ingest.normalize import normalize_text

HOLDOUT = Path(__file__).with_name("extraction_holdout.jsonl")

# A few points below the figures measured when this set was written (all: P 19/23 = 0.826,
# R 19/36 = 0.528; en: P 7/9 = 0.778, R 7/18 = 0.389; ru: P 12/14 = 0.857, R 12/18 = 0.667).
# They guard against regressions; they are not targets (recall, in English especially, is low).
THRESHOLDS: dict[str, dict[str, float]] = {
    "all": {"precision": 0.79, "recall": 0.50},
    "en": {"precision": 0.74, "recall": 0.36},
    "ru": {"precision": 0.82, "recall": 0.63},
}


def load_holdout() -> list[dict[str, Any]]:
    with HOLDOUT.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _date_agrees(expected: str | None, predicted: date | None) -> bool:
    if expected is None:
        return predicted is None
    if predicted is None:
        return False
    return predicted.isoformat()[: len(expected)] == expected


def matches(expected: dict[str, Any], predicted: AgreementFact) -> bool:
    partner = str(expected["partner"]).casefold()
    if partner not in predicted.partner.casefold():
        return False
    return _date_agrees(expected["signed"], predicted.signed_on) and _date_agrees(
        expected["ends"], predicted.ends_on
    )


def _max_matching(expected: list[dict[str, Any]], predicted: list[AgreementFact]) -> int:
    """Size of a maximum one-to-one matching between expected and predicted agreements."""
    edges = [[j for j, p in enumerate(predicted) if matches(e, p)] for e in expected]
    owner: dict[int, int] = {}  # predicted index -> expected index

    def augment(i: int, seen: set[int]) -> bool:
        for j in edges[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    return sum(augment(i, set()) for i in range(len(expected)))


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def measure(verbose: bool = False) -> dict[str, dict[str, float]]:
    """Precision and recall over the hold-out set, overall ("all") and per language."""
    tallies: dict[str, list[int]] = {}  # key -> [matched, predicted, expected]
    for item in load_holdout():
        expected: list[dict[str, Any]] = item["agreements"]
        predicted = extract_from_prose(normalize_text(item["text"])).agreements
        matched = _max_matching(expected, predicted)
        for key in ("all", item["lang"]):
            t = tallies.setdefault(key, [0, 0, 0])
            t[0] += matched
            t[1] += len(predicted)
            t[2] += len(expected)
        if verbose and (matched != len(expected) or matched != len(predicted)):
            got = [(p.partner, p.signed_on, p.ends_on) for p in predicted]
            print(f"MISS {item['id']}: matched {matched}/{len(expected)}; predicted {got}")
    result: dict[str, dict[str, float]] = {}
    for key, (matched, n_pred, n_exp) in tallies.items():
        result[key] = {
            "precision": _ratio(matched, n_pred),
            "recall": _ratio(matched, n_exp),
            "matched": float(matched),
            "predicted": float(n_pred),
            "expected": float(n_exp),
        }
    return result


def test_holdout_file_is_well_formed() -> None:
    items = load_holdout()
    assert len(items) >= 30
    assert len({item["id"] for item in items}) == len(items)
    for item in items:
        assert item["lang"] in ("en", "ru")
        for agreement in item["agreements"]:
            assert agreement["partner"] in item["text"], item["id"]


def test_extraction_holdout_precision_recall() -> None:
    result = measure(verbose=True)
    for key in ("all", "en", "ru"):
        r = result[key]
        print(
            f"{key}: precision {r['precision']:.3f} ({int(r['matched'])}/{int(r['predicted'])})"
            f", recall {r['recall']:.3f} ({int(r['matched'])}/{int(r['expected'])})"
        )
    for key, limits in THRESHOLDS.items():
        assert result[key]["precision"] >= limits["precision"], (key, result[key])
        assert result[key]["recall"] >= limits["recall"], (key, result[key])
