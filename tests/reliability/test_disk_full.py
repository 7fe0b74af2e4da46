"""A disk that fills up in the middle of `coop ingest`: the user is told so (exit code 3, "the
disk is full"), what was served before stays served, intact, and once space is back the same
command completes, leaving what an ingest with room to spare leaves.

The full disk is real: a small tmpfs in a private mount namespace (`unshare -rm`, no root
needed), filled up to a few levels of free space so the failure strikes different stores (the
facts database, Chroma's SQLite and segment files, the lexical index files). Where user
namespaces are not allowed that test is skipped; the file-size limit test (RLIMIT_FSIZE: writes
fail with EFBIG) runs everywhere.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reliability._crash_corpus import Corpus
from tests.reliability._crash_harness import (
    HERE,
    Checker,
    consistency_problems,
    coop_command,
    coop_env,
    run_coop,
    served_versions,
)

pytestmark = pytest.mark.integration

FILES = 400
NOSPACE_DRIVER = HERE / "_crash_nospace.py"
EXIT_NO_SPACE = 3
# Free space left on the disk, as a share of what the update needs (measured beforehand).
FREE_SHARES = (0.0, 0.1, 1.0)


@dataclass
class Prepared:
    root: Path
    base: Path  # the data directory before the update
    old: dict[str, str]  # served path -> version marker, before
    new: dict[str, str]  # and after the update
    growth: int  # bytes the update adds to the data directory
    updated: dict[str, Any]  # a snapshot of the update done with room to spare
    queries: list[str]


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    with Checker() as opened:
        yield opened


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, checker: Checker) -> Prepared:
    """An indexed corpus, then changed (30 % rewritten, some added and deleted); the update is
    done once with room to spare, to know what it needs and what it leaves."""
    root = tmp_path_factory.mktemp("nospace")
    corpus = Corpus(root / "docs")
    corpus.create(FILES)
    base = root / "base"
    assert run_coop(["ingest", "docs"], coop_env(base), root).returncode == 0
    old = corpus.expected()
    rng = random.Random(7)
    corpus.mutate(rng, change=0.3, add=20, delete=12)
    new = corpus.expected()
    changed = [path for path in old if path in new and old[path] != new[path]][:2]
    queries = [old[changed[0]], new[changed[0]], old[changed[1]], new[changed[1]]]
    probe = root / "probe"
    shutil.copytree(base, probe)
    done = run_coop(["ingest", "docs"], coop_env(probe), root)
    assert done.returncode == 0, done.stderr
    updated = checker.snapshot(probe, [])
    assert served_versions(updated) == new
    return Prepared(root, base, old, new, _size(probe) - _size(base), updated, queries)


def _assert_old_index_served_intact(snap: dict[str, Any], prepared: Prepared) -> None:
    assert not consistency_problems(snap)
    assert served_versions(snap) == prepared.old
    for search in snap["searches"]:  # the old versions are found, the new ones are not
        found = any(hit["markers"] == [search["query"]] for hit in search["hits"])
        assert found == (search["query"] in prepared.old.values()), search


def _assert_update_complete(snap: dict[str, Any], prepared: Prepared) -> None:
    assert not consistency_problems(snap)
    assert served_versions(snap) == prepared.new
    assert snap["running"] is None
    for vis in ("public", "internal"):
        assert snap["vectors"][vis]["ids"] == prepared.updated["vectors"][vis]["ids"]
        assert snap["lexical"][vis] == prepared.updated["lexical"][vis]
    assert set(snap["chunks"]) == set(prepared.updated["chunks"])


def _namespaces_work(tmp_path: Path) -> bool:
    mount = tmp_path / "probe-mount"
    mount.mkdir()
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.parametrize("share", FREE_SHARES)
def test_a_full_disk_is_reported_and_the_previous_index_stays_served(
    share: float, prepared: Prepared, checker: Checker, tmp_path: Path
) -> None:
    if not _namespaces_work(tmp_path):
        pytest.skip("user namespaces are not allowed here (unshare -rm): no private tmpfs")
    mount, out = tmp_path / "mnt", tmp_path / "out"
    mount.mkdir()
    out.mkdir()
    free = int(prepared.growth * share)
    done = subprocess.run(
        [
            *("unshare", "-rm", sys.executable, str(NOSPACE_DRIVER), str(mount), str(free)),
            *(str(prepared.base), str(out), str(prepared.root), "ingest", "docs"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = json.loads(done.stdout)
    full = runs["full"]
    print(f"\n{free} bytes free: {full['stderr'].strip().splitlines()[-2:]}")
    assert full["code"] == EXIT_NO_SPACE, full["stdout"] + full["stderr"]
    assert "the disk is full" in full["stderr"]
    assert "still served" in full["stderr"] and "Free some space" in full["stderr"]
    assert "Traceback" not in full["stderr"]
    _assert_old_index_served_intact(
        checker.snapshot(out / "after-full", prepared.queries), prepared
    )

    again = runs["again"]
    assert again["code"] == 0, again["stdout"] + again["stderr"]
    _assert_update_complete(checker.snapshot(out / "after-again", prepared.queries), prepared)


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_file_size_limit_is_reported_and_the_previous_index_stays_served(
    prepared: Prepared, checker: Checker, tmp_path: Path
) -> None:
    data = tmp_path / "var"
    shutil.copytree(prepared.base, data)
    limited = subprocess.run(
        coop_command("ingest", "docs"),
        env=coop_env(data),
        cwd=prepared.root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=lambda: _limit_file_size(1 << 20),
    )
    assert limited.returncode == EXIT_NO_SPACE, limited.stdout + limited.stderr
    assert "could not be written" in limited.stderr or "disk is full" in limited.stderr
    assert "still served" in limited.stderr and "Traceback" not in limited.stderr
    _assert_old_index_served_intact(checker.snapshot(data, prepared.queries), prepared)

    done = run_coop(["ingest", "docs"], coop_env(data), prepared.root)
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_update_complete(checker.snapshot(data, prepared.queries), prepared)
