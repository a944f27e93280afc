"""Kibana saved objects: ids prefixed with the package name (= file name), no dangling references."""

from __future__ import annotations

from pathlib import PurePosixPath

from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules.context import LintContext, items
from intpkg.packagespec.structure import KIBANA_PREFIXED

#: ids that Fleet/Kibana provide, so references to them are not dangling
BUILTIN_IDS = {"logs-*", "metrics-*", "traces-*", "security-solution-default", "fleet-managed-default"}


def check(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    problems: list[Problem] = []
    objects = {}
    for rel in pkg.files("kibana", "*/*.json"):
        loaded = pkg.load(rel)
        if loaded is not None and isinstance(loaded.data, dict):
            objects[rel] = loaded
    ids = {o.data["id"] for o in objects.values() if isinstance(o.data.get("id"), str)} | BUILTIN_IDS
    for rel, loaded in objects.items():
        path = PurePosixPath(rel)
        obj_id = loaded.data.get("id")
        if path.parent.name in KIBANA_PREFIXED and isinstance(obj_id, str):
            if not obj_id.startswith(f"{pkg.name}-") or obj_id != path.stem:
                problems.append(pkg.problem(rel, ("id",), "KIB001",
                                            f"id {obj_id!r} must start with {pkg.name + '-'!r} and equal the file "
                                            f"name {path.stem!r}"))
        for i, ref in enumerate(items(loaded.data.get("references"))):
            if isinstance(ref, dict) and isinstance(ref.get("id"), str) and ref["id"] not in ids:
                problems.append(pkg.problem(rel, ("references", i, "id"), "KIB002",
                                            f"reference {ref.get('name')!r} points to {ref.get('type')} "
                                            f"{ref['id']!r}, which is not in the package"))
    return problems
