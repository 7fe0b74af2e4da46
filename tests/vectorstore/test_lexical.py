"""BM25 with Russian and English stemming."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from vectorstore.lexical import BilingualTokenizer, LexicalIndex, LexicalStore

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


@settings(max_examples=120, deadline=None)
@given(
    texts=st.lists(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join),
        min_size=1,
        max_size=60,
    ),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
    k=st.integers(min_value=1, max_value=70),
)
def test_the_top_k_are_every_matching_chunk_ranked_by_score(texts, query, k):
    """Whatever the corpus (many equal scores, fewer matches than k or more), the hits are the
    k best-scoring chunks that hold a question word, best first, ties in index order."""
    ids = [f"c{i}" for i in range(len(texts))]
    index = LexicalIndex.build(ids, texts, BilingualTokenizer())
    tokens = [t for t in BilingualTokenizer().tokenize(query) if t in index._vocab]
    expected: list[tuple[str, float]] = []
    if tokens and index._model is not None:
        scores = index._model.get_scores(tokens)
        ranked = sorted(range(len(ids)), key=lambda i: (-scores[i], i))
        expected = [(ids[i], float(scores[i])) for i in ranked if scores[i] > 0][:k]
    assert index.search(query, k) == expected


def test_chunks_of_stop_words_only_index_and_round_trip_finding_nothing(tmp_path: Path):
    """A corpus with no word to index (a page of "the of", a dash) is not an error."""
    index = LexicalIndex.build(["a", "b"], ["The of", "— …"], BilingualTokenizer())
    assert len(index) == 2 and index.search("the", 5) == []
    index.save(tmp_path / "g")
    loaded = LexicalIndex.load(tmp_path / "g", BilingualTokenizer())
    assert len(loaded) == 2 and loaded.search("agreement", 5) == []
