"""`coop` as the console script runs it, but with the cheap deterministic embedder of the tests
(`tests.conftest.FakeEmbedder`) in place of the model, so fault and soak tests can start it
many times.

Everything else is the real thing: the CLI, its signal handling and messages, the ingest lock,
SQLite, embedded Chroma (or a Chroma server) and the lexical index files. The swap is at module
level (not under `__main__`), so the worker processes `coop serve --workers N` spawns, which
import this file again, use the same embedder.

Usage: python tests/reliability/_crash_coop.py COMMAND [ARGS...]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import assistant.resources
from assistant.settings import EmbeddingsSettings
from tests.conftest import FakeEmbedder


def _fake_embedder(settings: EmbeddingsSettings) -> FakeEmbedder:
    return FakeEmbedder()


setattr(assistant.resources, "build_embedder", _fake_embedder)  # noqa: B010 - a module swap

if __name__ == "__main__":
    from assistant.cli import main

    sys.exit(main())
