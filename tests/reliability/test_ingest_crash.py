"""`kill -9` at random points of a 2,000-file ingest, again and again, while the corpus keeps
changing (files rewritten, added, deleted), so the kills hit updates and deletions, not only a
first build.

After every kill a fresh process reads what is served: every file whole in one version (its
document, its chunks, their vectors and the lexical index agree), and across the run's folder
either the state before the run or the state after it, never a mix; searches and an answer
only ever show served text. Finally the next runs complete and the data directory equals a
fresh build of the same corpus: no duplicates, no orphans, in any index.

`coop` runs as a real process with the tests' cheap deterministic embedder
(`_crash_coop.py`), so each run takes seconds and the kills are many.
"""

from __future__ import annotations

import random
import re
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reliability._crash_corpus import Corpus
from tests.reliability._crash_harness import (
    Checker,
    consistency_problems,
    coop_command,
    coop_env,
    run_coop,
    served_versions,
    under,
    wait_for_text,
)

pytestmark = pytest.mark.integration

SEED = 20_240_909
ROUNDS = 10
PUBLIC_FILES, INTERNAL_FILES = 1800, 200
INTERNAL_START = 5000  # internal files are numbered apart from the public ones
# Where to aim a kill: after this line of the progress output, a random delay up to the limit.
AIMS = {"reading": ("reading: 0/", 0.8), "embedding": ("embedding: 0/", 0.6), "switch": ("", 0.25)}
LAST_EMBEDDING = re.compile(r"embedding: (\d+)/\1\n")


def _ingest(corpus: Corpus, visibility: str, env: dict[str, str], cwd: Path) -> None:
    done = run_coop(["ingest", corpus.folder.name, "--visibility", visibility], env, cwd)
    assert done.returncode == 0, done.stdout + done.stderr


