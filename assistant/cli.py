"""`coop`: the command line. Builds `Settings` once and passes it down."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from assistant.settings import Settings
from vectorstore.embeddings import configure_offline

logger = logging.getLogger("coop")

EXIT_OK = 0
EXIT_FAILED_FILES = 1
EXIT_USAGE = 2
EXIT_NO_SPACE = 3  # the stores could not be written (disk full); nothing of the run is served
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # an interrupted ingest exits with 128 + signal
# On SIGTERM `coop serve` lets requests in flight finish for this long, then cuts them.
GRACEFUL_SHUTDOWN_S = 10


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coop",
        description="Cooperation Assistant: ingest documents and answer questions about them.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
        help="index files and folders (re-running skips unchanged files)",
        description="Index files and folders. Re-running skips unchanged files, re-indexes "
        "changed ones and removes documents whose files are gone from an ingested folder. "
        "Exit codes: 1 when any file could not be ingested (the others are served), 3 when "
        "the disk is full (nothing of the run is switched in), 130/143 when stopped by Ctrl-C "
        "or SIGTERM (the previous state stays served).",
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument(
        "--visibility",
        choices=("public", "internal"),
        default="public",
        help="who may see these documents (default: public)",
    )
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")

    status = commands.add_parser("status", help="what is indexed, when, and errors")
    status.add_argument("--json", action="store_true", help="print JSON")

    ask = commands.add_parser("ask", help="answer a question from the indexed documents")
    ask.add_argument("question", metavar="QUESTION")
    ask.add_argument(
        "--audience",
        choices=("public", "staff"),
        default="public",
        help="answer as for a visitor (public documents only, the default) or for staff",
    )
    ask.add_argument("--session", help="continue a conversation (the id a previous answer gave)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")

    evaluate = commands.add_parser(
        "eval",
        help="measure answer quality on a gold set, side by side with a naive baseline",
        description="Ingests CORPUS into a scratch directory with the configured model, asks "
        "every gold question, and prints retrieval hit@k, answer fact accuracy, declining "
        "accuracy and citation validity for this assistant and for a naive pipeline.",
    )
    evaluate.add_argument("--gold", type=Path, default=Path("tests/gold/gold.jsonl"))
    evaluate.add_argument("--corpus", type=Path, default=Path("data/sample"))
    evaluate.add_argument("--json", action="store_true", help="print per-question results too")
    evaluate.add_argument("-q", "--quiet", action="store_true", help="only the table")

    agreements = commands.add_parser(
        "agreements", help="list agreements and when they expire (from the facts database)"
    )
    agreements.add_argument(
        "--expiring",
        metavar="PERIOD",
        help="this-year, next-year, a year (2027) or a number of days (60d); default: all",
    )
    agreements.add_argument("--audience", choices=("public", "staff"), default="staff")
    agreements.add_argument("--json", action="store_true", help="print JSON")

    contacts = commands.add_parser("contacts", help="list contacts found in the documents")
    contacts.add_argument("query", nargs="?", default="", metavar="QUERY")
    contacts.add_argument("--audience", choices=("public", "staff"), default="staff")
    contacts.add_argument("--json", action="store_true", help="print JSON")

    serve = commands.add_parser(
        "serve",
        help="serve the HTTP API (and the widget demo page)",
        description="Serve the HTTP API. With --workers N > 1 the workers share one Chroma "
        "server (COOP_CHROMA__HOST), the SQLite files and the rate limits.",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default 1; more than 1 needs a Chroma server)",
    )
    serve.add_argument(
        "--no-bot",
        action="store_true",
        help="do not run the Telegram bot in this process even when COOP_TELEGRAM__TOKEN is set "
        "(when `coop bot` runs separately: two pollers would answer every message twice)",
    )

    commands.add_parser(
        "bot",
        help="run the Telegram bot (COOP_TELEGRAM__TOKEN)",
        description="Run the Telegram bot: long polling, or a webhook server when "
        "COOP_TELEGRAM__WEBHOOK_URL is set. Stops cleanly on SIGTERM or Ctrl-C.",
    )

    feedback = commands.add_parser(
        "feedback", help="export the answers' thumbs up/down and comments as CSV"
    )
    feedback.add_argument(
        "--output",
        "-o",
        type=Path,
        help="write to this file (UTF-8 with a byte-order mark, for spreadsheets); "
        "default: standard output",
    )
    return parser


def _configure_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setLevel(level)  # libraries that lower their own logger's level stay quiet
    for noisy in ("httpx", "chromadb", "sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `coop` console script."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    configure_offline()
    args = _build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"coop: invalid configuration:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "ingest":
        return _ingest(settings, args.paths, args.visibility, as_json=args.json)
    if args.command == "status":
        return _status(settings, as_json=args.json)
    if args.command == "ask":
        return _ask(settings, args.question, args.audience, args.session, as_json=args.json)
    if args.command == "eval":
        return _eval(settings, args.gold, args.corpus, as_json=args.json, quiet=args.quiet)
    if args.command == "agreements":
        return _agreements(settings, args.expiring, args.audience, as_json=args.json)
    if args.command == "contacts":
        return _contacts(settings, args.query, args.audience, as_json=args.json)
    if args.command == "serve":
        return _serve(
            settings, args.host, args.port, args.workers, verbose=args.verbose, bot=not args.no_bot
        )
    if args.command == "bot":
        from bots.telegram.runner import run_bot  # noqa: PLC0415 - only this command needs it

        return run_bot(settings)
    if args.command == "feedback":
        return _feedback(settings, args.output)
    raise AssertionError(f"unhandled command {args.command}")  # argparse prevents this


class _StopRequestedError(BaseException):
    """SIGTERM or SIGINT arrived during an ingest (a BaseException, like KeyboardInterrupt, so
    no `except Exception` on the way takes it for a file's error)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def _stop_signals_raise() -> Iterator[None]:
    """The first SIGTERM/SIGINT raises `_StopRequestedError` where the ingest is, so it unwinds
    (transactions roll back, the lock is released); a second one exits at once, which is as
    safe as `kill -9` for the index."""

    def second(signum: int, frame: FrameType | None) -> None:
        os._exit(128 + signum)

    def first(signum: int, frame: FrameType | None) -> None:
        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, second)
        raise _StopRequestedError(signum)

    previous = {stop_signal: signal.signal(stop_signal, first) for stop_signal in STOP_SIGNALS}
    try:
        yield
    finally:
        for stop_signal, handler in previous.items():
            signal.signal(stop_signal, handler)


