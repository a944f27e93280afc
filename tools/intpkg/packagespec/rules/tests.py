"""Pipeline test folders: every case has its expected file, and no config/expected file is orphaned."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules.context import LintContext

CASE = re.compile(r"^test-[a-z0-9-]+\.(json|log)$")
SIDE = re.compile(r"^(test-[a-z0-9-]+\.(?:json|log))-(expected\.json|config\.yml)$")


def check(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    problems: list[Problem] = []
    for ds in pkg.data_streams:
        base = f"data_stream/{ds}/_dev/test/pipeline"
        names = {PurePosixPath(f).name for f in pkg.files(base)}
        for name in sorted(names):
            if CASE.match(name) and f"{name}-expected.json" not in names:
                problems.append(Problem(f"{base}/{name}", 1, 1, "TST001",
                                        f"test case {name} has no {name}-expected.json "
                                        "(write it with `intpkg test pipeline --generate` and review it)"))
            side = SIDE.match(name)
            if side and side.group(1) not in names:
                problems.append(Problem(f"{base}/{name}", 1, 1, "TST002",
                                        f"{name} belongs to test case {side.group(1)}, which does not exist"))
    return problems
