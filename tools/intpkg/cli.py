"""The `intpkg` command line: a thin layer that parses arguments and calls the library."""

from __future__ import annotations

import argparse
import importlib
import sys

from intpkg import __version__
from intpkg.errors import IntpkgError

# Each module in intpkg.commands registers one top-level command.
COMMAND_MODULES = [
    "stack",
    "test",
    "benchmark",
    "lint", "check", "format", "build",
    "install",
    "run",
    "up",
    "ui",
    "verify",
    "mock",
    "detect",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intpkg",
        description="Lint, build, test and run the Cloudflare integration package.",
    )
    parser.add_argument("--version", action="version", version=f"intpkg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"intpkg.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IntpkgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
