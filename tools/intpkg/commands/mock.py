"""`intpkg mock [PACKAGE_DIR]`: serve the package's mock Cloudflare API (from `_dev/deploy/docker`) on loopback."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from intpkg.commands._package import add_package_arg
from intpkg.errors import IntpkgError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("mock", help="serve the package's mock Cloudflare API on loopback",
                            description="Serve the mock declared in PACKAGE_DIR/_dev/deploy/docker (stream rules "
                                        "plus intpkg handlers). Prints the base URL to use as api_url.")
    add_package_arg(parser)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 = pick a free one; default 0)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--service", help="compose service to serve (default: the first stream http-server)")
    parser.add_argument("--fault-rate", type=float, help="fraction of requests answered with --fault-error-code")
    parser.add_argument("--fault-error-code", type=int, help="status of injected faults (default 500)")
    parser.add_argument("--delay-rate", type=float, help="fraction of requests delayed by --delay-duration")
    parser.add_argument("--delay-duration", help="delay of delayed requests, a Go duration (e.g. 500ms, 2s)")
    parser.add_argument("--seed", type=int, help="seed of the random fault/delay choices (repeatable runs)")
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    parser.add_argument("--records", action="append", default=[], metavar="DATASET=COUNT",
                        help="resize a generated dataset (e.g. logpull_bench=540000 for a ~1 GB Logpull window)")
    parser.add_argument("--no-rate-limit", action="store_true", help="serve without the API's rate limit")
    parser.add_argument("--warm", action="append", default=[], metavar="DATASET",
                        help="generate a dataset's records before serving, so that answers cost no generation "
                             "(the benchmark's API: Cloudflare's work is not the collector's); it holds them in "
                             "memory, about 2.5 KB per Logpull record")
    parser.set_defaults(func=cmd_mock)


def cmd_mock(args: argparse.Namespace) -> int:
    from intpkg.cloudflare.mockapi import CloudflareMock

    options: dict = {"host": args.host, "port": args.port, "seed": args.seed}
    for name in ("fault_rate", "fault_error_code", "delay_rate", "delay_duration"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    if not args.quiet:
        options["log"] = sys.stderr
    if args.no_rate_limit:
        options["rate_limit"] = False
    counts = {}
    for item in args.records:
        name, _, count = item.partition("=")
        if not count.isdigit():
            raise IntpkgError(f"--records {item!r}: expected DATASET=COUNT")
        counts[name] = int(count)
    if counts:
        options["record_counts"] = counts
    fatal: list[str] = []
    stop = threading.Event()

    def on_fatal(message: str) -> None:
        fatal.append(message)
        stop.set()

    try:
        server = CloudflareMock.from_package(args.package_dir, on_fatal=on_fatal, **options)
    except OSError as exc:
        raise IntpkgError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    for name in args.warm:
        try:
            server.dataset(name).warm()
        except (KeyError, ValueError) as exc:
            server.stop()
            raise IntpkgError(f"--warm {name}: {exc.args[0] if exc.args else exc}") from None
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(server.base_url, flush=True)
        print(f"mock Cloudflare API of {args.package_dir.resolve()} ({len(server.config.rules)} rules from "
              f"{server.config.path}); Ctrl-C stops it", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
        if fatal:  # on_fatal runs before the 500 naming the violation is written: let it reach the client
            time.sleep(0.5)
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if fatal:
        print(f"error: {fatal[0]}", file=sys.stderr)
        return 1
    return 0
