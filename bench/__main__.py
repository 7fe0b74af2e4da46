"""`python -m bench`: run every benchmark and write `bench/results/*.json`."""

from __future__ import annotations

import argparse
import logging

from bench.ask_bench import run_ask_bench
from bench.ingest_bench import run_ingest_bench
from bench.throughput_bench import run_throughput_bench


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--copies", type=int, default=100, help="copies of the sample corpus")
    parser.add_argument("--runs", type=int, default=3, help="repetitions (medians reported)")
    parser.add_argument(
        "--only", choices=("ingest", "ask", "throughput"), help="run one benchmark instead of all"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.only in (None, "ask"):
        run_ask_bench()
    if args.only in (None, "throughput"):
        run_throughput_bench()
    if args.only in (None, "ingest"):
        run_ingest_bench(copies=args.copies, runs=args.runs)


if __name__ == "__main__":
    main()
