"""`python -m bench --profile` on a small built size: the profiles name our own code, and a
size that is not built is skipped with a note rather than failing."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import EmbeddingsSettings
from bench.profile_bench import profile_size, run_profile
from bench.scale_bench import build_size
from vectorstore.embedder_factory import build_embedder


@pytest.mark.timeout(600)
def test_profiles_of_a_built_size_show_where_our_part_of_a_question_goes(tmp_path: Path) -> None:
    embedder = build_embedder(EmbeddingsSettings(model="bundled"))
    record = build_size(tmp_path / "work", 120, embedder, "bundled", 0)
    summary = profile_size(tmp_path / "work" / "120", results=tmp_path / "results")
    assert summary["questions"] > 0 and summary["structured_questions"] > 0
    # Both are measured (no comparison: timings on a busy machine are noise).
    assert summary["question_embedding_p50_ms"] > 0 and summary["ask_p50_ms"] > 0
    text = (tmp_path / "results" / f"profile-{record['target_chunks']}.txt").read_text()
    assert "questions (visitor, new)" in text and "structured" in text
    structured = text[text.index("chunks: structured") : text.index("chunks: ours")]
    assert "KnowledgeAnswerer" in structured
    ours = text[text.index("chunks: ours") :]
    for frame in ("HybridSearcher.search", "EvidenceSelector.select", "DeclinePolicy.answers"):
        assert frame in ours
    assert "encode_query" not in ours  # the vectors were given: the model is not in it
    assert (tmp_path / "work" / "120" / "profile-questions.html").stat().st_size > 1000


def test_a_size_not_built_is_skipped_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_profile([5000], workdir=tmp_path) == []
    assert "not built" in capsys.readouterr().out
