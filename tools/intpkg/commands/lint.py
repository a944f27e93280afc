"""`intpkg lint [DIR]`: validate a package (structure, schemas, semantic rules) offline."""

from __future__ import annotations

import argparse
import json
import sys

from intpkg.commands._package import add_ecs_arg, add_package_arg
from intpkg.commands._problems import print_problems
from intpkg.spec import RULES, errors, lint_package


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("lint", help="validate the package: every problem as path:line:column: CODE message")
    add_package_arg(parser)
    add_ecs_arg(parser)
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    parser.add_argument("--list-rules", action="store_true", help="print every rule code with its description")
    parser.set_defaults(func=cmd_lint)


def cmd_lint(args: argparse.Namespace) -> int:
    if args.list_rules:
        if args.format == "json":
            json.dump([{"code": c, "description": d} for c, d in RULES.items()], sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            for code, description in RULES.items():
                print(f"{code}  {description}")
        return 0
    problems = lint_package(args.package_dir, ecs_dir=args.ecs_dir)
    print_problems(problems, args.format)
    return 1 if errors(problems) else 0
