"""A resumed scale build reports the measures of the run that did the work, not of the nearly
empty run that finished it."""

from __future__ import annotations

from pathlib import Path

from bench.scale_bench import _stage, median_of_runs


def test_a_stage_with_nothing_left_to_do_reports_the_run_that_did_it(tmp_path: Path) -> None:
    done = {"count": 1000.0, "s": 60.0, "cpu_s": 110.0}
    assert _stage(tmp_path, "ingest", done) == done
    nothing_left = {"count": 0.0, "s": 0.4, "cpu_s": 0.5}
    assert _stage(tmp_path, "ingest", nothing_left) == done
    assert _stage(tmp_path, "sentences", nothing_left) == nothing_left  # never measured


def test_a_run_that_did_work_replaces_what_was_kept(tmp_path: Path) -> None:
    _stage(tmp_path, "ingest", {"count": 1000.0, "s": 60.0, "cpu_s": 110.0})
    again = {"count": 10.0, "s": 1.0, "cpu_s": 1.5}  # the corpus changed, say
    assert _stage(tmp_path, "ingest", again) == again
    assert _stage(tmp_path, "ingest", {"count": 0.0, "s": 0.1, "cpu_s": 0.1}) == again


def test_several_runs_are_reported_by_the_median_of_each_measure() -> None:
    runs = [
        {
            "ask": {"p50_ms": 18.0, "p95_ms": 30.0},
            "questions": 60,
            "modes": ["structured"],
            "peak_rss_mb": 900.0,
        },
        {
            "ask": {"p50_ms": 22.0, "p95_ms": 26.0},
            "questions": 60,
            "modes": ["structured"],
            "peak_rss_mb": 990.0,
        },
        {
            "ask": {"p50_ms": 19.0, "p95_ms": 41.0},
            "questions": 60,
            "modes": ["structured"],
            "peak_rss_mb": 950.0,
        },
    ]
    assert median_of_runs(runs) == {
        "ask": {"p50_ms": 19.0, "p95_ms": 30.0},
        "questions": 60,
        "modes": ["structured"],
        "peak_rss_mb": 990.0,  # memory: the worst run
    }
