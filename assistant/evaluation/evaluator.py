"""Run the gold set through the assistant and the naive baseline; compute the metrics."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from assistant.answering.service import AssistantService
from assistant.evaluation.gold import GoldItem, facts_present
from assistant.evaluation.naive_baseline import NaiveRetriever
from vectorstore.facts_db import FactsDB

HIT_K = 5


@dataclass
class ItemResult:
    """How one gold question went."""

    id: str
    lang: str
    answerable: bool
    found: bool
    facts_ok: bool
    hit: bool
    citations: int
    citations_valid: int
    answer_chars: int
    seconds: float
    answer: str = ""


@dataclass
class Metrics:
    """The quality table for one system."""

    name: str
    fact_accuracy: dict[str, float] = field(default_factory=dict)  # by language, answerable
    hit_at_k: dict[str, float] = field(default_factory=dict)  # by language, answerable
    declined_unanswerable: float = 0.0
    declined_answerable: float = 0.0
    citation_validity: float = 1.0
    mean_answer_chars: float = 0.0
    p50_ms: float = 0.0


def _source_matches(source: str, expected: tuple[str, ...]) -> bool:
    return any(source == name or source.endswith("/" + name) for name in expected)


def _valid_quotes(facts: FactsDB, quotes: list[tuple[str, int, int, str]]) -> int:
    """How many (doc_id, start, end, quote) are exactly the served text at their offsets."""
    valid = 0
    for doc_id, start, end, quote in quotes:
        document = facts.get_document(doc_id)
        if document is not None and document.text[start:end] == quote:
            valid += 1
    return valid


def _hit(chunks: list[tuple[str, str]], item: GoldItem) -> bool:
    """The retrieved chunks of an expected source hold every expected fact."""
    text = " ".join(t for source, t in chunks if _source_matches(source, item.expected_sources))
    return bool(text) and facts_present(text, item.expected_facts)


def evaluate_assistant(
    assistant: AssistantService, facts: FactsDB, items: list[GoldItem]
) -> list[ItemResult]:
    """Ask every gold question as a visitor (follow-ups in their session)."""
    sessions: dict[str, str] = {}
    results: list[ItemResult] = []
    for item in items:
        session = sessions.get(item.follow_up_of) if item.follow_up_of else None
        started = time.perf_counter()
        answer = assistant.ask(item.question, "public", session)
        seconds = time.perf_counter() - started
        if answer.session_id:
            sessions[item.id] = answer.session_id
        resolved = assistant.last_query(answer.session_id or "", "public") or item.question
        hits = assistant.searcher.search(resolved, "public", k=HIT_K)
        valid = _valid_quotes(
            facts, [(c.doc_id, c.start, c.end, c.quote) for c in answer.citations]
        )
        results.append(
            ItemResult(
                id=item.id,
                lang=item.lang,
                answerable=item.answerable,
                found=answer.found,
                facts_ok=answer.found and facts_present(answer.answer, item.expected_facts),
                hit=_hit([(h.chunk.source, h.chunk.text) for h in hits], item),
                citations=len(answer.citations),
                citations_valid=valid,
                answer_chars=len(answer.answer),
                seconds=seconds,
                answer=answer.answer,
            )
        )
    return results


def evaluate_naive(
    naive: NaiveRetriever, facts: FactsDB, items: list[GoldItem]
) -> list[ItemResult]:
    """The baseline: answer = the top-k chunks; follow-ups get the previous question prepended."""
    by_id = {item.id: item for item in items}
    results: list[ItemResult] = []
    for item in items:
        query = item.question
        if item.follow_up_of and item.follow_up_of in by_id:
            query = f"{by_id[item.follow_up_of].question} {item.question}"
        started = time.perf_counter()
        chunks = naive.search(query)
        seconds = time.perf_counter() - started
        answer = "\n\n".join(text for _, _, _, text in chunks)
        valid = _valid_quotes(
            facts, [(doc_id, start, start + len(text), text) for doc_id, _, start, text in chunks]
        )
        results.append(
            ItemResult(
                id=item.id,
                lang=item.lang,
                answerable=item.answerable,
                found=True,
                facts_ok=facts_present(answer, item.expected_facts),
                hit=_hit([(source, text) for _, source, _, text in chunks], item),
                citations=len(chunks),
                citations_valid=valid,
                answer_chars=len(answer),
                seconds=seconds,
                answer=answer,
            )
        )
    return results


def summarize(name: str, results: list[ItemResult]) -> Metrics:
    """Aggregate per-question results."""
    metrics = Metrics(name)
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    for lang in sorted({r.lang for r in answerable}):
        group = [r for r in answerable if r.lang == lang]
        metrics.fact_accuracy[lang] = sum(r.facts_ok for r in group) / len(group)
        metrics.hit_at_k[lang] = sum(r.hit for r in group) / len(group)
    if unanswerable:
        metrics.declined_unanswerable = sum(not r.found for r in unanswerable) / len(unanswerable)
    if answerable:
        metrics.declined_answerable = sum(not r.found for r in answerable) / len(answerable)
    total = sum(r.citations for r in results)
    metrics.citation_validity = sum(r.citations_valid for r in results) / total if total else 1.0
    metrics.mean_answer_chars = (
        statistics.fmean(r.answer_chars for r in results) if results else 0.0
    )
    metrics.p50_ms = statistics.median(r.seconds for r in results) * 1000 if results else 0.0
    return metrics


def render_table(ours: Metrics, naive: Metrics) -> str:
    """A plain-text table: metric, ours, naive."""
    rows: list[tuple[str, str, str]] = []

    def pct(value: float) -> str:
        return f"{value * 100:.1f}%"

    for lang in sorted(set(ours.fact_accuracy) | set(naive.fact_accuracy)):
        rows.append(
            (
                f"answer fact accuracy ({lang})",
                pct(ours.fact_accuracy.get(lang, 0.0)),
                pct(naive.fact_accuracy.get(lang, 0.0)),
            )
        )
    for lang in sorted(set(ours.hit_at_k) | set(naive.hit_at_k)):
        rows.append(
            (
                f"retrieval hit@{HIT_K} ({lang}; naive top-4)",
                pct(ours.hit_at_k.get(lang, 0.0)),
                pct(naive.hit_at_k.get(lang, 0.0)),
            )
        )
    rows += [
        (
            "unanswerable declined",
            pct(ours.declined_unanswerable),
            pct(naive.declined_unanswerable),
        ),
        ("answerable declined", pct(ours.declined_answerable), pct(naive.declined_answerable)),
        ("citation validity", pct(ours.citation_validity), pct(naive.citation_validity)),
        (
            "mean answer length (chars)",
            f"{ours.mean_answer_chars:.0f}",
            f"{naive.mean_answer_chars:.0f}",
        ),
        ("p50 latency (ms)", f"{ours.p50_ms:.1f}", f"{naive.p50_ms:.1f}"),
    ]
    width = max(len(row[0]) for row in rows)
    lines = [f"{'metric':<{width}}  {'ours':>8}  {'naive':>8}", "-" * (width + 20)]
    lines += [f"{label:<{width}}  {a:>8}  {b:>8}" for label, a, b in rows]
    return "\n".join(lines)
