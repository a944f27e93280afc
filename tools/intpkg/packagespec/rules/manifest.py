"""Manifest, changelog, variables and policy-template rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules.context import LintContext, items, template_data_streams
from intpkg.validation import SEMVER, semver_key

SECRET_WORDS = ("access_key", "api_key", "passphrase", "password", "secret", "token")
DURATION = re.compile(r"^(\d+[smh]|\d+ms)+$")
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}
GITHUB_PR = re.compile(r"^https://github\.com/[^/]+/[^/]+/pull/\d+$")


def check(ctx: LintContext) -> list[Problem]:
    problems: list[Problem] = []
    problems += _changelog(ctx)
    problems += _manifest_refs(ctx)
    for rel, path, var_list in _var_lists(ctx):
        problems += _vars(ctx, rel, path, var_list)
    problems += _inputs(ctx)
    return problems


# -- changelog ------------------------------------------------------------------------------------------


def _changelog(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    rel = "changelog.yml"
    entries = pkg.data(rel)
    problems: list[Problem] = []
    if not isinstance(entries, list):
        return problems
    previous: tuple[str, tuple] | None = None
    newest: str | None = None
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        version = entry.get("version")
        if not isinstance(version, str) or not SEMVER.match(version):
            problems.append(pkg.problem(rel, (i, "version"), "CHG002", f"changelog version {version!r} is not semver"))
        else:
            key = semver_key(version)
            newest = newest or version
            if previous is not None and key >= previous[1]:
                problems.append(pkg.problem(
                    rel, (i, "version"), "CHG003",
                    f"version {version} must be lower than the entry above it ({previous[0]}): "
                    "newest first, no repeats"))
            previous = (version, key)
        changes = entry.get("changes")
        for j, change in enumerate(changes if isinstance(changes, list) else []):
            if not isinstance(change, dict):
                continue
            link = change.get("link")
            if not isinstance(link, str) or not link.strip():
                problems.append(pkg.problem(rel, (i, "changes", j), "CHG004",
                                            f"change {j + 1} of version {version} has no link"))
            elif urlparse(link).hostname == "github.com" and not GITHUB_PR.match(link):
                problems.append(pkg.problem(rel, (i, "changes", j, "link"), "CHG004",
                                            f"GitHub link {link!r} must point to a pull request (/pull/<n>)"))
    version = pkg.manifest.get("version")
    first = entries[0].get("version") if entries and isinstance(entries[0], dict) else None
    if isinstance(version, str) and first is not None and version != first:
        problems.append(pkg.problem("manifest.yml", ("version",), "CHG001",
                                    f"manifest version {version} differs from the newest changelog entry {first}"))
    return problems


# -- manifest references --------------------------------------------------------------------------------


def _manifest_refs(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    manifest = pkg.manifest
    problems: list[Problem] = []
    images: list[tuple[tuple, Any]] = []
    for key in ("icons", "screenshots"):
        for i, item in enumerate(items(manifest.get(key))):
            images.append(((key, i, "src"), item))
    for t, template in enumerate(items(manifest.get("policy_templates"))):
        if not isinstance(template, dict):
            continue
        for key in ("icons", "screenshots"):
            for i, item in enumerate(items(template.get(key))):
                images.append((("policy_templates", t, key, i, "src"), item))
        for d, ds in enumerate(items(template.get("data_streams"))):
            if isinstance(ds, str) and ds not in pkg.data_streams:
                problems.append(pkg.problem("manifest.yml", ("policy_templates", t, "data_streams", d), "MAN002",
                                            f"data stream {ds!r} does not exist (no data_stream/{ds}/)"))
    for path, item in images:
        src = item.get("src") if isinstance(item, dict) else None
        if isinstance(src, str) and not pkg.path(src.lstrip("/")).is_file():
            problems.append(pkg.problem("manifest.yml", path, "MAN001", f"file {src!r} does not exist"))
    return problems


# -- variables ------------------------------------------------------------------------------------------


def _var_lists(ctx: LintContext) -> Iterator[tuple[str, tuple, list]]:
    """(file, YAML path, list) of every `vars` list in the package."""
    manifest = ctx.pkg.manifest
    if isinstance(manifest.get("vars"), list):
        yield "manifest.yml", ("vars",), manifest["vars"]
    for t, template in enumerate(items(manifest.get("policy_templates"))):
        if not isinstance(template, dict):
            continue
        if isinstance(template.get("vars"), list):
            yield "manifest.yml", ("policy_templates", t, "vars"), template["vars"]
        for i, inp in enumerate(items(template.get("inputs"))):
            if isinstance(inp, dict) and isinstance(inp.get("vars"), list):
                yield "manifest.yml", ("policy_templates", t, "inputs", i, "vars"), inp["vars"]
    for ds in ctx.pkg.data_streams:
        rel = f"data_stream/{ds}/manifest.yml"
        for s, stream in enumerate(items(ctx.pkg.ds_manifest(ds).get("streams"))):
            if isinstance(stream, dict) and isinstance(stream.get("vars"), list):
                yield rel, ("streams", s, "vars"), stream["vars"]


def password_like(var: dict) -> bool:
    """Variables that hold credentials: type password, or a secret-sounding name (not *_file / *_url)."""
    name = str(var.get("name", ""))
    if var.get("type") == "password":
        return True
    if name.endswith(("_file", "_url")):
        return False
    return any(word in name for word in SECRET_WORDS)


def _duration_ms(value: str) -> int:
    return sum(int(n) * _UNIT_MS[u] for n, u in _DURATION_PART.findall(value))


def _default_problem(var: dict, value: Any) -> str | None:
    vtype = var.get("type")
    shown = repr(value)
    if vtype in ("text", "password", "textarea", "time_zone", "yaml"):
        return None if isinstance(value, str) else f"default {shown} of {vtype} variable must be a string"
    if vtype == "bool":
        return None if isinstance(value, bool) else f"default {shown} of bool variable must be true or false"
    if vtype == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"default {shown} of integer variable must be an integer"
    if vtype == "duration":
        ok = isinstance(value, str) and DURATION.match(value)
        return None if ok else f"default {shown} of duration variable must look like 30s, 5m, 1h30m"
    if vtype == "email":
        ok = isinstance(value, str) and re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value)
        return None if ok else f"default {shown} of email variable is not an e-mail address"
    if vtype == "url":
        parsed = urlparse(value) if isinstance(value, str) else None
        if not parsed or not parsed.scheme or not (parsed.netloc or parsed.scheme == "file"):
            return f"default {shown} of url variable is not an absolute URL"
        allowed = [str(s) for s in items(var.get("url_allowed_schemes"))]
        if allowed and parsed.scheme not in allowed:
            return f"default {shown} uses scheme {parsed.scheme!r}, allowed: {', '.join(allowed)}"
        return None
    if vtype == "select":
        return None if isinstance(value, (str, int, float)) else f"default {shown} of select variable must be a value"
    return None


def _vars(ctx: LintContext, rel: str, path: tuple, var_list: list) -> list[Problem]:
    pkg = ctx.pkg
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, var in enumerate(var_list):
        if not isinstance(var, dict):
            continue
        vpath = path + (i,)
        name = var.get("name") if isinstance(var.get("name"), str) else None
        if name is not None and name in seen:
            problems.append(pkg.problem(rel, vpath + ("name",), "VAR006", f"variable {name!r} is declared twice"))
        seen.add(name)
        if var.get("secret") is True and not password_like(var):
            problems.append(pkg.problem(rel, vpath + ("secret",), "VAR001",
                                        f"variable {name!r} is not password-like (type password or a name with "
                                        f"{'/'.join(SECRET_WORDS)}) but has secret: true"))
        if password_like(var) and "secret" not in var:
            problems.append(pkg.problem(rel, vpath, "VAR002",
                                        f"variable {name!r} holds a credential: declare `secret: true`"))
        if "default" not in var or var["default"] is None:
            continue
        default = var["default"]
        dpath = vpath + ("default",)
        if var.get("multi") is True:
            if not isinstance(default, list):
                problems.append(pkg.problem(rel, dpath, "VAR003", f"default of multi variable {name!r} must be a list"))
                continue
            values = default
        else:
            if isinstance(default, list) and var.get("type") != "yaml":
                problems.append(pkg.problem(rel, dpath, "VAR003",
                                            f"default of {name!r} is a list but the variable is not multi"))
                continue
            values = [default]
        for value in values:
            message = _default_problem(var, value)
            if message:
                problems.append(pkg.problem(rel, dpath, "VAR003", f"{name}: {message}"))
                continue
            if var.get("type") == "select":
                options = [o.get("value") for o in items(var.get("options")) if isinstance(o, dict)]
                if value not in options:
                    problems.append(pkg.problem(rel, dpath, "VAR004",
                                                f"default {value!r} of {name!r} is not among its options {options}"))
            if var.get("type") == "duration" and isinstance(value, str):
                low, high = var.get("min_duration"), var.get("max_duration")
                ms = _duration_ms(value)
                if isinstance(low, str) and DURATION.match(low) and ms < _duration_ms(low) or \
                        isinstance(high, str) and DURATION.match(high) and ms > _duration_ms(high):
                    problems.append(pkg.problem(rel, dpath, "VAR005",
                                                f"default {value} of {name!r} is outside [{low}, {high}]"))
    return problems


# -- inputs ---------------------------------------------------------------------------------------------


def _inputs(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    problems: list[Problem] = []
    streams_by_ds: dict[str, set[str]] = {}
    for ds in pkg.data_streams:
        streams = items(pkg.ds_manifest(ds).get("streams"))
        streams_by_ds[ds] = {s["input"] for s in streams if isinstance(s, dict) and isinstance(s.get("input"), str)}
    templates = [t for t in items(pkg.manifest.get("policy_templates")) if isinstance(t, dict)]
    for t, template in enumerate(items(pkg.manifest.get("policy_templates"))):
        if not isinstance(template, dict):
            continue
        data_streams = [d for d in template_data_streams(template, pkg) if d in streams_by_ds]
        used = set().union(*(streams_by_ds[d] for d in data_streams)) if data_streams else set()
        for i, inp in enumerate(items(template.get("inputs"))):
            if isinstance(inp, dict) and isinstance(inp.get("type"), str) and inp["type"] not in used:
                problems.append(pkg.problem(
                    "manifest.yml", ("policy_templates", t, "inputs", i, "type"), "POL001",
                    f"input {inp['type']!r} of policy template {template.get('name')!r} is not used by any stream of "
                    f"its data streams ({', '.join(data_streams) or 'none'})"))
    for ds in streams_by_ds:
        offered = set()
        for template in templates:
            if ds in template_data_streams(template, pkg):
                offered |= {i["type"] for i in items(template.get("inputs"))
                            if isinstance(i, dict) and isinstance(i.get("type"), str)}
        rel = f"data_stream/{ds}/manifest.yml"
        for s, stream in enumerate(items(pkg.ds_manifest(ds).get("streams"))):
            if isinstance(stream, dict) and isinstance(stream.get("input"), str) and stream["input"] not in offered:
                problems.append(pkg.problem(
                    rel, ("streams", s, "input"), "POL001",
                    f"stream input {stream['input']!r} is not an input of any policy template that includes {ds!r}"))
    return problems