def _ingest(settings: Settings, paths: list[Path], visibility: str, *, as_json: bool) -> int:
    """`coop ingest`: a full disk or a stop signal ends it with a message, never a traceback."""
    from vectorstore.storage_errors import describe_no_space  # noqa: PLC0415

    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        print(f"coop: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with _stop_signals_raise():
            return _run_ingest(settings, paths, visibility, as_json=as_json)
    except _StopRequestedError as stop:
        print(
            f"coop: ingest stopped by {signal.Signals(stop.signum).name}. What is served is "
            "consistent: each file is served whole, in its previous or its new version, never a "
            "mix. Run the same command again to finish; the work already done is reused.",
            file=sys.stderr,
        )
        return 128 + stop.signum
    except Exception as exc:
        message = describe_no_space(exc, settings.data_dir)
        if message is None:
            raise
        logger.info("ingest failed for lack of space", exc_info=True)
        print(
            f"coop: ingest failed: {message}.\nNothing of this run was switched in: the "
            "documents indexed before it are still served, intact. Free some space and run the "
            "same command again; it resumes where it stopped.",
            file=sys.stderr,
        )
        return EXIT_NO_SPACE


def _run_ingest(settings: Settings, paths: list[Path], visibility: str, *, as_json: bool) -> int:
    from assistant.answering.factory import build_selector  # noqa: PLC0415 - keeps --help fast
    from assistant.cli_progress import TerminalProgress  # noqa: PLC0415
    from assistant.resources import open_resources  # noqa: PLC0415
    from assistant.retrieval.sentences import embed_sentences  # noqa: PLC0415
    from ingest.discovery import IngestPathError  # noqa: PLC0415
    from vectorstore.records import parse_visibility  # noqa: PLC0415

    resources = open_resources(settings)
    progress = None if as_json else TerminalProgress()
    try:
        service = resources.ingest_service()
        try:
            report = service.ingest(paths, parse_visibility(visibility), progress=progress)
        except IngestPathError as exc:
            print(f"coop: {exc}", file=sys.stderr)
            return EXIT_USAGE
        # What is new is served now; its sentence vectors make the first questions fast.
        sentences = 0
        if settings.ingest.sentence_vectors:
            sentences_progress = None if as_json else TerminalProgress()
            try:
                sentences = embed_sentences(
                    resources.facts,
                    build_selector(resources),
                    resources.sentences,
                    sentences_progress,
                )
            finally:
                if sentences_progress is not None:
                    sentences_progress.close()
    finally:
        if progress is not None:
            progress.close()  # a bar left drawing would garble the message that follows
        resources.close()
    failed = [o for o in report.outcomes if o.status == "failed" or o.error]
    if as_json:
        print(
            json.dumps(
                {
                    "files": [asdict(outcome) for outcome in report.outcomes],
                    "skipped_unsupported": report.skipped,
                    "embedded_chunks": report.embedded_chunks,
                    "reused_chunks": report.reused_chunks,
                    "repaired_chunks": report.repaired_chunks,
                    "repaired_embedded_chunks": report.repaired_embedded,
                    "embedded_sentences": sentences,
                    "seconds": round(report.seconds, 3),
                    "changed": report.changed,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print_ingest_summary(report, visibility)
        if sentences:
            print(f"  sentence vectors kept for fast answers: {sentences}")
    return EXIT_FAILED_FILES if failed else EXIT_OK


def _print_ingest_summary(report: object, visibility: str) -> None:
    from ingest.sync import IngestReport  # noqa: PLC0415

    assert isinstance(report, IngestReport)
    counts = {
        status: report.count(status)
        for status in ("added", "updated", "removed", "unchanged", "failed")
    }
    if not report.changed and not counts["failed"]:
        print(f"Nothing changed: {counts['unchanged']} files unchanged ({report.seconds:.1f} s).")
    else:
        parts = " · ".join(f"{status} {count}" for status, count in counts.items())
        print(f"Ingest ({visibility}) finished in {report.seconds:.1f} s: {parts}")
        print(
            f"  chunks embedded {report.embedded_chunks}, reused {report.reused_chunks}"
            + (
                f"; {report.recovered_orphans} vectors from an interrupted run removed"
                if report.recovered_orphans
                else ""
            )
        )
    if report.repaired_chunks:
        print(
            f"  vector index repaired: {report.repaired_chunks} served chunks written again, "
            f"{report.repaired_embedded} of them embedded, the others from the kept vectors "
            "(Chroma could not read what an interrupted run left)"
        )
    if report.skipped:
        print(f"  skipped {report.skipped} files of unsupported types")
    for outcome in report.outcomes:
        for warning in outcome.warnings[:10]:
            print(f"  WARNING {outcome.source}: {warning}")
        if len(outcome.warnings) > 10:
            print(f"  WARNING {outcome.source}: ... and {len(outcome.warnings) - 10} more")
        if outcome.status == "failed" or outcome.error:
            still = " (unchanged since the last run)" if outcome.status == "unchanged" else ""
            print(f"  FAILED {outcome.source}: {outcome.error}{still}")


def _status(settings: Settings, *, as_json: bool) -> int:
    from assistant.resources import open_resources  # noqa: PLC0415
    from assistant.status import collect_status, render_status  # noqa: PLC0415

    resources = open_resources(settings, load_model=False)
    try:
        status = collect_status(resources)
    finally:
        resources.close()
    if as_json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    else:
        render_status(status)
    return EXIT_FAILED_FILES if any(f["status"] == "failed" for f in status["files"]) else EXIT_OK


def _ask(
    settings: Settings, question: str, audience: str, session: str | None, *, as_json: bool
) -> int:
    from assistant.answering.factory import build_assistant  # noqa: PLC0415
    from assistant.resources import open_resources  # noqa: PLC0415

    if not question.strip():
        print("coop: the question is empty", file=sys.stderr)
        return EXIT_USAGE
    resources = open_resources(settings)
    try:
        if not any(docs for docs, _ in resources.facts.counts().values()):
            print("coop: nothing is indexed yet; run `coop ingest PATH` first", file=sys.stderr)
            return EXIT_USAGE
        assistant = build_assistant(resources)
        answer = assistant.ask(question, "staff" if audience == "staff" else "public", session)
    finally:
        resources.close()
    if as_json:
        print(answer.model_dump_json(indent=2))
        return EXIT_OK
    print(answer.answer)
    if answer.citations:
        print()
        for citation in answer.citations:
            where = f"{citation.source}, {citation.start}-{citation.end}"
            section = f" — {citation.section.split(' > ')[-1]}" if citation.section else ""
            print(f"[{citation.n}] {citation.title}{section} ({where})")
    print(f"\n(session {answer.session_id}; continue with --session {answer.session_id})")
    return EXIT_OK


def _eval(settings: Settings, gold: Path, corpus: Path, *, as_json: bool, quiet: bool) -> int:
    from assistant.evaluation.evaluator import render_table  # noqa: PLC0415
    from assistant.evaluation.runner import run_evaluation  # noqa: PLC0415

    for path, what in ((gold, "gold file"), (corpus, "corpus")):
        if not path.exists():
            print(f"coop: no such {what}: {path}", file=sys.stderr)
            return EXIT_USAGE
    report = run_evaluation(settings, corpus, gold)
    if as_json:
        print(
            json.dumps(
                {
                    "ours": asdict(report.ours),
                    "naive": asdict(report.naive),
                    "questions": [asdict(r) for r in report.ours_results],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    if not quiet:
        for result in report.ours_results:
            ok = result.facts_ok if result.answerable else not result.found
            print(f"{'ok  ' if ok else 'MISS'} {result.id}")
    print(render_table(report.ours, report.naive))
    return EXIT_OK


def _agreements(settings: Settings, expiring: str | None, audience: str, *, as_json: bool) -> int:
    from assistant.knowledge.listing import agreement_rows  # noqa: PLC0415
    from assistant.knowledge.periods import parse_option  # noqa: PLC0415
    from assistant.resources import open_resources  # noqa: PLC0415

    today = settings.today_date()
    try:
        period = parse_option(expiring, today) if expiring else None
    except ValueError as exc:
        print(f"coop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    resources = open_resources(settings, load_model=False)
    try:
        result = agreement_rows(
            resources.facts, "staff" if audience == "staff" else "public", today, period
        )
    finally:
        resources.close()
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return EXIT_OK
    label = f" ending {period.label_en}" if period else ""
    print(f"Agreements{label} (as of {today.isoformat()}): {len(result['agreements'])}")
    for row in result["agreements"]:
        if row["ends_on"] is None:
            when = "no known end date"
        elif row["expired"]:
            when = f"expired on {row['ends_on']}"
        else:
            when = f"ends {row['ends_on']}: expires in {row['days_left']} days"
        country = f" ({row['country']})" if row["country"] else ""
        source = row["citation"]["source"] if row["citation"] else "?"
        print(f"- {row['partner']}{country} — {row['kind']}, {when}  [{source}]")
    if period is not None and result["without_end_date"]:
        print(f"{result['without_end_date']} more agreements have no known end date.")
    return EXIT_OK


def _contacts(settings: Settings, query: str, audience: str, *, as_json: bool) -> int:
    from assistant.knowledge.listing import contact_rows  # noqa: PLC0415
    from assistant.resources import open_resources  # noqa: PLC0415

    resources = open_resources(settings, load_model=False)
    try:
        rows = contact_rows(resources.facts, "staff" if audience == "staff" else "public", query)
    finally:
        resources.close()
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not rows:
        print("No contacts found" + (f" for {query!r}." if query else "."))
    for row in rows:
        parts = [row["person"], row["role"], row["organisation"], row["phone"], row["email"]]
        source = row["citation"]["source"] if row["citation"] else "?"
        print(f"- {', '.join(p for p in parts if p)}  [{source}]")
    return EXIT_OK


def _serve(
    settings: Settings, host: str, port: int, workers: int, *, verbose: bool, bot: bool
) -> int:
    import uvicorn  # noqa: PLC0415

    from assistant.api.app import create_app  # noqa: PLC0415
    from assistant.api.observability import (  # noqa: PLC0415
        prepare_multiprocess_metrics,
        uvicorn_log_config,
    )

    if workers < 1:
        print("coop serve: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    log_config = uvicorn_log_config(settings, verbose=verbose)
    if workers == 1:
        # uvicorn shuts down gracefully on SIGTERM, then raises the signal again to exit with
        # it (status -15). The handler it restores before that is ours, which ends the run
        # normally: a stop requested by the service manager is a clean exit, status 0.
        try:
            with _stop_signals_raise():
                uvicorn.run(
                    create_app(settings, with_bot=bot),
                    host=host,
                    port=port,
                    log_config=log_config,
                    access_log=False,
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
                )
        except _StopRequestedError as stop:
            logger.info("stopped by %s", signal.Signals(stop.signum).name)
        return EXIT_OK
    if settings.chroma.host is None:
        print(
            "coop serve: several workers need a Chroma server, which they share: start one "
            f"with `chroma run --path {settings.chroma_path} --port 8001` and set "
            "COOP_CHROMA__HOST=127.0.0.1 and COOP_CHROMA__PORT=8001 (ingest with the same "
            "settings). Embedded Chroma serves one process only.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    # Each worker's torch and BLAS would start a thread per core; with N workers that is N
    # times too many, and their spinning threads slow every answer. Share the cores out (the
    # workers read their settings from the environment, as this process did).
    threads = str(settings.embeddings.threads or max(1, (os.cpu_count() or 1) // workers))
    os.environ["COOP_EMBEDDINGS__THREADS"] = threads
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(variable, threads)
    if settings.telegram.token is not None and bot:
        print(
            "coop serve: with several workers the Telegram bot does not run inside the API; "
            "run `coop bot` as one separate process.",
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory(prefix="coop-metrics-") as metrics_dir:
        # Before the workers start: each one's prometheus_client reads the directory's name
        # from the environment when it is imported, and they add up there.
        prepare_multiprocess_metrics(Path(metrics_dir))
        uvicorn.run(
            "assistant.api.app:app_from_environment",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_config=log_config,
            access_log=False,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
    return EXIT_OK


def _feedback(settings: Settings, output: Path | None) -> int:
    from assistant.feedback import export_csv  # noqa: PLC0415

    if output is None:
        rows = export_csv(settings.data_dir, sys.stdout)
    else:
        with output.open("w", encoding="utf-8-sig", newline="") as target:
            rows = export_csv(settings.data_dir, target)
        print(f"{rows} feedback rows written to {output}", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
