"""BM25 with Russian and English stemming."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vectorstore.lexical import BilingualTokenizer, LexicalFormatError, LexicalIndex, LexicalStore

DOCS = {
    "ru-1": "Соглашение о сотрудничестве с университетом Минска подписано в 2019 году.",
    "ru-2": "Ежегодная конференция по медицине труда прошла в Москве.",
    "en-1": "The institute signed agreements with partners in Vietnam and Cuba.",
    "en-2": "Internship applications are handled by the international department.",
}


def build() -> LexicalIndex:
    return LexicalIndex.build(list(DOCS), list(DOCS.values()), BilingualTokenizer())


def top(index: LexicalIndex, query: str) -> str | None:
    hits = index.search(query, 3)
    return hits[0][0] if hits else None


def test_russian_word_forms_match_each_other():
    index = build()
    assert top(index, "соглашения с университетами") == "ru-1"
    assert top(index, "конференции") == "ru-2"


def test_english_word_forms_match_each_other():
    index = build()
    assert top(index, "agreement signing") == "en-1"
    assert top(index, "internships") == "en-2"


def test_yo_and_ye_are_the_same_letter():
    tokenizer = BilingualTokenizer()
    assert tokenizer.tokenize("партнёры") == tokenizer.tokenize("партнеры")


def test_stop_words_and_unknown_words_find_nothing():
    index = build()
    assert index.search("the and of", 3) == []
    assert index.search("zzzqqq", 3) == []


def test_scores_are_positive_and_ordered():
    hits = build().search("agreements partners Vietnam Cuba internship", 4)
    assert hits[0][0] == "en-1"
    scores = [score for _, score in hits]
    assert all(score > 0 for score in scores) and scores == sorted(scores, reverse=True)


def test_generations_round_trip_and_prune(tmp_path: Path):
    store = LexicalStore(tmp_path)
    first = store.write("public", build())
    second = store.write("public", LexicalIndex.build(["x"], ["Cuba"], store.tokenizer))
    assert top(store.load("public", first), "Vietnam") == "en-1"
    assert store.load("public", second).search("Vietnam", 3) == []
    assert store.prune("public", {second}) == 1
    assert not (tmp_path / "public" / first).exists()
    assert top(store.load("public", second), "Cuba") == "x"


def test_an_empty_index_saves_loads_and_finds_nothing(tmp_path: Path):
    store = LexicalStore(tmp_path)
    generation = store.write("internal", LexicalIndex.build([], [], store.tokenizer))
    assert store.load("internal", generation).search("anything", 5) == []
    assert store.load("internal", None).search("anything", 5) == []


WORDS = ["agreement", "partner", "university", "health", "expires", "Minsk", "Cuba", "2027",
         "соглашение", "университет", "истекает", "the", "of"]  # fmt: skip


def _bm25(tokenized: list[list[str]], query: list[str]) -> list[float]:
    """Lucene's BM25 (k1 1.5, b 0.75), written out plainly as a reference."""
    count = len(tokenized)
    average = sum(map(len, tokenized)) / count
    scores = []
    for tokens in tokenized:
        score = 0.0
        for term in query:
            frequency = sum(term in other for other in tokenized)
            idf = math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))
            tf = tokens.count(term)
            score += idf * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * len(tokens) / average))
        scores.append(score)
    return scores


TEXTS = st.lists(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join),
    min_size=1,
    max_size=60,
)
QUERY = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)


@settings(max_examples=120, deadline=None)
@given(texts=TEXTS, query=QUERY, k=st.integers(min_value=1, max_value=70))
def test_the_top_k_are_every_matching_chunk_ranked_by_score(texts, query, k):
    """Whatever the corpus (many equal scores, fewer matches than k or more), the hits are the
    k best-scoring chunks that hold a question word, best first, ties in index order, with
    their BM25 scores."""
    tokenizer = BilingualTokenizer()
    ids = [f"c{i}" for i in range(len(texts))]
    index = LexicalIndex.build(ids, texts, tokenizer)
    hits = index.search(query, k)
    tokenized = [tokenizer.tokenize(text) for text in texts]
    vocabulary = {token for tokens in tokenized for token in tokens}
    terms = [t for t in tokenizer.tokenize(query) if t in vocabulary]
    expected = _bm25(tokenized, terms) if terms else [0.0] * len(ids)
    found = dict(hits)
    lowest = min(found.values(), default=0.0)
    for chunk_id, score in zip(ids, expected, strict=True):
        if chunk_id in found:
            assert found[chunk_id] == pytest.approx(score, rel=1e-5, abs=1e-6)
        else:  # left out: no better than the last hit
            assert score <= lowest + 1e-5
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)
    matching = sum(score > 1e-6 for score in expected)
    assert len(hits) == min(k, matching)
    for (first, a), (second, b) in itertools.pairwise(hits):
        assert a > b or ids.index(first) < ids.index(second)  # ties: the earlier chunk first


