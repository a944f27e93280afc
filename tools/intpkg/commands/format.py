"""`intpkg format [DIR] [--check]`: rewrite the package's YAML/JSON in canonical form."""

from __future__ import annotations

import argparse
import sys

from intpkg.commands._package import add_package_arg
from intpkg.packagespec.formatter import format_package


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "format", help="rewrite YAML/JSON canonically (ingest pipelines and commented YAML are left as they are)")
    add_package_arg(parser)
    parser.add_argument("--check", action="store_true", help="only list files that would change; exit 1 if any")
    parser.set_defaults(func=cmd_format)


def cmd_format(args: argparse.Namespace) -> int:
    root = args.package_dir.resolve()
    results = format_package(root, write=not args.check)
    failed = False
    for result in results:
        rel = result.path.relative_to(root)
        if result.status == "changed":
            print(f"{rel}: {'would change' if args.check else 'formatted'}")
            failed = failed or args.check
        elif result.status == "skipped-comments":
            print(f"{rel}: not canonical but has comments; left as is", file=sys.stderr)
        elif result.status == "error":
            print(f"{rel}:{result.message}", file=sys.stderr)
            failed = True
    return 1 if failed else 0
