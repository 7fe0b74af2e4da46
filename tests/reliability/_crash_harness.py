"""Running `coop` (with the fake embedder) as a real process, and checking what a data
directory serves after a fault: every file whole in one version, every index agreeing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
COOP_SHIM = HERE / "_crash_coop.py"
CHECKER = HERE / "_crash_check.py"


def coop_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `coop` process on `data_dir` (no developer COOP_* leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOP_")}
    env.update(
        COOP_DATA_DIR=str(data_dir),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        TOKENIZERS_PARALLELISM="false",
    )
    env.update(extra)
    return env


def coop_command(*args: str) -> list[str]:
    """`coop ARGS` with the fake embedder."""
    return [sys.executable, str(COOP_SHIM), *args]


def run_coop(
    args: list[str], env: Mapping[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `coop` to the end."""
    return subprocess.run(
        coop_command(*args),
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for_text(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait until `text` appears in the log; False when the process ended first or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(encoding="utf-8", errors="replace"):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.01)
    return False


class Checker:
    """One `_crash_check.py` process answering snapshot requests (it imports once)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Checker:
        self._process = subprocess.Popen(
            [sys.executable, str(CHECKER)],
            env=coop_env(Path("unused")),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def snapshot(self, data_dir: Path, queries: list[str]) -> dict[str, Any]:
        """What `data_dir` serves now (see `_crash_check.py`)."""
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        process.stdin.write("\t".join([str(data_dir), *queries]) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        assert line, f"the checker process ended (exit code {process.poll()})"
        result: dict[str, Any] = json.loads(line)
        return result


def served_versions(snap: dict[str, Any]) -> dict[str, str]:
    """Served path -> the version marker of its document."""
    return {doc["path"]: "|".join(doc["markers"]) for doc in snap["docs"].values()}


def under(state: Mapping[str, str], folder: Path) -> dict[str, str]:
    """The part of a path -> marker state that lies in `folder`."""
    prefix = str(folder.resolve()) + os.sep
    return {path: mark for path, mark in state.items() if path.startswith(prefix)}


def consistency_problems(snap: dict[str, Any]) -> list[str]:
    """Everything that would make what is served inconsistent (empty when all is well).

    Orphan vectors (in Chroma, named by no served chunk) are allowed here: an interrupted run
    leaves them and the next run collects them; they are never served."""
    problems: list[str] = []
    if snap["integrity"] != "ok":
        problems.append(f"facts DB integrity: {snap['integrity']}")
    for doc_id, doc in snap["docs"].items():
        if len(doc["markers"]) != 1:
            problems.append(f"document {doc['path']} mixes versions {doc['markers']}")
        if not doc["chunks"]:
            problems.append(f"document {doc['path']} has no chunks")
        del doc_id
    for chunk_id, chunk in snap["chunks"].items():
        problems.extend(f"chunk {chunk_id}: {problem}" for problem in chunk["problems"])
    for vis, vectors in snap["vectors"].items():
        served = {c for c, chunk in snap["chunks"].items() if chunk["visibility"] == vis}
        missing = served - set(vectors["ids"])
        if missing:
            problems.append(f"{len(missing)} served {vis} chunks have no vector")
        for chunk_id, markers in vectors["served_markers"].items():
            doc = snap["docs"][snap["chunks"][chunk_id]["doc_id"]]
            if markers != doc["markers"]:
                problems.append(f"vector {chunk_id} holds {markers}, its document {doc['markers']}")
        lexical = set(snap["lexical"][vis])
        if lexical != served:
            problems.append(
                f"lexical {vis}: {len(lexical - served)} unserved rows, "
                f"{len(served - lexical)} served chunks missing"
            )
    for search in snap["searches"]:
        for hit in search["hits"]:
            doc = snap["docs"].get(hit["doc_id"])
            if doc is None:
                problems.append(f"search {search['query']!r} returned an unserved document")
            elif hit["markers"] and hit["markers"] != doc["markers"]:
                problems.append(f"search {search['query']!r} returned an old chunk {hit}")
    answer = snap["answer"]
    if answer is not None:
        problems.extend(f"answer: {p}" for p in answer["problems"])
    return problems
