"""Lint problems as `intpkg lint` and `intpkg check` print them (text lines, or JSON)."""

from __future__ import annotations

import json
import sys

from intpkg.spec import Problem, errors


def print_problems(problems: list[Problem], fmt: str) -> None:
    if fmt == "json":
        json.dump({"problems": [p.as_dict() for p in problems], "count": len(problems),
                   "errors": len(errors(problems))}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for problem in problems:
        print(problem)
    if problems:
        notices = len(problems) - len(errors(problems))
        print(f"{len(problems) - notices} problem(s), {notices} notice(s)", file=sys.stderr)
