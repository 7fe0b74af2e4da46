"""The lexical index: BM25 per visibility, with Russian and English stemming.

An index is immutable and lives in a generation folder (`lexical/<visibility>/<generation>/`);
ingest writes a new generation and the facts database records which one is served, in the same
transaction as the chunks, so a crash never serves a half-written index.

A generation keeps how often each term occurs in each chunk (`TermCounts`), not only the BM25
scores: an ingest that changes a few files derives the next generation from the served one,
tokenizing only the chunks that are new, and the scores (which depend on every chunk's length
and every term's document frequency) are computed again from the counts, in numpy, when an
index is made. Scoring is Lucene's BM25 (k1 1.5, b 0.75), as bm25s computed it before.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import Stemmer

from vectorstore.records import Visibility

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яё]")
_IDS_FILE = "ids.json"
_COUNTS_FILE = "counts.npz"
_VOCAB_FILE = "vocab.json"
_META_FILE = "lexical.json"
FORMAT = 2  # a generation's layout: term counts per chunk (1: bm25s's files, no counts)
TOKENIZER_VERSION = 1  # bump when `BilingualTokenizer` splits or stems differently
K1 = 1.5
B = 0.75

_STOPWORD_LINES = (
    "a an and are as at be by for from has have in is it its of on or that the this to was",
    "were will with which who what when where how do does did we our you your they their i и",
    "в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее",
    "мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть",
    "был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть",
    "надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда",
    "кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее были",
    "куда зачем всех можно при об другой хоть после над больше тот через эти нас про всего",
    "них какая много разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том",
    "нельзя такой им более всегда конечно всю между",
)
_STOPWORDS = frozenset(word for line in _STOPWORD_LINES for word in line.split())
_QUESTION_CHARS = 300  # texts up to this long are kept tokenized (questions)...
_QUESTIONS_KEPT = 64  # ... the last this many


class BilingualTokenizer:
    """Lower-cases, drops stop words and stems each word as Russian or English by its script."""

    def __init__(self) -> None:
        self._russian = Stemmer.Stemmer("russian")
        self._english = Stemmer.Stemmer("english")
        self._cache: dict[str, str] = {}
        # The last questions' tokens: a question is tokenized by the lexical search and again
        # by the evidence step (chunk texts, longer, are not kept).
        self._questions: dict[str, tuple[str, ...]] = {}

    def tokenize(self, text: str) -> list[str]:
        """Stemmed tokens of `text` (numbers kept as they are)."""
        if len(text) > _QUESTION_CHARS:
            return self._tokenize(text)
        kept = self._questions.get(text)
        if kept is None:
            if len(self._questions) >= _QUESTIONS_KEPT:
                self._questions.clear()
            kept = self._questions[text] = tuple(self._tokenize(text))
        return list(kept)

    def _tokenize(self, text: str) -> list[str]:
        tokens: list[str] = []
        cache = self._cache
        for match in _WORD.finditer(text.lower().replace("ё", "е")):
            word = match.group()
            if word in _STOPWORDS or (len(word) == 1 and not word.isdigit()):
                continue
            stem = cache.get(word)
            if stem is None:
                if word.isdigit():
                    stem = word
                elif _CYRILLIC.search(word):
                    stem = self._russian.stemWord(word)
                else:
                    stem = self._english.stemWord(word)
                if len(cache) < 500_000:
                    cache[word] = stem
            tokens.append(stem)
        return tokens


class LexicalFormatError(Exception):
    """A generation written in an older layout (bm25s's, without term counts)."""


@dataclass(frozen=True)
class TermCounts:
    """How often each term occurs in each chunk, chunk by chunk (compressed sparse rows):
    chunk i holds the terms `vocab[terms[j]]`, `counts[j]` times, for j in
    `indptr[i]:indptr[i + 1]` (each term once per chunk, in ascending id)."""

    vocab: list[str]
    indptr: np.ndarray  # int64, one more than there are chunks
    terms: np.ndarray  # int32
    counts: np.ndarray  # int32

    @classmethod
    def of(cls, tokenized: Sequence[Sequence[str]]) -> TermCounts:
        """The counts of tokenized chunks."""
        vocab: dict[str, int] = {}
        flat = [vocab.setdefault(token, len(vocab)) for tokens in tokenized for token in tokens]
        rows = len(tokenized)
        indptr = np.zeros(rows + 1, dtype=np.int64)
        if not flat:
            return cls([], indptr, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32))
        lengths = np.fromiter((len(tokens) for tokens in tokenized), dtype=np.int64, count=rows)
        size = len(vocab)
        keys = np.repeat(np.arange(rows, dtype=np.int64), lengths) * size + np.asarray(
            flat, dtype=np.int64
        )
        unique, counts = np.unique(keys, return_counts=True)  # by chunk, then term
        np.cumsum(np.bincount(unique // size, minlength=rows), out=indptr[1:])
        return cls(list(vocab), indptr, (unique % size).astype(np.int32), counts.astype(np.int32))

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def row_of_each(self) -> np.ndarray:
        """The chunk (row) of each entry."""
        return np.repeat(np.arange(len(self), dtype=np.int32), np.diff(self.indptr))

    def rows(self, order: np.ndarray) -> TermCounts:
        """These chunks' rows, in `order` (row numbers of this one)."""
        order = np.asarray(order, dtype=np.int64)
        starts = self.indptr[order]
        lengths = self.indptr[order + 1] - starts
        indptr = np.zeros(len(order) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        taken = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1], dtype=np.int64)
        return TermCounts(self.vocab, indptr, self.terms[taken], self.counts[taken])

    def stacked(self, other: TermCounts) -> TermCounts:
        """This one's rows, then `other`'s (its terms renumbered into an extended vocabulary)."""
        vocab = {term: index for index, term in enumerate(self.vocab)}
        mapping = np.fromiter(
            (vocab.setdefault(term, len(vocab)) for term in other.vocab),
            dtype=np.int32,
            count=len(other.vocab),
        )
        return TermCounts(
            list(vocab),
            np.concatenate([self.indptr, other.indptr[1:] + self.indptr[-1]]),
            np.concatenate([self.terms, mapping[other.terms]]),
            np.concatenate([self.counts, other.counts]),
        )

    def compacted(self) -> TermCounts:
        """Without the terms no chunk holds any more."""
        used = np.bincount(self.terms, minlength=len(self.vocab)) > 0
        if used.all():
            return self
        renumbered = (np.cumsum(used) - 1).astype(np.int32)
        vocab = [term for term, kept in zip(self.vocab, used.tolist(), strict=True) if kept]
        return TermCounts(vocab, self.indptr, renumbered[self.terms], self.counts)


class LexicalIndex:
    """A BM25 index over chunk texts, searchable by question."""

    def __init__(self, ids: list[str], counts: TermCounts, tokenizer: BilingualTokenizer) -> None:
        if len(ids) != len(counts):
            raise ValueError("ids and term counts differ in length")
        self._ids = ids
        self._counts = counts
        self._tokenizer = tokenizer
        self._vocab = {term: index for index, term in enumerate(counts.vocab)}
        self._scoring: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._held: frozenset[str] | None = None
        self._scoring_lock = threading.Lock()

    def holds(self, chunk_id: str) -> bool:
        """Whether the index holds this chunk: a generation holds exactly the chunks its
        visibility served when it was recorded (they are switched together)."""
        held = self._held
        if held is None:
            with self._scoring_lock:
                if self._held is None:
                    self._held = frozenset(self._ids)
                held = self._held
        return chunk_id in held

    def _scores(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """BM25 of every (term, chunk), term by term (where each term's entries start, their
        chunks, their scores): a question sums its terms' entries. Computed at the first
        search, so that an ingest deriving the next generation never computes them."""
        if self._scoring is not None:  # made once; read without the lock after that
            return self._scoring
        with self._scoring_lock:
            if self._scoring is None:
                counts, chunks = self._counts, len(self._ids)
                rows = counts.row_of_each()
                lengths = np.bincount(rows, weights=counts.counts, minlength=chunks)
                average = float(lengths.mean()) if chunks else 0.0
                frequencies = np.bincount(counts.terms, minlength=len(counts.vocab))
                idf = np.log(1.0 + (chunks - frequencies + 0.5) / (frequencies + 0.5))
                tf = counts.counts.astype(np.float64)
                norm = K1 * (1.0 - B + B * lengths[rows] / average) if average else 1.0
                scores = idf[counts.terms] * tf / (tf + norm)
                by_term = np.argsort(counts.terms, kind="stable")
                starts = np.zeros(len(counts.vocab) + 1, dtype=np.int64)
                np.cumsum(frequencies, out=starts[1:])
                self._scoring = (starts, rows[by_term], scores[by_term].astype(np.float32))
            return self._scoring

    @classmethod
    def build(
        cls, ids: Sequence[str], texts: Sequence[str], tokenizer: BilingualTokenizer
    ) -> LexicalIndex:
        """Index `texts` (parallel to `ids`)."""
        if len(ids) != len(texts):
            raise ValueError("ids and texts differ in length")
        return cls(list(ids), TermCounts.of([tokenizer.tokenize(t) for t in texts]), tokenizer)

    @classmethod
    def from_rows(
        cls, rows: Sequence[tuple[str, str]], tokenizer: BilingualTokenizer
    ) -> LexicalIndex:
        """Index (chunk id, text) rows."""
        return cls.build([row[0] for row in rows], [row[1] for row in rows], tokenizer)

    def missing(self, ids: Sequence[str]) -> list[str]:
        """Those of `ids` this index does not hold (what `updated` needs the texts of)."""
        return [chunk_id for chunk_id in ids if not self.holds(chunk_id)]

    def updated(self, ids: Sequence[str], texts: Mapping[str, str]) -> LexicalIndex:
        """The index of `ids`, in this order: the counts of chunks this index holds are reused
        (a chunk id names its text), the others' are made from `texts`. Equal to `build` over
        the same chunks."""
        position = {chunk_id: row for row, chunk_id in enumerate(self._ids)}
        new = [chunk_id for chunk_id in ids if chunk_id not in position]
        added = TermCounts.of([self._tokenizer.tokenize(texts[chunk_id]) for chunk_id in new])
        position.update({chunk_id: len(self._ids) + row for row, chunk_id in enumerate(new)})
        order = np.fromiter((position[c] for c in ids), dtype=np.int64, count=len(ids))
        counts = self._counts.stacked(added).rows(order).compacted()
        return LexicalIndex(list(ids), counts, self._tokenizer)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> list[str]:
        """The chunk ids, in index order."""
        return list(self._ids)

    def save(self, folder: Path) -> None:
        """Write the index into `folder` (created; must not exist yet)."""
        folder.mkdir(parents=True)
        (folder / _IDS_FILE).write_text(json.dumps(self._ids), encoding="utf-8")
        (folder / _VOCAB_FILE).write_text(
            json.dumps(self._counts.vocab, ensure_ascii=False), encoding="utf-8"
        )
        counts = self._counts
        with (folder / _COUNTS_FILE).open("wb") as out:
            np.savez(out, indptr=counts.indptr, terms=counts.terms, counts=counts.counts)
        (folder / _META_FILE).write_text(
            json.dumps({"format": FORMAT, "tokenizer": TOKENIZER_VERSION}), encoding="utf-8"
        )

    @staticmethod
    def layout(folder: Path) -> tuple[int, int | None]:
        """(format, tokenizer version) of a saved index (format 1: bm25s's, no version)."""
        try:
            meta = json.loads((folder / _META_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 1, None
        return int(meta["format"]), meta.get("tokenizer")

    @classmethod
    def load(cls, folder: Path, tokenizer: BilingualTokenizer) -> LexicalIndex:
        """Read an index written by `save`; `LexicalFormatError` for an older layout."""
        layout, _ = cls.layout(folder)
        if layout != FORMAT:
            raise LexicalFormatError(f"{folder} is a lexical index of format {layout}")
        ids = json.loads((folder / _IDS_FILE).read_text(encoding="utf-8"))
        vocab = json.loads((folder / _VOCAB_FILE).read_text(encoding="utf-8"))
        with np.load(folder / _COUNTS_FILE) as arrays:
            counts = TermCounts(vocab, arrays["indptr"], arrays["terms"], arrays["counts"])
        return cls(ids, counts, tokenizer)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Up to k chunk ids with a positive BM25 score, best first."""
        if k <= 0:
            return []
        terms = [self._vocab[t] for t in self._tokenizer.tokenize(query) if t in self._vocab]
        if not terms:
            return []
        starts, rows, values = self._scores()
        scores = np.zeros(len(self._ids), dtype=np.float32)
        for term in terms:  # a word asked twice counts twice
            begin, end = starts[term], starts[term + 1]
            # Each chunk once per term: the same sums as `scores[rows] += values`, in one
            # pass instead of a gather, an add and a scatter (half the time at 100k chunks).
            np.add.at(scores, rows[begin:end], values[begin:end])
        # Only chunks holding a question word can score: the top k are taken among those
        # (a partition of every chunk's score, mostly zeros, is slow: numpy's argpartition
        # degrades on such arrays).
        matching = np.flatnonzero(scores > 0)
        if len(matching) > k:
            values = scores[matching]
            kth = -np.partition(-values, k - 1)[k - 1]  # the k-th best score
            above = matching[values > kth]
            tied = matching[values == kth][: k - len(above)]  # ties: the earlier chunks
            matching = np.concatenate([above, tied])
        best = sorted(matching.tolist(), key=lambda index: (-scores[index], index))
        return [(self._ids[index], float(scores[index])) for index in best]


class LexicalStore:
    """Generations of lexical indexes on disk, one folder per visibility."""

    def __init__(self, root: Path, tokenizer: BilingualTokenizer | None = None) -> None:
        self._root = root
        self.tokenizer = tokenizer or BilingualTokenizer()

    def write(self, visibility: Visibility, index: LexicalIndex) -> str:
        """Save `index` as a new generation and return its name (not served until recorded)."""
        generation = uuid.uuid4().hex
        target = self._root / visibility / generation
        staging = self._root / visibility / f".tmp-{generation}"
        index.save(staging)
        staging.rename(target)
        return generation

    def load(self, visibility: Visibility, generation: str | None) -> LexicalIndex:
        """The index of a recorded generation; an empty index when there is none yet.
        `LexicalFormatError` when the generation has an older layout."""
        if generation is None:
            return LexicalIndex.build([], [], self.tokenizer)
        return LexicalIndex.load(self._root / visibility / generation, self.tokenizer)

    def current(self, visibility: Visibility, generation: str | None) -> bool:
        """Whether a recorded generation (None: none yet) has today's layout and tokenizer."""
        if generation is None:
            return True
        folder = self._root / visibility / generation
        return LexicalIndex.layout(folder) == (FORMAT, TOKENIZER_VERSION)

    def load_for_update(
        self, visibility: Visibility, generation: str | None
    ) -> LexicalIndex | None:
        """The served index to derive the next generation from; None when there is none, or
        it has an older layout or tokenizer (the next generation is then built whole)."""
        if generation is None or not self.current(visibility, generation):
            return None
        try:
            return self.load(visibility, generation)
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("lexical generation %s unreadable (%s): building anew", generation, exc)
            return None

    def prune(self, visibility: Visibility, keep: set[str]) -> int:
        """Delete generations (and crash leftovers) not in `keep`; return how many."""
        folder = self._root / visibility
        if not folder.is_dir():
            return 0
        removed = 0
        for child in folder.iterdir():
            if child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)
                removed += 1
        return removed
