"""Answer feedback over HTTP: thumbs are recorded and exported for staff as CSV; a visitor can
neither rate (nor probe for) a staff answer nor export; bad bodies are 422."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.feedback import MAX_COMMENT_CHARS
from tests.api.conftest import INTERNAL_QUESTION, MARKER, PUBLIC_QUESTION, STAFF_KEY, staff


def ask(client: TestClient, question: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """Ask through the API, as a visitor without `headers`; return the answer body."""
    response = client.post("/v1/ask", json={"question": question}, headers=headers or {})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def rate(client: TestClient, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return client.post("/v1/feedback", json=payload, headers=headers or {})


def export(client: TestClient) -> list[dict[str, str]]:
    response = client.get("/v1/feedback.csv", headers=staff())
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_a_thumbs_up_is_recorded_and_staff_can_download_it(client):
    answer = ask(client, PUBLIC_QUESTION)
    comment = "Точно и со ссылкой, спасибо!"
    response = rate(client, {"answer_id": answer["answer_id"], "rating": "up", "comment": comment})
    assert response.status_code == 201
    assert response.json() == {
        "status": "recorded",
        "answer_id": answer["answer_id"],
        "rating": "up",
    }

    download = client.get("/v1/feedback.csv", headers=staff())
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == 'attachment; filename="feedback.csv"'
    assert download.content.startswith(b"\xef\xbb\xbf")  # Excel reads Cyrillic with the BOM
    [row] = csv.DictReader(io.StringIO(download.content.decode("utf-8-sig")))
    assert row["answer_id"] == answer["answer_id"]
    assert (row["rating"], row["comment"]) == ("up", comment)
    assert (row["audience"], row["channel"]) == ("public", "api")
    assert row["question"] == PUBLIC_QUESTION
    assert row["answer"] == answer["answer"] and "Skolkovo" in row["answer"]
    assert (row["found"], row["language"]) == ("yes", "en")
    assert answer["citations"][0]["source"] in row["sources"]
    assert row["rated_at"]


def test_rating_again_replaces_the_earlier_rating(client):
    answer = ask(client, PUBLIC_QUESTION)
    assert rate(client, {"answer_id": answer["answer_id"], "rating": "up"}).status_code == 201
    changed = {"answer_id": answer["answer_id"], "rating": "down", "comment": "Wrong signatory"}
    assert rate(client, changed).json()["rating"] == "down"
    [row] = export(client)
    assert (row["rating"], row["comment"]) == ("down", "Wrong signatory")


def test_staff_rate_staff_answers_and_visitors_cannot_even_tell_they_exist(client):
    staff_answer = ask(client, INTERNAL_QUESTION, staff())
    assert MARKER in staff_answer["answer"]
    payload = {
        "answer_id": staff_answer["answer_id"],
        "rating": "down",
        "comment": "=cmd|' /C calc'!A0",
    }

    for extra in ({}, {"audience": "staff"}, {"api_key": STAFF_KEY}):
        probing = rate(client, {**payload, **extra})
        assert probing.status_code == 404
        unknown = rate(client, {**payload, "answer_id": "0" * 32, **extra})
        assert probing.json() == unknown.json()
        assert "answer_id" in probing.json()["detail"]
    assert export(client) == []

    assert rate(client, payload, staff()).status_code == 201
    [row] = export(client)
    assert row["audience"] == "staff" and MARKER in row["answer"]
    assert row["comment"] == "'" + payload["comment"]  # not a formula in a spreadsheet


def test_staff_cannot_rate_a_visitors_answer_either(client):
    answer = ask(client, PUBLIC_QUESTION)
    assert (
        rate(client, {"answer_id": answer["answer_id"], "rating": "up"}, staff()).status_code == 404
    )


def test_only_staff_can_export(client):
    answer = ask(client, PUBLIC_QUESTION)
    rate(client, {"answer_id": answer["answer_id"], "rating": "up", "comment": "private note"})

    visitor = client.get("/v1/feedback.csv")
    assert visitor.status_code == 401
    assert visitor.headers["WWW-Authenticate"] == "Bearer"
    assert "staff key" in visitor.json()["detail"]
    assert "private note" not in visitor.text

    wrong = client.get("/v1/feedback.csv", headers={"Authorization": "Bearer wrong-key"})
    assert wrong.status_code == 401 and "private note" not in wrong.text
    assert len(export(client)) == 1


def test_a_wrong_key_cannot_rate(client):
    answer = ask(client, PUBLIC_QUESTION)
    response = rate(
        client,
        {"answer_id": answer["answer_id"], "rating": "up"},
        {"Authorization": "Bearer wrong-key"},
    )
    assert response.status_code == 401
    assert export(client) == []


@pytest.mark.parametrize(
    "change",
    [
        {"rating": "meh"},
        {"rating": "UP"},
        {"rating": None},
        {"rating": 1},
        {"answer_id": "not-an-answer-id"},
        {"answer_id": "A" * 32},
        {"answer_id": "a" * 33},
        {"answer_id": ""},
        {"comment": "x" * (MAX_COMMENT_CHARS + 1)},
        {"comment": 42},
    ],
)
def test_invalid_feedback_is_422_and_not_recorded(client, change):
    answer = ask(client, PUBLIC_QUESTION)
    payload = {"answer_id": answer["answer_id"], "rating": "up", **change}
    response = rate(client, payload)
    assert response.status_code == 422
    assert response.json()["detail"]
    assert export(client) == []


def test_a_missing_field_is_422(client):
    answer = ask(client, PUBLIC_QUESTION)
    assert rate(client, {"answer_id": answer["answer_id"]}).status_code == 422
    assert rate(client, {"rating": "up"}).status_code == 422


def test_the_longest_comment_fits_without_its_surrounding_whitespace(client):
    answer = ask(client, PUBLIC_QUESTION)
    comment = "ю" * MAX_COMMENT_CHARS
    payload = {"answer_id": answer["answer_id"], "rating": "down", "comment": f"\n {comment} \n"}
    assert rate(client, payload).status_code == 201
    assert export(client)[0]["comment"] == comment


def test_the_openapi_document_describes_feedback(client):
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/v1/feedback"]["post"]
    assert post["summary"] and post["description"]
    assert {"up", "down"} <= set(post["requestBody"]["content"]["application/json"]["examples"])
    assert {"201", "401", "404", "422"} <= set(post["responses"])
    assert post["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorBody"
    )
    download = spec["paths"]["/v1/feedback.csv"]["get"]
    assert download["summary"] and download["description"]
    assert "text/csv" in download["responses"]["200"]["content"]
    assert "401" in download["responses"]


def test_an_answer_from_ask_can_be_rated_as_it_was_given(client):
    answer = client.post("/v1/ask", json={"question": PUBLIC_QUESTION}).json()
    assert rate(client, {"answer_id": answer["answer_id"], "rating": "up"}).status_code == 201
