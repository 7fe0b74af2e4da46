"""`python -m bench --report`: write `docs/benchmarks.md` and its plot from `bench/results/`.

The page is generated so that it always says what the last runs measured; the plot is a plain
SVG (no plotting library): p50 question latency against corpus size for ours, the naive
pipeline and the floor.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.ask_bench import REPO, RESULTS
from bench.scale_bench import FLOOR_SAMPLE

DOCS = REPO / "docs"
PLOT = "benchmarks-latency.svg"

TARGETS = (
    ("question p50 within 2× the floor at 100k chunks", "ask_in_process", "floor", 2.0),
    ("question p50 within 1.2× the naive pipeline at every size", "ask_in_process", "naive", 1.2),
    (
        "audience separation costs no scan: staff p50 within 1.2× a visitor's at 100k chunks "
        "(staff search one more collection and lexical index)",
        "ask_in_process_staff",
        "ask_in_process",
        1.2,
    ),
)


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _ratio(value: float | None, base: float | None) -> str:
    return "–" if value is None or not base else f"{value / base:.2f}×"


def _p50(query: dict[str, Any], name: str) -> float | None:
    row = query.get(name)
    return None if row is None else float(row["p50_ms"])


def _size_label(chunks: float) -> str:
    return f"{chunks / 1000:.0f}k" if chunks >= 1000 else f"{chunks:.0f}"


def plot_svg(rows: list[dict[str, Any]]) -> str:
    """p50 latency (ms) against chunks (log scale) for ours, naive and the floor."""
    width, height, left, right, top, bottom = 640, 360, 60, 150, 20, 50
    series = (
        ("ours (in process)", "ask_in_process", "#1f77b4"),
        ("ours over HTTP", "ask_http", "#9467bd"),
        ("naive LangChain", "naive", "#ff7f0e"),
        ("floor", "floor", "#2ca02c"),
    )
    points: dict[str, list[tuple[float, float]]] = {}
    for _, key, _ in series:
        for row in rows:
            value = _p50({**row["query"], **row.get("http", {})}, key)
            if value is not None:
                points.setdefault(key, []).append((float(row["ingest"]["chunks"]), value))
    xs = [x for values in points.values() for x, _ in values] or [1000.0]
    ys = [y for values in points.values() for _, y in values] or [1.0]
    x_min, x_max = math.log10(min(xs)) - 0.15, math.log10(max(xs)) + 0.15
    y_max = max(ys) * 1.15

    def px(x: float) -> float:
        return left + (math.log10(x) - x_min) / (x_max - x_min) * (width - left - right)

    def py(y: float) -> float:
        return height - bottom - y / y_max * (height - top - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
        'stroke="black"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
        f'<text x="{(left + width - right) / 2}" y="{height - 10}" text-anchor="middle">'
        "corpus size (chunks, log scale)</text>",
        f'<text x="15" y="{(top + height - bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 15 {(top + height - bottom) / 2})">p50 latency (ms)</text>',
    ]
    for x in sorted(set(xs)):
        parts.append(
            f'<text x="{px(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">'
            f"{_size_label(x)}</text>"
        )
    step = 10 ** math.floor(math.log10(y_max / 2)) if y_max > 2 else 1
    tick = 0.0
    while tick <= y_max:
        parts.append(
            f'<line x1="{left - 4}" y1="{py(tick):.1f}" x2="{width - right}" y2="{py(tick):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{py(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>'
        )
        tick += step * (2 if y_max / step > 10 else 1)
    for index, (label, key, colour) in enumerate(series):
        values = sorted(points.get(key, []))
        if not values:
            continue
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in values)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(
            f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>' for x, y in values
        )
        legend_y = top + 16 * index + 10
        parts.append(
            f'<line x1="{width - right + 10}" y1="{legend_y - 4}" x2="{width - right + 30}" '
            f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="{width - right + 35}" y="{legend_y}">{label}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _runs_note(rows: list[dict[str, Any]]) -> str:
    """How many runs each size's figures are the medians of (one when not said)."""
    runs = {int(row.get("runs", 1)) for row in rows}
    if runs == {1}:
        return ""
    if len(runs) == 1:
        return (
            f"; each size was measured in {runs.pop()} runs: their medians (peak RSS: the largest)"
        )
    each = ", ".join(f"{_size_label(row['ingest']['chunks'])} {row.get('runs', 1)}" for row in rows)
    return f"; runs per size, whose medians are given (peak RSS: the largest): {each}"


