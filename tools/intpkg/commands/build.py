"""`intpkg build [DIR]`: build the package folder and zip under build/packages/, then validate it."""

from __future__ import annotations

import argparse

from intpkg.commands._build import add_build_args, run_build
from intpkg.commands._package import add_package_arg


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "build", help="build build/packages/<name>-<version>.zip (resolves ECS fields, renders docs)")
    add_package_arg(parser)
    add_build_args(parser)
    parser.set_defaults(func=cmd_build)


def cmd_build(args: argparse.Namespace) -> int:
    return run_build(args)
