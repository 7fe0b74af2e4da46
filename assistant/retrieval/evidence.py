"""The sentence-level pass: from the best chunks, pick the sentences that answer the question.

Each candidate sentence is scored by its meaning (cosine between the question and the sentence
embedding) and its words (the share of the question's stemmed terms it contains, weighted so
rare terms count more): its *topical* score. Answers often stand next to the sentence that
matches best ("... a competition was held. The winner was Sergey Nikolaev."), so a sentence's
*context* score also takes in its neighbours', and a sentence holding the kind of answer the
question expects (a name, a date, an amount) is preferred. Sentence vectors are computed after
each ingest and kept on disk (`SentenceStore`), so answering embeds only the question; so is
what scoring reads of each chunk's sentences whatever the question (`encode_sentences`), so
answering does not split and stem them again. Offsets are always into the document's canonical
text, so a quote is `text[start:end]`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field

import numpy as np

from assistant.lru import Lru
from assistant.retrieval.hybrid import ScoredChunk
from assistant.retrieval.question_analysis import (
    QuestionProfile,
    analyse,
    answer_types_in,
    has_answer_type,
    has_cyrillic,
    has_latin,
    has_type_bit,
    terms_present,
)
from ingest.chunker import sentence_spans
from ingest.language import detect_language
from vectorstore.composite_embedder import CompositeEmbedder
from vectorstore.embeddings import Embedder
from vectorstore.lexical import BilingualTokenizer
from vectorstore.records import ChunkRecord
from vectorstore.sentence_store import SentenceStore, as_stored, sentence_key

MIN_SENTENCE_CHARS = 12
MAX_SENTENCE_CHARS = 600
NEIGHBOUR_WEIGHT = 0.85
TYPE_BONUS = 0.12
FOCUS_BONUS = 0.1
# The layout of `encode_sentences`; the format a store is asked for adds a digest of a probe
# text's encoding, so that a change to how sentences are split, stemmed or typed makes the
# kept data of older releases unread (and written again by the next sentence stage).
SENTENCE_DATA_LAYOUT = 1


@dataclass(frozen=True)
class Evidence:
    """One sentence of a document that may answer the question."""

    chunk: ChunkRecord
    start: int
    end: int
    text: str
    similarity: float
    overlap: float
    topical: float
    context: float
    typed: bool
    score: float
    chunk_rank: int
    focus_ok: bool = True  # the sentence's window holds one of the question's focus terms
    focus_full: bool = True  # ... holds every one of them (the thing asked about, not a sibling)
    # The sentence's lower-cased words (with its heading's), and those written with a capital:
    # what the decline check reads, worked out once per chunk (empty: not worked out).
    words: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    capitalised: frozenset[str] = field(default=frozenset(), repr=False, compare=False)


class SentenceVectorCache:
    """Sentence vectors: a bounded LRU in memory over an optional `SentenceStore` on disk
    (filled after each ingest, so that answering embeds no sentence at all); what neither holds
    is computed and kept in both. Keys are `sentence_key`s."""

    def __init__(self, capacity: int = 50_000, store: SentenceStore | None = None) -> None:
        self._items: Lru[str, np.ndarray] = Lru(capacity)
        self.store = store

    def preload(self, keys: list[str]) -> None:
        """Bring into memory the vectors the store keeps among `keys` (none is computed)."""
        if self.store is None:
            return
        held = self._items.get_many(keys)
        missing = [key for key in keys if key not in held]
        if missing:
            self._items.put_many(self.store.get_many(missing))

    def vectors(
        self, embedder: Embedder, keys: list[str], texts: list[str], doc_ids: list[str]
    ) -> np.ndarray:
        """Vectors for `texts` (keys and documents alongside), computing only unknown ones."""
        held = self._items.get_many(keys)
        found = {i: held[key] for i, key in enumerate(keys) if key in held}
        missing = [i for i in range(len(keys)) if i not in found]
        if missing and self.store is not None:
            stored = self.store.get_many([keys[i] for i in missing])
            for i in missing:
                if keys[i] in stored:
                    found[i] = stored[keys[i]]
            self._items.put_many({keys[i]: found[i] for i in missing if i in found})
            missing = [i for i in missing if i not in found]
        if missing:
            # A sentence repeated across documents (a letterhead, a standard clause) is
            # embedded once per call: its vector depends on its text alone.
            rows = {text: row for row, text in enumerate(dict.fromkeys(texts[i] for i in missing))}
            computed = as_stored(embedder.encode_passages(list(rows)))
            for i in missing:
                found[i] = computed[rows[texts[i]]]
            self._items.put_many({keys[i]: found[i] for i in missing})
            if self.store is not None:
                self.store.put_many((keys[i], doc_ids[i], found[i]) for i in missing)
        if not keys:
            return np.zeros((0, embedder.dimension), dtype=np.float32)
        return np.stack([found[i] for i in range(len(keys))])


class EvidenceSelector:
    """Scores the sentences of retrieved chunks against a question."""

    def __init__(
        self,
        embedder: Embedder,
        tokenizer: BilingualTokenizer,
        *,
        chunks_considered: int = 5,
        meaning_weight: float = 0.6,
        cache: SentenceVectorCache | None = None,
        chunks_kept: int = 2048,
    ) -> None:
        self._embedder = embedder
        self._tokenizer = tokenizer
        self._chunks_considered = chunks_considered
        self._meaning_weight = meaning_weight
        self._cache = cache or SentenceVectorCache()
        self._sentences: Lru[str, tuple[_Sentence, ...]] = Lru(chunks_kept)
        self._data_format: str | None = None

    @property
    def data_format(self) -> str:
        """The format of the sentence data this selector writes and reads (`SentenceStore`)."""
        if self._data_format is None:
            probe = _probe_chunk()
            digest = hashlib.blake2b(
                encode_sentences(probe, self._compute(probe)).encode("utf-8"), digest_size=6
            ).hexdigest()
            self._data_format = f"{SENTENCE_DATA_LAYOUT}-{digest}"
        return self._data_format

    def query_terms(self, question: str) -> list[str]:
        """The question's distinct stemmed terms."""
        return list(dict.fromkeys(self._tokenizer.tokenize(question)))

    def select(
        self,
        question: str,
        query_vector: np.ndarray,
        hits: list[ScoredChunk],
        profile: QuestionProfile | None = None,
        language: str | None = None,
    ) -> list[Evidence]:
        """Every candidate sentence of the top chunks, best first (duplicates merged);
        `language` is the question's when the caller knows it (else it is detected)."""
        profile = profile or analyse(question)
        found = self._candidates(hits)
        if not found:
            return []
        candidates = [candidate for candidate, _ in found]
        texts = [c.text for c in candidates]
        keys = [sentence.key for _, sentence in found]
        doc_ids = [c.chunk.doc_id for c in candidates]
        question_language = language or detect_language(question)
        similarities = self._similarities(
            self._cache.vectors(self._embedder, keys, texts, doc_ids), query_vector,
            question_language, [c.chunk.language for c in candidates],
        )  # fmt: skip
        token_sets = [sentence.tokens for _, sentence in found]
        weights = self._term_weights(self.query_terms(question), token_sets)
        total_weight = sum(weights.values())
        overlaps = [
            sum(w for term, w in weights.items() if term in tokens) / total_weight
            if total_weight
            else 0.0
            for tokens in token_sets
        ]
        # Across languages words cannot match, so meaning alone decides.
        topical = [
            float(similarity)
            if candidate.chunk.language != question_language
            else self._meaning_weight * float(similarity) + (1 - self._meaning_weight) * overlap
            for candidate, similarity, overlap in zip(
                candidates, similarities, overlaps, strict=True
            )
        ]
        words = [sentence.words for _, sentence in found]
        # Which focus terms each sentence holds, as bits (one per term, computed once per term
        # and sentence): a sentence's window (its neighbours and its paragraph) holds a term
        # when one of the window's sentences does.
        present = terms_present(dict.fromkeys((*profile.focus, *profile.full_names)), words)
        bit = {term: 1 << number for number, term in enumerate(present)}
        held = [0] * len(candidates)
        for term, found_in in present.items():
            for index, there in enumerate(found_in):
                if there:
                    held[index] |= bit[term]
        # Per kind of chunk (its language, and whether it writes names in Latin letters: a
        # Russian registry of foreign partners does): the focus terms that can be looked for
        # word for word (and how many), and every term that must be there for the sentence to
        # be about what the question names in full. Only a Russian chunk asked for a Latin
        # term needs looking at for names in Latin letters.
        named_in_latin = dict.fromkeys((c.chunk.chunk_id for c in candidates), False)
        if any(has_latin(term) for term in profile.focus):
            for candidate, sentence in found:
                chunk_id = candidate.chunk.chunk_id
                if candidate.chunk.language == "ru" and not named_in_latin[chunk_id]:
                    named_in_latin[chunk_id] = has_latin(" ".join(sentence.capitalised))
        checkable_in: dict[tuple[str, bool], tuple[int, int, int]] = {}
        for kind in {
            (candidate.chunk.language, named_in_latin[candidate.chunk.chunk_id])
            for candidate in candidates
        }:
            lookable = [t for t in profile.focus if _same_script(t, *kind)]
            checkable_in[kind] = (
                sum(bit[t] for t in lookable),
                len(lookable),
                sum(bit[t] for t in present if _same_script(t, *kind)),
            )
        paragraphs: dict[tuple[str, int], int] = {}
        for index, candidate in enumerate(candidates):
            paragraphs[candidate.paragraph] = paragraphs.get(candidate.paragraph, 0) | held[index]
        evidence: list[Evidence] = []
        for index, candidate in enumerate(candidates):
            neighbours = [
                other
                for other in (index - 1, index + 1)
                if 0 <= other < len(candidates) and _adjacent(candidate, candidates[other])
            ]
            context = max([topical[index]] + [NEIGHBOUR_WEIGHT * topical[o] for o in neighbours])
            window = paragraphs[candidate.paragraph] | held[index]
            for other in neighbours:
                window |= held[other]
            checkable, count, named = checkable_in[
                candidate.chunk.language, named_in_latin[candidate.chunk.chunk_id]
            ]
            focus_share = (held[index] & checkable).bit_count() / count if count else 0.0
            focus_ok = not count or bool(window & checkable)
            focus_full = window & named == named
            types = found[index][1].types
            typed = profile.answer_type is not None and (
                has_answer_type(candidate.text, profile.answer_type)
                if types is None
                else has_type_bit(types, profile.answer_type)
            )
            score = (
                context
                + FOCUS_BONUS * focus_share
                + (TYPE_BONUS if typed else 0.0)
                - 0.01 * candidate.rank
            )
            evidence.append(
                Evidence(
                    candidate.chunk, candidate.start, candidate.end, candidate.text,
                    float(similarities[index]), overlaps[index], topical[index], context,
                    typed, score, candidate.rank, focus_ok, focus_full, words[index],
                    found[index][1].capitalised,
                )
            )  # fmt: skip
        evidence.sort(key=lambda item: -item.score)
        return evidence

    def _candidates(self, hits: list[ScoredChunk]) -> list[tuple[_Candidate, _Sentence]]:
        """Sentences of the top chunks in document order, without duplicates (a sentence of
        two overlapping chunks is the better-ranked one's)."""
        top = [hit.chunk for hit in hits[: self._chunks_considered]]
        sentences = self._sentences_for(top)
        found: dict[tuple[str, int, int], tuple[_Candidate, _Sentence]] = {}
        for rank, chunk in enumerate(top):
            for sentence in sentences[chunk.chunk_id]:
                key = (chunk.doc_id, sentence.start, sentence.end)
                if key not in found:
                    candidate = _Candidate(
                        chunk, sentence.start, sentence.end, rank, sentence.text,
                        sentence.heading, sentence.paragraph,
                    )  # fmt: skip
                    found[key] = (candidate, sentence)
        return [found[key] for key in sorted(found)]

    def _sentences_for(
        self, chunks: list[ChunkRecord], stop: Callable[[], bool] = lambda: False
    ) -> dict[str, tuple[_Sentence, ...]]:
        """The chunks' candidate sentences with their key, stemmed terms and words: the same
        for every question, so kept for the last `chunks_kept` chunks (a chunk id names its
        document, offsets, text, title and section), read from the store when the sentence
        stage kept them, else worked out (chunk by chunk until `stop()`)."""
        found: dict[str, tuple[_Sentence, ...]] = {}
        missing: list[ChunkRecord] = []
        for chunk in chunks:
            kept = self._sentences.get(chunk.chunk_id)
            if kept is None:
                missing.append(chunk)
            else:
                found[chunk.chunk_id] = kept
        store = self._cache.store
        if missing and store is not None:
            data = store.chunk_data([chunk.chunk_id for chunk in missing], self.data_format)
            for chunk in missing:
                if chunk.chunk_id in data:
                    found[chunk.chunk_id] = decode_sentences(chunk, data[chunk.chunk_id])
                    self._sentences.put(chunk.chunk_id, found[chunk.chunk_id])
        for chunk in missing:
            if chunk.chunk_id not in found:
                if stop():
                    break
                found[chunk.chunk_id] = self._compute(chunk, typed=False)
                self._sentences.put(chunk.chunk_id, found[chunk.chunk_id])
        return found

    def _compute(self, chunk: ChunkRecord, *, typed: bool = True) -> tuple[_Sentence, ...]:
        """Work out a chunk's sentences; with `typed`, also the kinds of answer each holds
        (kept with them; a question otherwise checks only the kind it asks for)."""
        return tuple(
            _Sentence(
                c.start,
                c.end,
                c.text,
                c.heading,
                c.paragraph,
                sentence_key(chunk.doc_id, c.start, c.end, c.text),
                frozenset(self._tokenizer.tokenize(f"{c.text} {c.heading}")),
                *text_words(f"{c.text} {c.heading}"),
                answer_types_in(c.text) if typed else None,
            )
            for c in chunk_candidates(chunk, 0)
        )

    def prepare(self, chunks: list[ChunkRecord], stop: Callable[[], bool]) -> None:
        """Work out ahead what `select` will read of the first `chunks_considered` of `chunks`
        (their sentences, and their kept vectors from disk), chunk by chunk until `stop()`:
        done while a search waits for its vector query."""
        if stop():
            return
        sentences = self._sentences_for(chunks[: self._chunks_considered], stop)
        keys = [sentence.key for found in sentences.values() for sentence in found]
        if keys and not stop():
            self._cache.preload(keys)

    def precompute(self, chunks: list[ChunkRecord]) -> int:
        """Embed and keep the vectors of every candidate sentence of `chunks`, and each
        chunk's sentence data (after an ingest); return how many sentences that was."""
        sentences = {chunk.chunk_id: self._compute(chunk) for chunk in chunks}
        unique: dict[str, tuple[str, str]] = {}  # overlapping chunks share sentences
        for chunk in chunks:
            for sentence in sentences[chunk.chunk_id]:
                unique.setdefault(sentence.key, (sentence.text, chunk.doc_id))
        if unique:
            self._cache.vectors(
                self._embedder,
                list(unique),
                [text for text, _ in unique.values()],
                [doc_id for _, doc_id in unique.values()],
            )
        if self._cache.store is not None:
            data_format = self.data_format
            self._cache.store.put_chunks(
                (chunk.chunk_id, data_format, encode_sentences(chunk, sentences[chunk.chunk_id]))
                for chunk in chunks
            )
        return len(unique)

    def _similarities(
        self, vectors: np.ndarray, query: np.ndarray, language: str, languages: list[str]
    ) -> np.ndarray:
        """Cosines; with fused models, an English pair uses every model and any other pair
        only the multilingual ones."""
        embedder = self._embedder
        if not isinstance(embedder, CompositeEmbedder):
            return np.asarray(vectors @ query)
        parts = embedder.part_cosines(vectors, query)
        multilingual = [p for p, m in zip(parts, embedder.multilingual_parts, strict=True) if m]
        everything = np.mean(np.stack(parts), axis=0)
        across = np.mean(np.stack(multilingual), axis=0) if multilingual else everything
        same_english = np.array([language == "en" and lang == "en" for lang in languages])
        return np.asarray(np.where(same_english, everything, across), dtype=np.float64)

    def _term_weights(self, terms: list[str], token_sets: Sequence[Set[str]]) -> dict[str, float]:
        """IDF-like weights over the candidate sentences: rare terms count more."""
        total = len(token_sets)
        return {
            term: math.log(1 + total / (1 + sum(term in tokens for tokens in token_sets)))
            for term in terms
        }


