"""`python -m bench`: run every benchmark and write `bench/results/*.json`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bench.ask_bench import run_ask_bench
from bench.ingest_bench import run_ingest_bench
from bench.profile_bench import run_profile
from bench.report import write_report
from bench.scale_bench import run_reingest, run_scale_bench
from bench.throughput_bench import run_throughput_bench


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--copies", type=int, default=100, help="copies of the sample corpus")
    parser.add_argument(
        "--runs", type=int, default=None, help="repetitions (medians reported; ingest 3, scale 3)"
    )
    parser.add_argument(
        "--only",
        choices=("ingest", "ask", "throughput", "scale"),
        help="run one benchmark instead of all",
    )
    parser.add_argument(
        "--sizes",
        default="1000,10000,100000",
        help="scale benchmark: corpus sizes in chunks, comma-separated (builds are kept in "
        "--workdir: the first build at 100k embeds for about two hours on 2 cores with "
        "bfloat16 passages, three in float32, for our ingest, its sentence stage and the "
        "naive pipeline; an interrupted build resumes)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile (pyinstrument) the questions of the sizes already built: text profiles "
        "to bench/results/profile-<size>.txt, HTML beside each build",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="only write docs/benchmarks.md (and its plot) from bench/results/",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="scale benchmark: where corpora and indexes are built and kept for later runs "
        "(default: var/bench, or $COOP_BENCH_DIR)",
    )
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="scale benchmark: build the sizes, measure nothing",
    )
    parser.add_argument(
        "--reingest",
        action="store_true",
        help="scale benchmark: measure again the re-ingests (unchanged corpus, one changed "
        "file) of the sizes already built, after a change to the ingest, and keep them in "
        "their build records",
    )
    parser.add_argument(
        "--naive-max",
        type=int,
        default=None,
        help="scale benchmark: largest size (chunks) the naive pipeline is built for (default: "
        "every size; at 100k its build embeds about as much as our ingest, once: it is kept)",
    )
    parser.add_argument(
        "--model",
        default="bundled",
        help="scale benchmark: embedding model (default `bundled`, MiniLM alone, the fastest to "
        "build at 100k chunks; `bundled+use-multilingual` is the served "
        "default pair)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.report:
        print(f"wrote {write_report()}")
        return
    if args.profile:
        run_profile([int(size) for size in args.sizes.split(",") if size.strip()], args.workdir)
        return
    if args.reingest:
        run_reingest(
            [int(size) for size in args.sizes.split(",") if size.strip()], args.workdir, args.model
        )
        return
    if args.only in (None, "ask"):
        run_ask_bench()
    if args.only in (None, "throughput"):
        run_throughput_bench()
    if args.only in (None, "ingest"):
        run_ingest_bench(copies=args.copies, runs=args.runs or 3)
    if args.only in (None, "scale"):
        sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
        run_scale_bench(
            sizes,
            model=args.model,
            workdir=args.workdir,
            naive_max=args.naive_max,
            build_only=args.build_only,
            runs=args.runs or 3,
        )
    if args.only in (None, "scale", "throughput") and not args.build_only:
        print(f"wrote {write_report()}")


if __name__ == "__main__":
    main()
