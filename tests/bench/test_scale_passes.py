"""The scale benchmark's question passes: the pipelines compared take turns question by
question, so that a machine that drifts (slower as it warms, busier in the background) shifts
all of them alike and leaves their ratios alone."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest

from bench import scale_bench


class DriftingMachine:
    """A fake clock: each question costs its pipeline's base time, stretched by a load that
    grows steadily with the time spent (no real time passes)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.calls: list[tuple[str, str]] = []

    def pipeline(self, name: str, base_s: float) -> Callable[[], Callable[[str], None]]:
        def fresh() -> Callable[[str], None]:
            def ask(question: str) -> None:
                self.calls.append((name, question))
                self.now += base_s * (1.0 + self.now)

            return ask

        return fresh


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> DriftingMachine:
    drifting = DriftingMachine()
    monkeypatch.setattr(scale_bench, "time", SimpleNamespace(perf_counter=lambda: drifting.now))
    return drifting


def test_pipelines_of_equal_cost_measure_equal_on_a_drifting_machine(
    machine: DriftingMachine,
) -> None:
    warm = [f"warm {i}" for i in range(5)]
    timed = [f"question {i}" for i in range(21)]
    result = scale_bench._passes(
        warm,
        timed,
        {
            "floor": machine.pipeline("floor", 0.001),
            "ours": machine.pipeline("ours", 0.001),
            "naive": machine.pipeline("naive", 0.001),
            "twice": machine.pipeline("twice", 0.002),
        },
    )
    for name in ("floor", "naive", "twice"):
        for key in ("p50_ms", "repeat_p50_ms"):
            expected = 2.0 if name == "twice" else 1.0
            assert result[name][key] / result["ours"][key] == pytest.approx(expected, rel=0.01)


def test_each_question_is_asked_by_every_pipeline_in_turn_starting_with_the_next(
    machine: DriftingMachine,
) -> None:
    names = ["a", "b", "c"]
    timed = ["q0", "q1", "q2", "q3"]
    scale_bench._passes(["w"], timed, {name: machine.pipeline(name, 0.001) for name in names})
    per_pass = 3 + 2 * 3 * len(timed)  # warm-up, then the new and the repeated questions
    assert len(machine.calls) == scale_bench.QUERY_PASSES * per_pass
    first = machine.calls[:per_pass]
    assert first[:3] == [("a", "w"), ("b", "w"), ("c", "w")]
    asked = first[3:]
    for index, question in enumerate(timed * 2):
        group = asked[3 * index : 3 * index + 3]
        assert {q for _, q in group} == {question}
        turn = index % len(timed) % 3  # the rotation starts again with the repeats
        assert [n for n, _ in group] == names[turn:] + names[:turn]
