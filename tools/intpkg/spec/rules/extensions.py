"""intpkg's own dialect: options that only intpkg's agent honours are named, so nobody relies on them by accident.

Each extension is documented in the package README's "intpkg extensions" section. Elastic Agent
ignores them; the package must still work (perhaps less well) without them.
"""

from __future__ import annotations

import re

from intpkg.spec.problems import Problem
from intpkg.spec.rules.context import LintContext

#: option -> what it does in intpkg, and what Elastic Agent does instead
EXTENSIONS = {
    "update_on_empty": "a cursor entry with `update_on_empty: true` also advances after a run that published "
                       "no event (an empty Logpull window); Elastic Agent ignores it and re-reads such a window "
                       "until traffic arrives",
}
_OPTION = re.compile(r"^(?P<indent>\s*)(?P<key>" + "|".join(map(re.escape, EXTENSIONS)) + r")\s*:", re.MULTILINE)


def check(ctx: LintContext) -> list[Problem]:
    problems = []
    for ds in ctx.pkg.data_streams:
        for rel in ctx.pkg.files(f"data_stream/{ds}/agent/stream", "*.yml.hbs"):
            try:
                text = ctx.pkg.path(rel).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # reported by the template rules
            for match in _OPTION.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(Problem(rel, line, len(match.group("indent")) + 1, "EXT001",
                                        f"`{match.group('key')}` is an intpkg extension: "
                                        f"{EXTENSIONS[match.group('key')]} (see the README's intpkg extensions)"))
    return problems
