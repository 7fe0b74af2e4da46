"""One evaluation run: ingest the corpus into a scratch data dir, ask the gold set, compare."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.answering.factory import build_assistant
from assistant.evaluation.evaluator import (
    ItemResult,
    Metrics,
    evaluate_assistant,
    evaluate_naive,
    summarize,
)
from assistant.evaluation.gold import load_gold
from assistant.evaluation.naive_baseline import NaiveRetriever
from assistant.resources import open_resources
from assistant.settings import Settings
from vectorstore.embeddings import Embedder


@dataclass
class EvaluationReport:
    """Both systems' metrics and per-question results."""

    ours: Metrics
    naive: Metrics
    ours_results: list[ItemResult]
    naive_results: list[ItemResult]


def gold_corpus(corpus: Path, gold_path: Path, target: Path) -> Path:
    """The files the gold set was written from: those listed in `corpus.txt` beside the gold
    file (copied into `target`), or the whole `corpus` folder when there is no such list."""
    listing = gold_path.parent / "corpus.txt"
    if not listing.exists():
        return corpus
    target.mkdir(parents=True)
    for line in listing.read_text(encoding="utf-8").splitlines():
        name = line.strip()
        if name and not name.startswith("#"):
            source = corpus / name
            if not source.is_file():
                raise FileNotFoundError(f"{listing} names {name}, which is not in {corpus}")
            shutil.copy2(source, target / name)
    return target


def run_evaluation(
    settings: Settings, corpus: Path, gold_path: Path, embedder: Embedder | None = None
) -> EvaluationReport:
    """Evaluate on the gold set's documents in `corpus` (ingested fresh, as public documents)
    with the configured model."""
    items = load_gold(gold_path)
    with tempfile.TemporaryDirectory(prefix="coop-eval-") as scratch:
        corpus = gold_corpus(corpus, gold_path, Path(scratch) / corpus.name)
        scratch_settings = settings.model_copy(update={"data_dir": Path(scratch) / "var"})
        resources = open_resources(scratch_settings, embedder=embedder)
        try:
            resources.ingest_service().ingest([corpus], "public")
            assistant = build_assistant(resources)
            ours_results = evaluate_assistant(assistant, resources.facts, items)
            documents = [
                document
                for state in resources.facts.file_states().values()
                if state.doc_id and (document := resources.facts.get_document(state.doc_id))
            ]
            assert resources.embedder is not None  # ingest_service() checked it
            naive = NaiveRetriever(resources.embedder, documents)
            naive_results = evaluate_naive(naive, resources.facts, items)
        finally:
            resources.close()
    return EvaluationReport(
        summarize("ours", ours_results),
        summarize("naive", naive_results),
        ours_results,
        naive_results,
    )