def _start(corpus: Corpus, visibility: str, env: dict[str, str], cwd: Path, log: Path) -> Any:
    with log.open("wb") as out:
        return subprocess.Popen(
            coop_command("ingest", corpus.folder.name, "--visibility", visibility),
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_for_last_embedding(log: Path, process: Any, timeout: float = 60) -> bool:
    """Until every chunk is embedded (the switch comes next)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if LAST_EMBEDDING.search(log.read_text(encoding="utf-8", errors="replace")):
            return True
        time.sleep(0.01)
    return False


def _stage(log: Path) -> str:
    """Where the run was when it was killed, from its progress output."""
    text = log.read_text(encoding="utf-8", errors="replace")
    if "finished in" in text or "Nothing changed" in text:
        return "exiting"
    if LAST_EMBEDDING.search(text):
        return "switch or clean-up"
    if "embedding:" in text:
        return "embedding"
    return "reading" if "reading:" in text else "starting"


def _queries(before: dict[str, str], after: dict[str, str], rng: random.Random) -> list[str]:
    """Markers of old and new versions of a few rewritten files (and of a deleted one)."""
    changed = sorted(p for p in before if p in after and before[p] != after[p])
    deleted = sorted(p for p in before if p not in after)
    picked = rng.sample(changed, min(2, len(changed))) + deleted[:1]
    return [marker for path in picked for marker in (before[path], after.get(path)) if marker]


def _assert_search_shows_served_versions(snap: dict[str, Any], served: set[str]) -> None:
    for search in snap["searches"]:
        marker = search["query"]
        found = any(hit["markers"] == [marker] for hit in search["hits"])
        assert found == (marker in served), (marker, marker in served, search["hits"])


def test_sigkill_at_random_points_serves_one_whole_version_and_the_next_run_completes(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    public = Corpus(tmp_path / "public")
    public.create(PUBLIC_FILES)
    internal = Corpus(tmp_path / "internal")
    internal.create(INTERNAL_FILES, start=INTERNAL_START)
    env = coop_env(tmp_path / "var")
    _ingest(public, "public", env, tmp_path)
    _ingest(internal, "internal", env, tmp_path)
    served = {**public.expected(), **internal.expected()}

    outcomes: Counter[str] = Counter()
    with Checker() as checker:
        rounds = _Rounds(tmp_path, env, checker, rng, outcomes)
        for round_number in range(ROUNDS):
            corpus, visibility = (
                (internal, "internal") if round_number % 4 == 3 else (public, "public")
            )
            served = rounds.kill_one_run(corpus, visibility, served, round_number)
        print(f"\nkills over {ROUNDS} rounds (stage -> what was served after): {dict(outcomes)}")
        kills = sum(n for key, n in outcomes.items() if not key.startswith("finished"))
        assert kills >= ROUNDS * 2 // 3, outcomes  # most kills landed in the middle of a run

        # The next runs complete and leave exactly what a fresh build of the same corpus holds
        # (built meanwhile, in another data directory).
        fresh_env = coop_env(tmp_path / "fresh")
        fresh = _start(public, "public", fresh_env, tmp_path, tmp_path / "fresh-public.log")
        _ingest(public, "public", env, tmp_path)
        _ingest(internal, "internal", env, tmp_path)
        assert fresh.wait(timeout=120) == 0
        _ingest(internal, "internal", fresh_env, tmp_path)
        final = checker.snapshot(tmp_path / "var", [])
        built = checker.snapshot(tmp_path / "fresh", [])
    assert not consistency_problems(final)
    assert final["running"] is None
    assert served_versions(final) == {**public.expected(), **internal.expected()}
    assert set(final["files"]) == set(served_versions(final))
    assert {f["status"] for f in final["files"].values()} == {"indexed"}
    assert set(final["docs"]) == set(built["docs"])
    assert set(final["chunks"]) == set(built["chunks"])
    for vis in ("public", "internal"):
        served_ids = sorted(c for c, ch in final["chunks"].items() if ch["visibility"] == vis)
        assert final["vectors"][vis]["ids"] == served_ids  # no orphans, no duplicates
        assert final["vectors"][vis]["ids"] == built["vectors"][vis]["ids"]
        assert final["lexical"][vis] == built["lexical"][vis] == served_ids


@dataclass
class _Rounds:
    tmp_path: Path
    env: dict[str, str]
    checker: Checker
    rng: random.Random
    outcomes: Counter[str]

    def kill_one_run(
        self, corpus: Corpus, visibility: str, served: dict[str, str], round_number: int
    ) -> dict[str, str]:
        """Change the corpus, start an ingest, SIGKILL it at a random point, check what is
        served; return the served state."""
        tmp_path, env, checker, rng = self.tmp_path, self.env, self.checker, self.rng
        before = under(served, corpus.folder)
        size = len(corpus.versions)
        corpus.mutate(rng, change=0.3, add=size // 50, delete=size // 80)
        after = corpus.expected()

        log = tmp_path / f"ingest-{round_number}.log"
        process = _start(corpus, visibility, env, tmp_path, log)
        aim = rng.choice(sorted(AIMS))
        text, spread = AIMS[aim]
        reached = (
            _wait_for_last_embedding(log, process)
            if aim == "switch"
            else wait_for_text(log, text, process, timeout=60)
        )
        if reached:
            time.sleep(rng.uniform(0, spread))
        stage = _stage(log)
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if not killed:
            assert process.returncode == 0, log.read_text()
            stage = "finished"

        snap = checker.snapshot(tmp_path / "var", _queries(before, after, rng))
        problems = consistency_problems(snap)
        assert not problems, (round_number, stage, problems[:10])
        now = served_versions(snap)
        here = under(now, corpus.folder)
        new = sum(here.get(path) == mark for path, mark in after.items())
        old = sum(here.get(path) == mark for path, mark in before.items())
        assert here in (before, after), (
            f"round {round_number} ({stage}): {new} of {len(after)} files new, {old} of "
            f"{len(before)} old"
        )
        assert {p: m for p, m in now.items() if p not in here} == {
            p: m for p, m in served.items() if p not in before
        }  # the other folder is untouched
        if not killed:
            assert here == after
        _assert_search_shows_served_versions(snap, set(now.values()))
        self.outcomes[f"{stage} -> {'new' if here == after else 'old'}"] += 1
        return now
