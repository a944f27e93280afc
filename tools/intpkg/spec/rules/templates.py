"""Agent stream templates: they parse, exist where streams point, and read only declared variables."""

from __future__ import annotations

from intpkg.handlebars import HandlebarsUnavailable
from intpkg.spec import hbs
from intpkg.spec.problems import Problem
from intpkg.spec.rules.context import LintContext, items, template_data_streams

META_ROOT = "_meta"


def var_names(var_list: object) -> set[str]:
    return {v["name"] for v in items(var_list) if isinstance(v, dict) and isinstance(v.get("name"), str)}


def _declared(ctx: LintContext, ds: str, stream: dict) -> set[str]:
    """Names visible to a stream template: package, policy-template, input and stream vars."""
    manifest = ctx.pkg.manifest
    names = var_names(manifest.get("vars"))
    for template in items(manifest.get("policy_templates")):
        if not isinstance(template, dict) or ds not in template_data_streams(template, ctx.pkg):
            continue
        names |= var_names(template.get("vars"))
        for inp in items(template.get("inputs")):
            if isinstance(inp, dict) and inp.get("type") == stream.get("input"):
                names |= var_names(inp.get("vars"))
    names |= var_names(stream.get("vars"))
    return names


def _is_declared(name: str, declared: set[str]) -> bool:
    if name.split(".")[0] == META_ROOT or name in declared:
        return True
    return any(d.startswith(name + ".") or name.startswith(d + ".") for d in declared)


def check(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    problems: list[Problem] = []
    unavailable: str | None = None  # why handlebars.js cannot be loaded, once known
    for ds in pkg.data_streams:
        base = f"data_stream/{ds}/agent/stream"
        parsed: dict[str, hbs.Template] = {}
        for rel in pkg.files(base, "*.yml.hbs"):
            try:
                text = pkg.path(rel).read_text(encoding="utf-8")
                if unavailable is None:
                    parsed[rel] = hbs.parse(text)
            except hbs.TemplateError as exc:
                problems.append(Problem(rel, exc.line, exc.column, "HBS001", exc.message))
            except UnicodeDecodeError:
                problems.append(Problem(rel, 1, 1, "PRS001", "not UTF-8 text"))
            except HandlebarsUnavailable as exc:
                unavailable = str(exc)
            if unavailable is not None and rel not in parsed:
                problems.append(Problem(rel, 1, 1, "HBS004", f"not checked: {unavailable}"))
        mrel = f"data_stream/{ds}/manifest.yml"
        for s, stream in enumerate(items(pkg.ds_manifest(ds).get("streams"))):
            if not isinstance(stream, dict):
                continue
            template_path = stream.get("template_path") or "stream.yml.hbs"
            rel = f"{base}/{template_path}"
            if not pkg.path(rel).is_file():
                problems.append(pkg.problem(mrel, ("streams", s, "template_path") if "template_path" in stream
                                            else ("streams", s), "HBS003",
                                            f"stream template {rel} does not exist"))
                continue
            template = parsed.get(rel)
            if template is None:
                continue
            declared = _declared(ctx, ds, stream)
            reported: set[str] = set()
            for ref in template.references:
                if ref.name in reported or _is_declared(ref.name, declared):
                    continue
                reported.add(ref.name)
                problems.append(Problem(rel, ref.line, ref.column, "HBS002",
                                        f"variable {ref.name!r} is not declared for stream {s + 1} "
                                        f"(input {stream.get('input')!r}) of data stream {ds!r}"))
    return problems
