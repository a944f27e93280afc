"""`intpkg check [DIR]`: lint, then build (stops at lint problems)."""

from __future__ import annotations

import argparse

from intpkg.commands._build import add_build_args, run_build
from intpkg.commands._package import add_package_arg
from intpkg.commands._problems import print_problems
from intpkg.spec import errors, lint_package


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("check", help="lint then build the package")
    add_package_arg(parser)
    add_build_args(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text", help="lint output format")
    parser.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    problems = lint_package(args.package_dir, ecs_dir=args.ecs_dir)
    print_problems(problems, args.format)
    if errors(problems):
        return 1
    return run_build(args)