@dataclass(frozen=True)
class _Candidate:
    chunk: ChunkRecord
    start: int
    end: int
    rank: int
    text: str
    heading: str
    paragraph: tuple[str, int]


@dataclass(frozen=True)
class _Sentence:
    """A chunk's candidate sentence, with what scoring reads of it whatever the question."""

    start: int
    end: int
    text: str
    heading: str
    paragraph: tuple[str, int]
    key: str
    tokens: frozenset[str]
    words: frozenset[str]
    capitalised: frozenset[str]
    types: int | None  # `answer_types_in` of its text (None: not worked out)


def encode_sentences(chunk: ChunkRecord, sentences: Sequence[_Sentence]) -> str:
    """A chunk's sentences as text for the store: a line per sentence, tab-separated offsets
    (in the chunk), paragraph, key digest, kinds of answer, then its terms, words and
    capitalised words, space-separated (sorted: the same sentences give the same text)."""
    return "\n".join(
        "\t".join(
            (
                str(s.start - chunk.start),
                str(s.end - chunk.start),
                str(s.paragraph[1]),
                s.key.rsplit(":", 1)[1],
                str(s.types if s.types is not None else answer_types_in(s.text)),
                " ".join(sorted(s.tokens)),
                " ".join(sorted(s.words)),
                " ".join(sorted(s.capitalised)),
            )
        )
        for s in sentences
    )