@settings(max_examples=80, deadline=None)
@given(
    texts=TEXTS,
    data=st.data(),
    queries=st.lists(QUERY, min_size=1, max_size=4),
)
def test_an_index_updated_from_another_equals_one_built_whole(
    texts, data, queries, tmp_path_factory
):
    """Chunks kept, dropped, added and reordered: the derived index (which tokenizes only the
    added chunks) answers exactly as one built from every chunk, and after a round trip."""
    tokenizer = BilingualTokenizer()
    ids = [f"c{i}" for i in range(len(texts))]
    before = LexicalIndex.build(ids, texts, tokenizer)
    kept = data.draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    added = data.draw(
        st.lists(
            st.lists(st.sampled_from(WORDS), min_size=1, max_size=9).map(" ".join), max_size=10
        )
    )
    new_texts = {f"n{i}": text for i, text in enumerate(added)}
    text_of = {**dict(zip(ids, texts, strict=True)), **new_texts}
    order = data.draw(st.permutations(kept + list(new_texts)))
    updated = before.updated(order, {c: new_texts[c] for c in before.missing(order)})
    whole = LexicalIndex.build(order, [text_of[c] for c in order], tokenizer)
    folder = tmp_path_factory.mktemp("g") / "index"
    updated.save(folder)
    loaded = LexicalIndex.load(folder, tokenizer)
    assert updated.ids == whole.ids == loaded.ids == list(order)
    for query in queries:
        assert updated.search(query, 100) == whole.search(query, 100) == loaded.search(query, 100)


def test_only_the_chunks_an_index_lacks_are_tokenized_for_an_update():
    class Counting(BilingualTokenizer):
        def __init__(self) -> None:
            super().__init__()
            self.texts: list[str] = []

        def tokenize(self, text: str) -> list[str]:
            self.texts.append(text)
            return super().tokenize(text)

    tokenizer = Counting()
    index = LexicalIndex.build(list(DOCS), list(DOCS.values()), tokenizer)
    tokenizer.texts.clear()
    order = ["en-2", "new", "ru-1"]
    assert index.missing(order) == ["new"]
    updated = index.updated(order, {"new": "Partners in Cuba renewed the agreement."})
    assert tokenizer.texts == ["Partners in Cuba renewed the agreement."]
    assert top(updated, "Cuba") == "new" and top(updated, "университеты") == "ru-1"
    assert updated.search("Vietnam", 3) == []  # en-1 is gone, and its words with it


def test_a_generation_of_the_older_layout_is_told_apart(tmp_path: Path):
    """bm25s's folders (format 1) hold no term counts: they cannot be loaded or updated, and
    the store says they are not current, so that the next ingest rewrites them."""
    store = LexicalStore(tmp_path)
    old = tmp_path / "public" / "old-generation"
    old.mkdir(parents=True)
    (old / "ids.json").write_text('["a"]', encoding="utf-8")
    (old / "params.index.json").write_text("{}", encoding="utf-8")
    with pytest.raises(LexicalFormatError):
        store.load("public", "old-generation")
    assert not store.current("public", "old-generation")
    assert store.load_for_update("public", "old-generation") is None
    fresh = store.write("public", build())
    assert store.current("public", fresh) and store.current("public", None)
    assert top(store.load_for_update("public", fresh), "Vietnam") == "en-1"  # type: ignore[arg-type]


def test_chunks_of_stop_words_only_index_and_round_trip_finding_nothing(tmp_path: Path):
    """A corpus with no word to index (a page of "the of", a dash) is not an error."""
    index = LexicalIndex.build(["a", "b"], ["The of", "— …"], BilingualTokenizer())
    assert len(index) == 2 and index.search("the", 5) == []
    index.save(tmp_path / "g")
    loaded = LexicalIndex.load(tmp_path / "g", BilingualTokenizer())
    assert len(loaded) == 2 and loaded.search("agreement", 5) == []


def test_a_question_tokenized_again_gives_the_same_tokens_whatever_was_done_with_the_first():
    """Questions are kept tokenized (the lexical search and the evidence step both ask): a
    caller changing its list changes nothing for the next, and kept or not the tokens are
    those of a fresh tokenizer, for questions and for long texts alike."""
    tokenizer = BilingualTokenizer()
    question = "When does the agreement with the Institute of Occupational Health expire?"
    first = tokenizer.tokenize(question)
    first.append("changed")
    assert tokenizer.tokenize(question) == BilingualTokenizer().tokenize(question)
    assert "changed" not in tokenizer.tokenize(question)
    long_text = " ".join([question] * 20)
    assert tokenizer.tokenize(long_text) == BilingualTokenizer().tokenize(long_text)
    for number in range(200):  # many questions: bounded, and still right
        text = f"Agreement {number} with partners in Cuba"
        assert tokenizer.tokenize(text) == ["agreement", str(number), "partner", "cuba"]
    assert len(tokenizer._questions) <= 64
