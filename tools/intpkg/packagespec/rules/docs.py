"""docs/*.md must equal the render of _dev/build/docs/*.md."""

from __future__ import annotations

from intpkg.builder.docs import DocsError, render_package_docs
from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules.context import LintContext
from intpkg.packagespec.rules.fields import fields_parsed


def check(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    if pkg.mode != "source" or not pkg.exists("_dev/build/docs"):
        return []
    if ctx.ecs is None and ctx.uses_external():
        return []  # the tables need ECS descriptions; FLD006 says why
    if not all(fields_parsed(ctx, ds) for ds in pkg.data_streams):
        return []  # PRS001 already names the broken fields file
    try:
        rendered = render_package_docs(pkg.root, ctx.fieldset)
    except DocsError as exc:
        return [Problem("_dev/build/docs/README.md", exc.line, exc.column, "DOC002", exc.message)]
    problems = []
    for name, text in rendered.items():
        rel = f"docs/{name}"
        target = pkg.path(rel)
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current == text:
            continue
        if current is None:
            problems.append(Problem(rel, 1, 1, "DOC001", f"{rel} is missing; run `intpkg build` to render it"))
            continue
        have, want = current.splitlines(), text.splitlines()
        line = next((i + 1 for i, (a, b) in enumerate(zip(have, want, strict=False)) if a != b),
                    min(len(have), len(want)) + 1)
        problems.append(Problem(rel, line, 1, "DOC001",
                                f"{rel} is outdated from line {line} (render of _dev/build/docs/{name}); "
                                "run `intpkg build`"))
    return problems
