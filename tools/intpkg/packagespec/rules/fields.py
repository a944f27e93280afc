"""Field definition rules and sample events against the fields."""

from __future__ import annotations

from typing import Any

from intpkg.fields import FIELD_TYPES
from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules.context import LintContext

REQUIRED_FIELDS = {
    "@timestamp": ("date",),
    "data_stream.type": ("constant_keyword",),
    "data_stream.dataset": ("constant_keyword",),
    "data_stream.namespace": ("constant_keyword",),
}


def check(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    problems: list[Problem] = []
    build = pkg.data("_dev/build/build.yml")
    deps = build.get("dependencies") if isinstance(build, dict) else None
    ecs_dep = deps.get("ecs") if isinstance(deps, dict) else None
    has_ecs_ref = isinstance(ecs_dep, dict) and isinstance(ecs_dep.get("reference"), str)
    if ctx.ecs is None and ctx.uses_external() and pkg.mode == "source":
        problems.append(Problem("_dev/build/build.yml", 1, 1, "FLD006",
                                f"cannot resolve `external: ecs` fields: {ctx.ecs_error}"))
    for ds in pkg.data_streams:
        fieldset = ctx.fieldset(ds)
        first: dict[str, Any] = {}
        external_reported: set[str] = set()
        for entry in fieldset.entries:
            rel = ctx.rel(entry.file)
            line, col = entry.position
            definition = entry.definition
            ftype = definition.get("type")
            previous = first.get(entry.name)
            if previous is not None and not (ftype == "group" and previous.definition.get("type") == "group"):
                pline, _ = previous.position
                problems.append(Problem(rel, line, col, "FLD001",
                                        f"field {entry.name!r} is already defined in "
                                        f"{ctx.rel(previous.file)}:{pline}"))
            first.setdefault(entry.name, entry)
            if definition.get("external") == "ecs":
                if pkg.mode == "build":
                    problems.append(Problem(rel, line, col, "PKG005",
                                            f"field {entry.name!r} is still `external: ecs` in a built package"))
                elif not has_ecs_ref and rel not in external_reported:
                    external_reported.add(rel)
                    count = sum(1 for e in fieldset.entries if e.file == entry.file and e.definition.get("external"))
                    problems.append(Problem(rel, line, col, "FLD002",
                                            f"{count} field(s) here are `external: ecs` (first: {entry.name!r}) but "
                                            "_dev/build/build.yml has no dependencies.ecs.reference"))
                if ctx.ecs is not None and entry.name not in ctx.ecs:
                    problems.append(Problem(rel, line, col, "FLD003",
                                            f"field {entry.name!r} does not exist in ECS ({ctx.ecs.path})"))
                continue
            if ftype is None:
                problems.append(Problem(rel, line, col, "FLD004", f"field {entry.name!r} has no type"))
            elif not isinstance(ftype, str) or ftype not in FIELD_TYPES:
                problems.append(Problem(rel, line, col, "FLD004",
                                        f"field {entry.name!r} has unknown type {ftype!r}"))
        problems += _required(ctx, ds)
        problems += _samples(ctx, ds)
    return problems


def _required(ctx: LintContext, ds: str) -> list[Problem]:
    fieldset = ctx.fieldset(ds)
    problems = []
    for name, types in REQUIRED_FIELDS.items():
        definition = fieldset.flat.get(name)
        where = f"data_stream/{ds}/fields"
        if definition is None:
            problems.append(Problem(where, 1, 1, "FLD005", f"data stream {ds!r} does not define {name!r} ({types[0]})"))
        elif definition.get("type") is not None and str(definition.get("type")) not in types:
            entry = next(e for e in fieldset.entries if e.name == name)
            line, col = entry.position
            problems.append(Problem(ctx.rel(entry.file), line, col, "FLD005",
                                    f"field {name!r} must be {types[0]}, not {definition.get('type')}"))
    return problems


def fields_parsed(ctx: LintContext, ds: str) -> bool:
    """True when every fields file of the data stream could be parsed."""
    return all(ctx.pkg.load(rel) is not None for rel in ctx.pkg.files(f"data_stream/{ds}/fields", "*.yml"))


def yaml_path_of(doc: Any, name: str) -> tuple:
    """Best YAML path to dotted field `name` in a document (dotted keys allowed)."""
    path: list = []
    parts = name.split(".")
    node = doc
    while parts and isinstance(node, dict):
        for size in range(len(parts), 0, -1):
            key = ".".join(parts[:size])
            if key in node:
                path.append(key)
                node = node[key]
                parts = parts[size:]
                break
        else:
            break
    return tuple(path)


def _samples(ctx: LintContext, ds: str) -> list[Problem]:
    pkg = ctx.pkg
    if ctx.ecs is None and ctx.uses_external():
        return []  # types of external fields are unknown; FLD006 says why
    problems = []
    if not fields_parsed(ctx, ds):
        return problems  # an unparseable fields file would make every field look undefined
    for rel in pkg.files(f"data_stream/{ds}", "sample_event*.json"):
        loaded = pkg.load(rel)
        if loaded is None or not isinstance(loaded.data, dict):
            continue
        for name, message in ctx.fieldset(ds).field_problems(loaded.data):
            problems.append(pkg.problem(rel, yaml_path_of(loaded.data, name), "SMP001", message))
    return problems
