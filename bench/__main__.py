"""`python -m bench`: run every benchmark and write `bench/results/*.json`."""

from __future__ import annotations

import argparse
import logging

from bench.ask_bench import run_ask_bench
from bench.ingest_bench import run_ingest_bench
from bench.scale_bench import run_scale_bench
from bench.throughput_bench import run_throughput_bench


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--copies", type=int, default=100, help="copies of the sample corpus")
    parser.add_argument(
        "--runs", type=int, default=None, help="repetitions (medians reported; ingest 3, scale 1)"
    )
    parser.add_argument(
        "--only",
        choices=("ingest", "ask", "throughput", "scale"),
        help="run one benchmark instead of all",
    )
    parser.add_argument(
        "--sizes",
        default="1000,10000",
        help="scale benchmark: corpus sizes in chunks, comma-separated (100000 allowed)",
    )
    parser.add_argument(
        "--model",
        default=None,
        help="scale benchmark: embedding model (default: the configured default; `bundled` is "
        "MiniLM alone, for quick runs)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.only in (None, "ask"):
        run_ask_bench()
    if args.only in (None, "throughput"):
        run_throughput_bench()
    if args.only in (None, "ingest"):
        run_ingest_bench(copies=args.copies, runs=args.runs or 3)
    if args.only in (None, "scale"):
        sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
        run_scale_bench(sizes, runs=args.runs or 1, model=args.model)


if __name__ == "__main__":
    main()
