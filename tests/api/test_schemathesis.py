"""The OpenAPI document, fuzzed: schemathesis generates requests for every operation from the
schema (valid and invalid ones) against a live server, and no response may be a 5xx; answers
must match the documented status codes, content types and schemas."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.api.conftest import build_corpus
from tests.api.live import live_api

EXAMPLES_PER_OPERATION = 60


def test_no_generated_request_makes_the_server_fail(tmp_path_factory: pytest.TempPathFactory):
    failures: dict[str, str] = {}
    labels: list[str] = []
    with live_api(build_corpus(tmp_path_factory.mktemp("fuzz"))) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]
            labels.append(operation.label)

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def fuzz(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate()

            try:
                fuzz()
            except (Exception, BaseExceptionGroup) as error:  # report every operation
                failures[operation.label] = f"{type(error).__name__}: {error}"[:3000]
    assert len(labels) >= 15, labels
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
