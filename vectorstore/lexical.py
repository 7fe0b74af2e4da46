"""The lexical index: BM25 (bm25s) per visibility, with Russian and English stemming.

An index is immutable and lives in a generation folder (`lexical/<visibility>/<generation>/`);
ingest writes a new generation and the facts database records which one is served, in the same
transaction as the chunks, so a crash never serves a half-written index.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from vectorstore.records import Visibility

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яё]")
_IDS_FILE = "ids.json"
_MODEL_FILE = "params.index.json"  # written by bm25s when there is a model

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


class BilingualTokenizer:
    """Lower-cases, drops stop words and stems each word as Russian or English by its script."""

    def __init__(self) -> None:
        self._russian = Stemmer.Stemmer("russian")
        self._english = Stemmer.Stemmer("english")
        self._cache: dict[str, str] = {}

    def tokenize(self, text: str) -> list[str]:
        """Stemmed tokens of `text` (numbers kept as they are)."""
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


class LexicalIndex:
    """A BM25 index over chunk texts, searchable by question."""

    def __init__(
        self, ids: list[str], model: bm25s.BM25 | None, tokenizer: BilingualTokenizer
    ) -> None:
        self._ids = ids
        self._model = model
        self._tokenizer = tokenizer
        self._vocab: dict[str, int] = dict(model.vocab_dict) if model is not None else {}

    @classmethod
    def build(
        cls, ids: Sequence[str], texts: Sequence[str], tokenizer: BilingualTokenizer
    ) -> LexicalIndex:
        """Index `texts` (parallel to `ids`)."""
        if len(ids) != len(texts):
            raise ValueError("ids and texts differ in length")
        if not ids:
            return cls([], None, tokenizer)
        tokenized = [tokenizer.tokenize(text) for text in texts]
        if not any(tokenized):  # only stop words and punctuation: nothing to find them by
            return cls(list(ids), None, tokenizer)
        model = bm25s.BM25()
        model.index(tokenized, show_progress=False)
        return cls(list(ids), model, tokenizer)

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
        if self._model is not None:
            self._model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, tokenizer: BilingualTokenizer) -> LexicalIndex:
        """Read an index written by `save`."""
        ids = json.loads((folder / _IDS_FILE).read_text(encoding="utf-8"))
        if not ids or not (folder / _MODEL_FILE).exists():  # empty, or no word to index
            return cls(ids, None, tokenizer)
        model = bm25s.BM25.load(str(folder), mmap=False, show_progress=False)
        return cls(ids, model, tokenizer)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Up to k chunk ids with a positive BM25 score, best first."""
        if self._model is None or k <= 0:
            return []
        tokens = [token for token in self._tokenizer.tokenize(query) if token in self._vocab]
        if not tokens:
            return []
        scores = self._model.get_scores(tokens)
        # Only documents holding a question word can score: the top k are taken among those.
        # (bm25s's own top-k partitions every document's score, mostly zeros, on which
        # numpy's argpartition degrades: 24 ms a search at 80,000 chunks, 0.9 ms this way.)
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
        """The index of a recorded generation; an empty index when there is none yet."""
        if generation is None:
            return LexicalIndex([], None, self.tokenizer)
        return LexicalIndex.load(self._root / visibility / generation, self.tokenizer)

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
