"""Ingest pipeline rules: tags, global on_failure, sub-pipeline references, entry pipeline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules.context import LintContext

INGEST_REF = re.compile(r"\{\{\s*IngestPipeline\s+(?:\"([^\"]*)\"|'([^']*)'|(\S+?))\s*\}\}")
ERROR_FIELD = "error.message"


def processors(items: Any, path: tuple) -> Iterator[tuple[tuple, str, dict]]:
    """(YAML path, processor type, options) of every processor, nested ones included."""
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        if not isinstance(item, dict) or len(item) != 1:
            continue
        kind, options = next(iter(item.items()))
        if not isinstance(options, dict):
            continue
        ppath = path + (i, kind)
        yield ppath, kind, options
        yield from processors(options.get("on_failure"), ppath + ("on_failure",))
        if kind == "foreach" and isinstance(options.get("processor"), dict):
            inner = options["processor"]
            if len(inner) == 1:
                ikind, ioptions = next(iter(inner.items()))
                if isinstance(ioptions, dict):
                    ipath = ppath + ("processor", ikind)
                    yield ipath, ikind, ioptions
                    yield from processors(ioptions.get("on_failure"), ipath + ("on_failure",))


def _strings(value: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, path + (i,))


def check(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    problems: list[Problem] = []
    for ds in pkg.data_streams:
        files = pkg.pipelines(ds)
        names = {PurePosixPath(f).stem for f in files}
        for rel in files:
            loaded = pkg.load(rel)
            if loaded is None or not isinstance(loaded.data, dict):
                continue
            problems += _tags(ctx, rel, loaded.data)
            problems += _on_failure(ctx, rel, loaded.data)
            for path, text in _strings(loaded.data, ()):
                for match in INGEST_REF.finditer(text):
                    target = next(g for g in match.groups() if g is not None)
                    if target not in names:
                        problems.append(pkg.problem(rel, path, "ING004",
                                                    f"IngestPipeline {target!r} names no pipeline file of data stream "
                                                    f"{ds!r} (have: {', '.join(sorted(names))})"))
        if files:
            entry = (((pkg.ds_manifest(ds).get("elasticsearch") or {}).get("index_template") or {})
                     .get("ingest_pipeline") or {}).get("name") or "default"
            if entry not in names:
                problems.append(Problem(f"data_stream/{ds}/elasticsearch/ingest_pipeline", 1, 1, "ING005",
                                        f"entry pipeline {entry!r} (.yml/.json) is missing in data stream {ds!r}"))
    return problems


def _tags(ctx: LintContext, rel: str, pipeline: dict) -> list[Problem]:
    pkg = ctx.pkg
    problems = []
    seen: dict[str, tuple] = {}
    for key in ("processors", "on_failure"):
        for path, kind, options in processors(pipeline.get(key), (key,)):
            tag = options.get("tag")
            if not isinstance(tag, str) or not tag.strip():
                problems.append(pkg.problem(rel, path, "ING001", f"{kind} processor has no tag", key=True))
                continue
            if tag in seen:
                line, _ = pkg.load(rel).pos(seen[tag])
                problems.append(pkg.problem(rel, path + ("tag",), "ING002",
                                            f"tag {tag!r} is already used on line {line}"))
            else:
                seen[tag] = path + ("tag",)
    return problems


def _on_failure(ctx: LintContext, rel: str, pipeline: dict) -> list[Problem]:
    handlers = pipeline.get("on_failure")
    for _path, kind, options in processors(handlers, ("on_failure",)):
        if kind in ("set", "append") and options.get("field") == ERROR_FIELD:
            return []
    where = ("on_failure",) if handlers is not None else ()
    return [ctx.pkg.problem(rel, where, "ING003",
                            "pipeline needs a global on_failure with a set/append of error.message", key=bool(where))]
