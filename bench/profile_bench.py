"""`python -m bench --profile`: where a question's time goes, at the sizes already built.

For each size built by the scale benchmark (`--workdir`), a fresh assistant is warmed on other
questions and answers the size's timed questions as a visitor (new to it, as in the scale
benchmark), first unprofiled: the p50 of the whole ask and of the question's embedding alone
(the model's part, which no change of ours makes cheaper) give the share that is ours. Then a
second fresh assistant answers them under pyinstrument, and again the structured agreement
questions; then fresh ones answer them with their vectors already computed, so that the tree
is our part alone (in rounds, each assistant new to the questions, until a second is sampled:
a step of a tenth of a millisecond would otherwise go unseen). pyinstrument hooks every Python
call, which slows the model's many small calls most: its trees show where our part goes, not
the model's share. Each profile is written as text to
`bench/results/profile-<size>.txt` and as HTML beside the size's build.
"""

from __future__ import annotations

import json
import statistics
from datetime import date
from pathlib import Path
from typing import Any

from pyinstrument import Profiler
from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer
from pyinstrument.session import Session

from assistant.answering.factory import build_assistant
from assistant.answering.service import AssistantService
from assistant.resources import open_resources
from bench.ask_bench import RESULTS
from bench.scale_bench import _pass, _questions, _settings, default_workdir
from ingest.language import detect_language
from vectorstore.embedder_factory import build_embedder
from vectorstore.embeddings import configure_offline

INTERVAL_S = 0.0005
# Our part alone is profiled in rounds (each by a fresh assistant) until this much is sampled,
# so that a step of a tenth of a millisecond still shows in the tree.
OURS_SECONDS = 1.0
OURS_ROUNDS_MAX = 20


def _profile(ask: Any, questions: list[str]) -> Session:
    profiler = Profiler(interval=INTERVAL_S)
    profiler.start()
    for question in questions:
        ask(question)
    session = profiler.stop()
    assert session is not None
    return session


def _p50_ms(action: Any, questions: list[str]) -> float:
    return statistics.median(_pass(questions, action)) * 1000


def profile_size(folder: Path, results: Path = RESULTS) -> dict[str, Any]:
    """Profile the questions of one built size; write its text and HTML profiles."""
    record = json.loads((folder / "build.json").read_text(encoding="utf-8"))
    settings = _settings(folder / "var", record["model"], date.fromisoformat(record["today"]))
    embedder = build_embedder(settings.embeddings)
    resources = open_resources(settings, embedder=embedder)
    size = record["target_chunks"]
    try:
        _, asked, warm, structured = _questions(record)

        def fresh() -> AssistantService:
            assistant = build_assistant(resources)
            assistant.warm()
            for question in warm:
                assistant.ask(question, "public")
            return assistant

        assistant = fresh()
        ask_ms = _p50_ms(lambda q: assistant.ask(q, "public"), asked)
        embed_ms = _p50_ms(embedder.encode_query, asked)
        assistant = fresh()
        questions = _profile(lambda q: assistant.ask(q, "public"), asked)
        lists = _profile(lambda q: assistant.ask(q, "public"), structured)
        ours: Session | None = None
        for _ in range(OURS_ROUNDS_MAX):  # our part is a few ms a question: sample it enough
            assistant = fresh()  # each round new to the questions, as the first
            for question in asked:  # their vectors kept: the profile holds our part alone
                assistant.searcher.query_vector(question, detect_language(question))
            taken = _profile(lambda q, a=assistant: a.ask(q, "public"), asked)
            ours = taken if ours is None else Session.combine(ours, taken)
            if ours.duration >= OURS_SECONDS:
                break
        assert ours is not None
    finally:
        resources.close()
    results.mkdir(parents=True, exist_ok=True)
    text = results / f"profile-{size}.txt"
    parts = []
    for title, session in (
        ("questions (visitor, new)", questions),
        ("structured", lists),
        ("ours (the same questions, their vectors given: our part alone)", ours),
    ):
        (folder / f"profile-{title.split()[0]}.html").write_text(
            HTMLRenderer().render(session), encoding="utf-8"
        )
        parts.append(f"# {size} chunks: {title}\n\n" + ConsoleRenderer().render(session))
    text.write_text("\n".join(parts), encoding="utf-8")
    summary = {
        "size": size,
        "questions": len(asked),
        "ask_p50_ms": ask_ms,
        "question_embedding_p50_ms": embed_ms,
        "ours_p50_ms": ask_ms - embed_ms,
        "structured_questions": len(structured),
        "text": str(text),
    }
    print(
        f"{size} chunks: a new question {ask_ms:.1f} ms (p50), of which embedding it "
        f"{embed_ms:.1f} ms; ours {ask_ms - embed_ms:.1f} ms. Profiles in {text}",
        flush=True,
    )
    return summary


def run_profile(sizes: list[int], workdir: Path | None = None) -> list[dict[str, Any]]:
    """Profile every built size among `sizes` (the others are skipped with a note)."""
    configure_offline()
    root = workdir or default_workdir()
    done = []
    for size in sizes:
        folder = root / str(size)
        if not (folder / "build.json").is_file():
            print(f"{size} chunks: not built in {root} (run `python -m bench --only scale "
                  f"--sizes {size} --build-only` first); skipped")  # fmt: skip
            continue
        done.append(profile_size(folder))
    return done
