"""`python -m bench --reingest`: a built size's re-ingests are measured again (after a change
to the ingest) and kept in its build record, the rest of the record untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.settings import EmbeddingsSettings
from bench.scale_bench import build_size, remeasure_reingest, run_reingest
from vectorstore.embedder_factory import build_embedder


@pytest.mark.timeout(600)
def test_remeasured_reingests_replace_the_builds_and_change_one_more_line(tmp_path: Path) -> None:
    embedder = build_embedder(EmbeddingsSettings(model="bundled"))
    record = json.loads(
        json.dumps(build_size(tmp_path / "work", 120, embedder, "bundled", 0), default=str)
    )
    folder = tmp_path / "work" / "120"
    victim = sorted((folder / "corpus" / "public").rglob("*.txt"))[0]
    assert victim.read_text(encoding="utf-8").count("A changed line.") == 1
    measured = remeasure_reingest(folder, embedder)
    assert victim.read_text(encoding="utf-8").count("A changed line.") == 2
    kept = json.loads((folder / "build.json").read_text(encoding="utf-8"))
    for key in ("reingest_unchanged_s", "reingest_s_per_1000_files", "one_changed_file_s"):
        assert kept["ingest"][key] == measured[key] > 0
    assert kept["ingest"]["reingest_measured"] == measured["reingest_measured"]
    untouched = {k: v for k, v in record["ingest"].items() if k not in measured}
    assert {k: kept["ingest"][k] for k in untouched} == untouched
    assert kept["questions"] == record["questions"]


def test_a_size_not_built_is_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_reingest([5000], workdir=tmp_path)
    assert "not built" in capsys.readouterr().out
