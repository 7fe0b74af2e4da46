"""The throughput benchmark's rounds: the servers' measures take turns, and a rate is the
median of its rounds (a slow moment of the machine moves one round, not the result)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import throughput_bench
from bench.throughput_bench import CONCURRENCY, _merged, _paired_ratio, _rounds


def _measure(
    rate: float, clients: int = CONCURRENCY, errors: dict[str, int] | None = None
) -> dict[str, Any]:
    return {
        "clients": clients,
        "requests": int(rate * 3),
        "errors": errors or {},
        "requests_per_s": rate,
        "p50_ms": 1000 / rate,
        "p95_ms": 2000 / rate,
    }


def test_each_round_starts_with_the_next_measure_and_every_measure_gets_every_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[tuple[str, int]] = []

    async def fake_load(url: str, questions: Any, clients: int, seconds: float) -> dict[str, Any]:
        order.append((url.split("/")[2], clients))
        assert seconds == pytest.approx(12.0 / 4)
        return _measure(10.0, clients)

    monkeypatch.setattr(throughput_bench, "_load", fake_load)
    bases = {1: "http://one", 2: "http://two"}
    taken = _rounds(bases, ["q"], 12.0, 4)
    assert {w: {k: len(v) for k, v in m.items()} for w, m in taken.items()} == {
        1: {"ask_1": 4, f"ask_{CONCURRENCY}": 4},
        2: {"ask_1": 4, f"ask_{CONCURRENCY}": 4},
    }
    firsts = [order[i * 4] for i in range(4)]  # four measures a round
    assert len(set(firsts)) == 4  # every measure leads one round: none always goes first


def test_a_slow_round_moves_the_median_rate_little_and_shows_in_the_range() -> None:
    samples = [_measure(40.0), _measure(41.0), _measure(12.0, errors={"503": 2}), _measure(39.0)]
    merged = _merged(samples)
    assert merged["requests_per_s"] == pytest.approx(39.5)
    assert (merged["requests_per_s_low"], merged["requests_per_s_high"]) == (12.0, 41.0)
    assert merged["errors"] == {"503": 2}
    assert merged["rounds"] == 4


def test_the_ratio_of_two_servers_pairs_their_rounds() -> None:
    # The machine slows down in the later rounds: both servers slow alike, the ratio holds.
    one = [_measure(40.0), _measure(30.0), _measure(20.0)]
    two = [_measure(76.0), _measure(57.0), _measure(38.0)]
    assert _paired_ratio(two, one) == pytest.approx(1.9)