def decode_sentences(chunk: ChunkRecord, data: str) -> tuple[_Sentence, ...]:
    """`encode_sentences`, read back for the same chunk."""
    if not data:
        return ()
    heading = _heading(chunk)
    found: list[_Sentence] = []
    for line in data.split("\n"):
        start, end, paragraph, digest, types, tokens, words, capitalised = line.split("\t")
        begin, stop = int(start), int(end)
        first, last = chunk.start + begin, chunk.start + stop
        found.append(
            _Sentence(
                first, last, chunk.text[begin:stop], heading, (chunk.doc_id, int(paragraph)),
                f"{chunk.doc_id}:{first}:{last}:{digest}", frozenset(tokens.split()),
                frozenset(words.split()), frozenset(capitalised.split()), int(types),
            )
        )  # fmt: skip
    return tuple(found)


def _heading(chunk: ChunkRecord) -> str:
    return chunk.section.split(" > ")[-1] if chunk.section else ""


def _probe_chunk() -> ChunkRecord:
    """A chunk of both languages, a list, names, dates and amounts: its encoding stands for
    the rules that split, stem and type sentences (`EvidenceSelector.data_format`)."""
    text = (
        "Partners > Contacts\n\nThe agreement with the Northern Institute of Geosciences "
        "(Padua) runs until 18 November 2026. Contact: Dr. N. Rubtsova, +7 495 123-45-67, "
        "office@example.org.\n\nThe budget is EUR 12,000; three visits were held:\n"
        "- 1. Exchange of students.\n- 2. Joint seminars.\n\nСоглашение с Центральным "
        "институтом действует до 16.10.2029 г. Ответственный — Иван Петров, тел. 8 800 "
        "555-35-35. Выделено 2 млн рублей."
    )
    return ChunkRecord(
        chunk_id="probe", doc_id="probe", ord=0, start=7, end=7 + len(text), text=text,
        section="Cooperation > Agreements", title="Probe", source="probe.md", language="en",
        visibility="public", content_hash="",
    )  # fmt: skip


