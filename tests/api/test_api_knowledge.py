"""`GET /v1/agreements`, `GET /v1/contacts` and the expiring-agreements question over HTTP,
on a corpus that mixes the sample (prose and registry) with an internal registry."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from assistant.api.app import create_app
from assistant.resources import open_resources
from assistant.settings import APISettings
from ingest.sync import IngestService
from tests.api.conftest import wait_ready
from tests.conftest import SAMPLE_DIR, FakeEmbedder, make_settings

KEY = "staff-key-for-tests"
INTERNAL_REGISTRY = (
    "Партнёр;Страна;Действует до;Ответственный;E-mail\n"
    "Zanzibar Polytechnic ZQX-42;Tanzania;2026-12-20;Olga Petrova;olga@example.org\n"
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    public, internal = tmp_path / "sample", tmp_path / "internal"
    shutil.copytree(SAMPLE_DIR, public)
    internal.mkdir()
    (internal / "registry.csv").write_text(INTERNAL_REGISTRY, encoding="utf-8")
    settings = make_settings(
        tmp_path / "var",
        staff_api_keys=[SecretStr(KEY)],
        today="2026-11-25",
        api=APISettings(rate_per_minute=0, staff_rate_per_minute=0),
    )
    resources = open_resources(settings, embedder=FakeEmbedder())
    assert resources.embedder is not None
    service = IngestService(
        settings, resources.facts, resources.vectors, resources.lexical, resources.embedder
    )
    service.ingest([public], "public")
    service.ingest([internal], "internal")
    resources.close()
    app = create_app(
        settings, resource_factory=lambda s: open_resources(s, embedder=FakeEmbedder())
    )
    with TestClient(app) as test_client:
        wait_ready(test_client)
        yield test_client


def _partners(body: dict[str, Any]) -> list[str]:
    return [row["partner"] for row in body["agreements"]]


def test_agreements_expiring_this_year_with_exact_citations(client):
    body = client.get("/v1/agreements", params={"expiring": "this-year"}).json()
    assert body["as_of"] == "2026-11-25"
    assert [p.split(" (")[0] for p in _partners(body)] == [
        "National Institute of Workers' Health",
        "National Center of Hygiene and Occupational Diseases",
    ]
    assert [row["days_left"] for row in body["agreements"]] == [20, 36]
    for row in body["agreements"]:
        for citation in [row["citation"], *row["also_cited"]]:
            source = client.get(f"/v1/sources/{citation['doc_id']}").json()
            assert source["text"][citation["start"] : citation["end"]] == citation["quote"]


def test_visitors_get_public_facts_only_and_staff_get_internal_too(client):
    visitor = client.get("/v1/agreements", params={"expiring": "60d"}).json()
    assert not any("Zanzibar" in p for p in _partners(visitor))
    staff = client.get(
        "/v1/agreements", params={"expiring": "60d"}, headers={"Authorization": f"Bearer {KEY}"}
    ).json()
    assert any("Zanzibar" in p for p in _partners(staff))
    assert client.get("/v1/contacts", params={"q": "Petrova"}).json() == {"contacts": []}
    assert (
        client.get("/v1/agreements", headers={"Authorization": "Bearer wrong"}).status_code == 401
    )


def test_a_bad_period_is_a_clear_422(client):
    response = client.get("/v1/agreements", params={"expiring": "soon"})
    assert response.status_code == 422 and "60d" in response.json()["detail"]


def test_contacts_carry_their_evidence(client):
    contacts = client.get("/v1/contacts", params={"q": "Konovalchuk"}).json()["contacts"]
    assert len(contacts) == 1
    assert contacts[0]["email"] == "inter.mnioi@mail.ru"
    assert "Konovalchuk" in contacts[0]["citation"]["quote"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which agreements expire this year?", "expires in 20 days"),
        ("Какие соглашения истекают в этом году?", "истекает через 20 дн."),
    ],
)
def test_staff_ask_which_agreements_expire_this_year_in_either_language(client, question, expected):
    answer = client.post(
        "/v1/ask", json={"question": question}, headers={"Authorization": f"Bearer {KEY}"}
    ).json()
    assert answer["found"] and answer["mode"] == "structured"
    assert expected in answer["answer"]
    assert "Zanzibar Polytechnic" in answer["answer"]  # internal registry, staff only
    visitor = client.post("/v1/ask", json={"question": question}).json()
    assert "Zanzibar" not in visitor["answer"]
    assert all("Zanzibar" not in c["quote"] for c in visitor["citations"])
