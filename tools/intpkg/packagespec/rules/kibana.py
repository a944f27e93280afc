"""Kibana saved objects: ids prefixed with the package name (= file name), the type of their folder, and
references to ids the package (or Kibana) holds, of the type the package holds them as."""

from __future__ import annotations

from pathlib import PurePosixPath

from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules.context import LintContext, items
from intpkg.packagespec.structure import KIBANA_PREFIXED

#: ids that Fleet/Kibana provide, so references to them are not dangling
BUILTIN_IDS = {"logs-*", "metrics-*", "traces-*", "security-solution-default", "fleet-managed-default"}

#: kibana/<folder> -> saved-object type (folders not listed here hold a type that is not checked)
FOLDER_TYPES = {"dashboard": "dashboard", "visualization": "visualization", "search": "search", "map": "map",
                "lens": "lens", "tag": "tag", "index_pattern": "index-pattern", "security_rule": "security-rule",
                "ml_module": "ml-module", "csp_rule_template": "csp-rule-template",
                "osquery_pack_asset": "osquery-pack-asset", "osquery_saved_query": "osquery-saved-query"}


def check(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    problems: list[Problem] = []
    objects = {}
    for rel in pkg.files("kibana", "*/*.json"):
        loaded = pkg.load(rel)
        if loaded is not None and isinstance(loaded.data, dict):
            objects[rel] = loaded
    types: dict[str, str] = {}  # id -> type the package holds it as
    for o in objects.values():
        if isinstance(o.data.get("id"), str):
            types.setdefault(o.data["id"], o.data.get("type") if isinstance(o.data.get("type"), str) else "")
    for rel, loaded in objects.items():
        path = PurePosixPath(rel)
        obj_id = loaded.data.get("id")
        if path.parent.name in KIBANA_PREFIXED and isinstance(obj_id, str):
            if not obj_id.startswith(f"{pkg.name}-") or obj_id != path.stem:
                problems.append(pkg.problem(rel, ("id",), "KIB001",
                                            f"id {obj_id!r} must start with {pkg.name + '-'!r} and equal the file "
                                            f"name {path.stem!r}"))
        expected = FOLDER_TYPES.get(path.parent.name)
        obj_type = loaded.data.get("type")
        if expected is not None and isinstance(obj_type, str) and obj_type != expected:
            problems.append(pkg.problem(rel, ("type",), "KIB003",
                                        f"type {obj_type!r} in folder kibana/{path.parent.name}, which holds "
                                        f"{expected!r} objects"))
        for i, ref in enumerate(items(loaded.data.get("references"))):
            if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
                continue
            ref_id, ref_type = ref["id"], ref.get("type")
            if ref_id not in types and ref_id not in BUILTIN_IDS:
                problems.append(pkg.problem(rel, ("references", i, "id"), "KIB002",
                                            f"reference {ref.get('name')!r} points to {ref_type} "
                                            f"{ref_id!r}, which is not in the package"))
            elif ref_id in types and isinstance(ref_type, str) and types[ref_id] and ref_type != types[ref_id]:
                problems.append(pkg.problem(rel, ("references", i, "type"), "KIB002",
                                            f"reference {ref.get('name')!r} points to {ref_type} {ref_id!r}, but "
                                            f"the package holds {ref_id!r} as a {types[ref_id]}"))
    return problems