def _scale_section(scale: dict[str, Any]) -> list[str]:
    rows = scale["sizes"]
    machine = scale["machine"]
    runs: dict[str, list[str]] = {}
    for row in rows:
        runs.setdefault(row.get("measured") or scale["date"], []).append(
            _size_label(row["ingest"]["chunks"])
        )
    when = (
        scale["date"]
        if len(runs) == 1
        else "in separate runs ("
        + "; ".join(f"{', '.join(sizes)}: {date}" for date, sizes in sorted(runs.items()))
        + "; each ratio compares measures of one run)"
    )
    lines = [
        "## Scale: ingest and questions at growing corpus sizes",
        "",
        f"Measured {when} with `python -m bench --only scale` on {machine['cores']} "
        f"cores ({machine['cpu']}, Python {machine['python']}), model `{scale['model']}`, "
        f"generator seed {scale['seed']}. One in five generated files is internal. "
        "Question latencies are medians of three passes over up to 60 questions whose answer "
        "is in a public file, each pass by a process warmed up on other questions, the "
        "pipelines taking turns question by question (a drifting machine shifts them alike)"
        + _runs_note(rows)
        + ".",
        "",
        "### Ingest",
        "",
        "| chunks | files | passages in | ours chunks/s | floor chunks/s | ours ÷ floor (CPU time) "
        "| with the sentence stage: chunks/s, ÷ floor (CPU time) | re-ingest unchanged (s per "
        "1,000 files) | one changed file (s) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        i = row["ingest"]
        cpu = i.get("ratio_ingest_to_floor_cpu")
        with_sentences = i.get("ingest_with_sentences_chunks_per_s")
        sentences_cpu = i.get("ratio_ingest_with_sentences_to_floor_cpu")
        lines.append(
            f"| {i['chunks']:,.0f} | {i['files']:,.0f} | {i.get('passage_dtype', 'float32')} | "
            f"{i['ingest_chunks_per_s']:.1f} | "
            f"{i['floor_chunks_per_s']:.1f} | {i['ratio_ingest_to_floor']:.2f} "
            f"({'–' if cpu is None else f'{cpu:.2f}'}) | "
            f"{'–' if with_sentences is None else f'{with_sentences:.1f}'}, "
            f"{'–' if sentences_cpu is None else f'{sentences_cpu:.2f}'} | "
            f"{i['reingest_s_per_1000_files']:.2f} | {i['one_changed_file_s']:.2f} |"
        )
    lines += [
        "",
        "The floor embeds the same chunk texts with the same model in the ingest's batch size "
        f"(all of them up to {FLOOR_SAMPLE:,}, else an evenly spaced sample of that many: it is "
        "a rate per chunk), in the same arithmetic (*passages in*: bfloat16 where the CPU has "
        "it natively, `COOP_EMBEDDINGS__PASSAGE_PRECISION`). CPU time (this process and its parser "
        "workers) hardly depends on what else runs on the machine, so its ratio is the steadier "
        "one. The sentence stage runs after the switch: it embeds the candidate sentences of "
        "the new chunks once, so that answering a question embeds only the question; the "
        "re-ingest and one-changed-file times include it.",
        "",
        "### Questions (p50 / p95 ms)",
        "",
        f"![p50 latency against corpus size]({PLOT})",
        "",
        "| chunks | floor | ours, visitor | ours, staff | naive | ours ÷ floor | ours ÷ naive "
        "| ours, repeated question | structured (first) | HTTP visitor | HTTP staff |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        q, h = row["query"], row["http"]

        def both(item: dict[str, Any] | None) -> str:
            return "–" if item is None else f"{item['p50_ms']:.1f} / {item['p95_ms']:.1f}"

        ours, floor, naive = _p50(q, "ask_in_process"), _p50(q, "floor"), _p50(q, "naive")
        lines.append(
            f"| {row['ingest']['chunks']:,.0f} | {both(q['floor'])} | {both(q['ask_in_process'])} "
            f"| {both(q['ask_in_process_staff'])} | {both(q.get('naive'))} | "
            f"{_ratio(ours, floor)} | {_ratio(ours, naive)} | "
            f"{_ms(q['ask_in_process'].get('repeat_p50_ms'))} | "
            f"{_ms(q['structured']['p50_ms'])} ({_ms(q.get('structured_first_ms'))}) | "
            f"{both(h['ask_http'])} | {both(h['ask_http_staff'])} |"
        )
    lines += [
        "",
        "Every timed question is new to the process answering it (warmed up on other "
        "questions). The answer step scores the candidate sentences of the best chunks by "
        "meaning; their vectors come from the sentence stage of the ingest, so a new question "
        "embeds only itself. A *repeated question* embeds nothing (each process keeps the "
        "vectors of its last questions, `COOP_EMBEDDINGS__QUERY_CACHE`): it costs our part "
        "alone. "
        "*Floor*: one query embedding plus one Chroma top-8 on our index. *Naive*: LangChain's "
        "splitter (1000/200), a Chroma of its own over the public documents, top-4 (no answer "
        "text). *Structured*: agreement questions answered from the facts database; *first* is "
        "the first one after start-up, which builds the catalog of merged agreements.",
        "",
        *_answers_table(rows),
        "### Memory and start-up of `coop serve`",
        "",
        "| chunks | start to `/readyz` 200 (s) | peak RSS (MB) |",
        "|---:|---:|---:|",
    ]
    for row in rows:
        h = row["http"]
        rss = h.get("serve_peak_rss_mb")
        lines.append(
            f"| {row['ingest']['chunks']:,.0f} | {h['ready_s']:.1f} | "
            f"{'–' if rss is None else f'{rss:.0f}'} |"
        )
    lines += ["", "### Targets", "", "| target | measured | met |", "|---|---|---|"]
    for label, ours_key, base_key, limit in TARGETS:
        checked = (
            [row for row in rows if row["ingest"]["chunks"] >= 90_000][-1:]
            if "100k" in label
            else rows
        )
        if not checked:
            lines.append(f"| {label} | not measured at this size yet | – |")
            continue
        measured = []
        met = True
        for row in checked:
            ours, base = _p50(row["query"], ours_key), _p50(row["query"], base_key)
            if ours is None or base is None:
                measured.append(f"{_size_label(row['ingest']['chunks'])}: not measured")
                met = False
                continue
            measured.append(f"{_size_label(row['ingest']['chunks'])}: {ours / base:.2f}×")
            met = met and ours / base <= limit
        lines.append(f"| {label} | {', '.join(measured)} | {'yes' if met else 'no'} |")
    structured = [row["query"]["structured"]["p50_ms"] for row in rows]
    lines.append(
        f"| structured questions p50 under 20 ms | {', '.join(f'{v:.1f} ms' for v in structured)}"
        f" | {'yes' if all(v < 20 for v in structured) else 'no'} |"
    )
    reingest = [row["ingest"]["reingest_s_per_1000_files"] for row in rows]
    lines.append(
        "| re-ingest unchanged under 2 s per 1,000 files | "
        f"{', '.join(f'{v:.2f} s' for v in reingest)} | "
        f"{'yes' if all(v < 2 for v in reingest) else 'no'} |"
    )
    rss_rows = [row for row in rows if row["ingest"]["chunks"] >= 90_000]
    if rss_rows:
        rss = rss_rows[-1]["http"].get("serve_peak_rss_mb") or 0
        lines.append(
            f"| `coop serve` peak RSS under 1.5 GB at 100k | {rss:.0f} MB | "
            f"{'yes' if rss < 1536 else 'no'} |"
        )
    return lines


def _share(value: float | None, questions: int) -> str:
    return "–" if value is None else f"{round(value * questions)} of {questions} ({value:.0%})"


def _answers_table(rows: list[dict[str, Any]]) -> list[str]:
    """Whether the answers come from the right page as the corpus grows (its partners
    sharing ever more of their names)."""
    measured = []
    for row in rows:
        q = row["query"]
        count = q.get("questions")
        if count and q.get("expected_file_cited_ours") is not None:
            measured.append(
                f"| {row['ingest']['chunks']:,.0f} | {count} | "
                f"{_share(q['expected_file_cited_ours'], count)} | "
                f"{_share(q.get('expected_file_retrieved_naive_top4'), count)} |"
            )
    if not measured:
        return []
    return [
        "### Answers at scale",
        "",
        "| chunks | expiry questions | ours: the expected file cited | naive: the expected file "
        "in its top 4 |",
        "|---:|---:|---:|---:|",
        *measured,
        "",
        "Each question asks when the agreement with one generated partner expires; the "
        "generator knows which file says it. Ours counts when the answer cites that file (it "
        "answers, so a wrong partner's page is a miss); the naive pipeline only retrieves, so "
        "it counts when any of its 4 chunks is from that file.",
        "",
    ]


def _rounds_note(data: dict[str, Any]) -> str:
    rounds = data.get("rounds")
    if not rounds:
        return ""
    return (
        f", in {rounds} rounds: both servers run at once and their measures take turns; each "
        "rate is the median of its rounds, with their range in brackets"
    )


def _rate(measure: dict[str, Any]) -> str:
    """A rate, with the range of its rounds when it has them."""
    text = f"{measure['requests_per_s']:.1f}"
    if "requests_per_s_low" in measure:
        text += f" [{measure['requests_per_s_low']:.1f}–{measure['requests_per_s_high']:.1f}]"
    return text


def _throughput_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Throughput: `POST /v1/ask` with 16 concurrent clients",
        "",
        f"Measured {data['date']} with `python -m bench --only throughput` ({data['cpus']} cores,"
        " sample corpus, gold questions, a `chroma run` server shared by the workers, "
        f"{data['seconds_per_phase']:.0f} s per measure{_rounds_note(data)}). The gold "
        "questions come back in turn, so the question-vector cache is off "
        "(`COOP_EMBEDDINGS__QUERY_CACHE=0`): every request costs what a new question does.",
        "",
        "| workers | `/healthz` req/s | ask, 1 client req/s (p50 ms) | ask, 16 clients req/s "
        "(p50 / p95 ms) |",
        "|---:|---:|---:|---:|",
    ]
    for workers in (1, 2):
        row = data["rows"].get(f"workers_{workers}")
        if not row:
            continue
        one, many = row["ask_1"], row["ask_16"]
        lines.append(
            f"| {workers} | {row['healthz_16']['requests_per_s']:.0f} | "
            f"{_rate(one)} ({one['p50_ms']:.0f}) | {_rate(many)} "
            f"({many['p50_ms']:.0f} / {many['p95_ms']:.0f}) |"
        )
    ratio = data.get("ratio_2_to_1_workers_at_16")
    if ratio:
        lines += ["", f"Two workers against one at 16 clients: {ratio:.2f}×."]
    return lines


def write_report() -> Path:
    """Write `docs/benchmarks.md` (and the plot) from the results present."""
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python -m bench --report` from `bench/results/*.json`; `make bench` "
        "measures everything (see the README). Timings on a shared 2-core machine are noisy: "
        "every comparison here is measured side by side in one run and given as a ratio.",
        "",
    ]
    scale = _load("scale")
    if scale and scale.get("sizes"):
        lines += _scale_section(scale)
        lines.append("")
        (DOCS / PLOT).write_text(plot_svg(scale["sizes"]), encoding="utf-8")
    throughput = _load("throughput")
    if throughput:
        lines += _throughput_section(throughput)
        lines.append("")
    target = DOCS / "benchmarks.md"
    target.write_text("\n".join(lines), encoding="utf-8")
    return target
