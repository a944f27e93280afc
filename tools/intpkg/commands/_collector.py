"""Collector arguments shared by `intpkg run` and `intpkg up`: where its state lives and how it ships."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from intpkg.agent.shipper import DEFAULT_BULK_CONCURRENCY, DEFAULT_BULK_SIZE, DEFAULT_QUEUE_SIZE


def add_collector_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, help="cursors, status and traces (default $INTPKG_HOME/agent)")
    parser.add_argument("--bulk-size", type=_positive, default=DEFAULT_BULK_SIZE,
                        help=f"documents per bulk request (default {DEFAULT_BULK_SIZE})")
    parser.add_argument("--bulk-concurrency", type=_positive, default=DEFAULT_BULK_CONCURRENCY,
                        help=f"bulk requests in flight at once (default {DEFAULT_BULK_CONCURRENCY}; 1 for a small "
                             "cluster)")
    parser.add_argument("--queue-size", type=_positive, default=DEFAULT_QUEUE_SIZE,
                        help=f"documents waiting for a bulk request before collection waits (default "
                             f"{DEFAULT_QUEUE_SIZE}); bounds the collector's memory")


def agent_options(args: argparse.Namespace) -> dict[str, Any]:
    """The `Agent` keyword arguments the collector arguments stand for."""
    return {"bulk_size": args.bulk_size, "bulk_concurrency": args.bulk_concurrency, "queue_size": args.queue_size}


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value
