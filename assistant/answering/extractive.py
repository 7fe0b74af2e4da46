"""The extractive answerer (the default, no LLM): a few evidence sentences, each cited.

It never writes a fact of its own: the answer is a lead-in line in the question's language and
verbatim sentences from the documents, each followed by its marker [n]. Markers a sentence itself
carries ("... in 2031 [2][3].") are shown as "(2)(3)": only the answerer's own markers point at
sources (the citation's quote stays verbatim).
"""

from __future__ import annotations

import re

from assistant.answering.drafts import AnswerRequest, DraftAnswer, DraftCitation
from assistant.answering.reply_parser import MARKER_GROUP
from assistant.retrieval.evidence import Evidence

_LIST_QUESTION = re.compile(
    r"\b(which|what\s+\w+\s+(?:are|were|do|does|did|has|have)|list|name\s+(?:the|all)|"
    r"who\s+are|partners|organi[sz]ations|activities|areas|programs|programmes|countries)\b|"
    r"\b(какие|какими|каких|каким|перечисл\w*|список|назовите|чем\s+занима\w*|"
    r"организаци\w*|партнер\w*|партнёр\w*|направлени\w*|стран\w*)",
    re.IGNORECASE,
)

LEAD_IN = {
    "en": "According to the documents:",
    "ru": "Согласно документам:",
}
LEAD_IN_TRANSLATED = {
    "en": "According to the documents:",
    "ru": "Согласно документам (цитаты на языке оригинала):",
}


def is_list_question(question: str) -> bool:
    """Whether the question asks for several items."""
    return bool(_LIST_QUESTION.search(question))


def choose_sentences(
    evidence: list[Evidence], *, list_question: bool, relative_floor: float = 0.8
) -> list[Evidence]:
    """The best sentence, plus those nearly as good (more, from more places, for lists)."""
    if not evidence:
        return []
    limit = 5 if list_question else 2
    floor = evidence[0].score * (relative_floor - (0.1 if list_question else 0.0))
    chosen: list[Evidence] = []
    texts: set[str] = set()
    for item in evidence:
        if len(chosen) >= limit or item.score < floor:
            break
        normalized = " ".join(item.text.lower().split())
        if normalized in texts or any(_overlaps(item, other) for other in chosen):
            continue
        texts.add(normalized)
        chosen.append(item)
    return chosen


def _overlaps(one: Evidence, other: Evidence) -> bool:
    return (
        one.chunk.doc_id == other.chunk.doc_id and one.start < other.end and other.start < one.end
    )


class ExtractiveAnswerer:
    """Builds the answer from the evidence sentences themselves."""

    mode = "extractive"

    def answer(self, request: AnswerRequest) -> DraftAnswer:
        """A concise, cited answer from `request.evidence` (already judged to answer)."""
        if request.profile.answer_type is not None:
            chosen = choose_typed(request.evidence)
        else:
            chosen = choose_sentences(
                request.evidence, list_question=is_list_question(request.question)
            )
        # Reading order: by document, then by position, so neighbouring sentences read naturally.
        first_seen: dict[str, int] = {}
        for index, item in enumerate(chosen):
            first_seen.setdefault(item.chunk.doc_id, index)
        ordered = sorted(chosen, key=lambda e: (first_seen[e.chunk.doc_id], e.start))
        citations = [DraftCitation(n, item) for n, item in enumerate(ordered, start=1)]
        translated = any(item.chunk.language != request.language for item in ordered)
        lead = (LEAD_IN_TRANSLATED if translated else LEAD_IN)[request.language]
        lines = [f"{_shown(c.evidence.text)} [{c.n}]" for c in citations]
        if len(lines) > 1:
            body = "\n".join(f"- {line}" for line in lines)
        else:
            body = lines[0] if lines else ""
        return DraftAnswer(text=f"{lead}\n{body}", citations=citations, mode=self.mode)


def choose_typed(evidence: list[Evidence]) -> list[Evidence]:
    """For a question that wants a name, date or amount: the best sentence holding one, plus the
    neighbour that gives it its topic when that neighbour matches the question better.

    A sentence about what the question names in full comes first: asked about the "State
    Academy of Marine Research (Alexandria)", the date beside that name beats a better-worded
    one beside the "State Academy of Marine Research (Cairo)"."""
    typed = [item for item in evidence if item.typed and item.focus_full] or [
        item for item in evidence if item.typed and item.focus_ok
    ]
    if not typed:
        return choose_sentences(evidence, list_question=False)
    best = typed[0]
    chosen = [best]
    neighbours = [
        item
        for item in evidence
        if item.chunk.doc_id == best.chunk.doc_id
        and item is not best
        and (0 <= best.start - item.end <= 3 or 0 <= item.start - best.end <= 3)
    ]
    if neighbours:
        context = max(neighbours, key=lambda item: item.score)
        if context.topical > best.topical or context.score >= 0.75 * best.score:
            chosen.append(context)
    return chosen


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shown(text: str) -> str:
    """A quoted sentence on one line, its own citation-like markers made inert."""
    return MARKER_GROUP.sub(lambda m: f"({m.group(1)})", _one_line(text))
