"""Shared fixtures of the HTTP API tests: a small corpus (the sample documents, a public page with
markup, one internal document carrying a unique marker) and a ready `TestClient` over it.

The app is built with the deterministic fake embedder so these tests stay fast; the end-to-end
tests that start `coop serve` use the real model. Rate limits are off unless a test asks for them
(`api_settings`).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.api.app import create_app
from assistant.resources import Resources, open_resources
from assistant.settings import APISettings, Settings
from ingest.sync import IngestService
from tests.conftest import SAMPLE_DIR, FakeEmbedder, make_settings

STAFF_KEY = "staff-key-0123456789"
OTHER_STAFF_KEY = "second-staff-key-abcdef"
MARKER = "ZQX-42"
INTERNAL_QUESTION = f"When does the agreement with Zanzibar Polytechnic {MARKER} expire?"
PUBLIC_QUESTION = "What did the Ministry of Labor sign with the Skolkovo Foundation?"
SCRIPT_TEXT = "<script>alert('owned')</script>"


@dataclass
class Corpus:
    settings: Settings
    internal_id: str
    script_id: str


def _doc_id(resources: Resources, path: Path) -> str:
    doc_id = resources.facts.file_states()[str(path)].doc_id
    assert doc_id is not None
    return doc_id


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    """Sample documents plus a public page with markup, and one internal registry entry."""
    return build_corpus(tmp_path)


def build_corpus(tmp_path: Path) -> Corpus:
    """The `corpus` fixture's documents, ingested under `tmp_path` (for module-scoped use)."""
    public = tmp_path / "public"
    shutil.copytree(SAMPLE_DIR, public)
    script_page = public / "markup.md"
    script_page.write_text(
        "# Wombat Institute & <b>partners</b>\n\n"
        f"The Wombat Institute cooperates with {SCRIPT_TEXT} partners & friends in "
        "Quokkaville.\n",
        encoding="utf-8",
    )
    internal = tmp_path / "internal"
    internal.mkdir()
    secret = internal / "registry.md"
    secret.write_text(
        "# Internal registry\n\n"
        f"The agreement with Zanzibar Polytechnic {MARKER} expires in December 2025.\n",
        encoding="utf-8",
    )
    settings = make_settings(
        tmp_path / "var",
        staff_api_keys=[STAFF_KEY, OTHER_STAFF_KEY],
        api=APISettings(rate_per_minute=0, staff_rate_per_minute=0),
    )
    resources = open_resources(settings, embedder=FakeEmbedder())
    try:
        assert resources.embedder is not None
        service = IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, resources.embedder
        )
        assert not service.ingest([public], "public").failed
        assert not service.ingest([internal], "internal").failed
        internal_id = _doc_id(resources, secret)
        script_id = _doc_id(resources, script_page)
    finally:
        resources.close()
    return Corpus(settings, internal_id, script_id)


def open_with_fake_model(settings: Settings) -> Resources:
    return open_resources(settings, embedder=FakeEmbedder())


def wait_ready(client: TestClient, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.02)
    raise AssertionError(f"/readyz never said ready: {client.get('/readyz').json()}")


@pytest.fixture
def client(corpus: Corpus) -> Iterator[TestClient]:
    app = create_app(corpus.settings, resource_factory=open_with_fake_model)
    with TestClient(app) as test_client:
        wait_ready(test_client)
        yield test_client


def staff(key: str = STAFF_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def with_settings(corpus: Corpus, **changes: object) -> Settings:
    """The corpus's settings with some fields replaced (e.g. `api=APISettings(...)`)."""
    return corpus.settings.model_copy(update=changes)