def chunk_candidates(chunk: ChunkRecord, rank: int) -> list[_Candidate]:
    """A chunk's candidate sentences, with offsets into the document; a line that ends with a
    colon takes the list items that follow it."""
    heading = _heading(chunk)
    spans = _merge_lists(
        chunk.text, sentence_spans(chunk.text, 0, len(chunk.text), max_chars=MAX_SENTENCE_CHARS)
    )
    found: list[_Candidate] = []
    for start, end in spans:
        if end - start < MIN_SENTENCE_CHARS:
            continue
        blank = chunk.text.rfind("\n\n", 0, start)
        paragraph = (chunk.doc_id, chunk.start + blank if blank >= 0 else -1 - chunk.start)
        found.append(
            _Candidate(
                chunk, chunk.start + start, chunk.start + end, rank, chunk.text[start:end],
                heading, paragraph,
            )
        )  # fmt: skip
    return found


_WORD = re.compile(r"[\w-]+", re.UNICODE)
_LIST_ITEM = re.compile(r"^\s*(?:[—–\-•*·]|\d{1,2}[.)])\s")


def text_words(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The lower-cased words of `text`, and those of them written with a capital."""
    found = _WORD.findall(text)
    return (
        frozenset(word.lower() for word in found),
        frozenset(word.lower() for word in found if word[:1].isupper()),
    )


def _same_script(term: str, language: str, latin_names: bool = False) -> bool:
    """Whether a focus term can be looked for word for word in a text of `language` (a Latin
    term also in Russian text that writes names in Latin letters)."""
    if term.isdigit():
        return True
    if has_cyrillic(term):
        return language == "ru"
    return language != "ru" or latin_names


def _merge_lists(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join "...were discussed:" with the list items right after it (up to the sentence cap)."""
    merged: list[tuple[int, int]] = []
    index = 0
    while index < len(spans):
        start, end = spans[index]
        index += 1
        if text[start:end].rstrip().endswith(":"):
            while index < len(spans) and _LIST_ITEM.match(text[spans[index][0] : spans[index][1]]):
                if spans[index][1] - start > MAX_SENTENCE_CHARS + 200:
                    break
                end = spans[index][1]
                index += 1
        merged.append((start, end))
    return merged


def _adjacent(one: _Candidate, other: _Candidate) -> bool:
    """Neighbouring sentences of the same document (only whitespace between them)."""
    if one.chunk.doc_id != other.chunk.doc_id:
        return False
    first, second = (one, other) if one.start < other.start else (other, one)
    return 0 <= second.start - first.end <= 3
