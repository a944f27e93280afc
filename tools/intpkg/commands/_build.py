"""Build arguments and output shared by `intpkg build` and `intpkg check`."""

from __future__ import annotations

import argparse
from pathlib import Path

from intpkg.builder import build_package
from intpkg.commands._package import add_ecs_arg


def add_build_args(parser: argparse.ArgumentParser) -> None:
    add_ecs_arg(parser)
    parser.add_argument("--build-dir", type=Path, help="output folder (default: <package>/build)")
    parser.add_argument("--no-zip", action="store_true", help="only build the folder")
    parser.add_argument("--skip-validation", action="store_true", help="do not validate the built package")


def run_build(args: argparse.Namespace) -> int:
    result = build_package(args.package_dir, args.build_dir, ecs_dir=args.ecs_dir, make_zip=not args.no_zip,
                           validate=not args.skip_validation)
    for doc in result.docs_updated:
        print(f"rendered {doc}")
    for rule in result.rules_updated:
        print(f"{'generated' if (args.package_dir / rule).is_file() else 'removed'} {rule}")
    print(f"built {result.name} {result.version}: {result.folder}")
    if result.zip_path:
        print(f"zip: {result.zip_path}")
    return 0
