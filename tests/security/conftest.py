"""Shared fixtures of the security suite: the corpus (built once, with the fake embedder) and
a live API server over it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from assistant.resources import Resources, open_resources
from assistant.settings import Settings
from tests.conftest import FakeEmbedder
from tests.security.corpus import SecurityCorpus, build_corpus, serve


def open_with_fake_model(settings: Settings) -> Resources:
    return open_resources(settings, embedder=FakeEmbedder())


@pytest.fixture(scope="session")
def security_corpus(tmp_path_factory: pytest.TempPathFactory) -> SecurityCorpus:
    """Sample, hostile public pages and internal documents, ingested with the fake embedder.
    Read-only: a test that changes the corpus works on `copy_corpus(...)`."""
    with pytest.MonkeyPatch.context() as patch:  # as the autouse fixture does
        for name in [name for name in os.environ if name.startswith("COOP_")]:
            patch.delenv(name)
        patch.setenv("ANONYMIZED_TELEMETRY", "False")
        return build_corpus(tmp_path_factory.mktemp("security"), FakeEmbedder())


@pytest.fixture(scope="module")
def served(security_corpus: SecurityCorpus) -> Iterator[str]:
    """The API over the security corpus (fake embedder, extractive answers); its base URL."""
    with serve(security_corpus.settings, open_with_fake_model) as base:
        yield base
