"""Build a package: copy the package part, resolve ECS fields, render docs, zip, validate the result."""

from __future__ import annotations

import contextlib
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from intpkg.builder.docs import DocsError, render_package_docs
from intpkg.errors import IntpkgError
from intpkg.fields import EcsReference, FieldSet, load_ecs, load_fields, uses_external_fields
from intpkg.packagespec.package import OUTSIDE
from intpkg.packagespec.structure import PACKAGE, unsafe_entries
from intpkg.yamlpos import ParseError, load_file

#: Saved-object values that Kibana stores as JSON strings, kept decoded in the repository and encoded by the
#: build exactly as elastic-package's builder does (`fieldsToEncode` in internal/builder/dashboards.go): these
#: paths of the object, and of each dashboard panel's `embeddableConfig`, panelsJSON last
EMBEDDED_JSON = (
    "attributes.controlGroupInput.ignoreParentSettingsJSON",
    "attributes.controlGroupInput.panelsJSON",
    "attributes.kibanaSavedObjectMeta.searchSourceJSON",
    "attributes.layerListJSON",
    "attributes.mapStateJSON",
    "attributes.optionsJSON",
    "attributes.uiStateJSON",
    "attributes.visState",
    "attributes.panelsJSON",
)
PANELS = "attributes.panelsJSON"
SKIP_NAMES = {".DS_Store", "_dev", "build", ".git"}
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


@dataclass
class BuildResult:
    folder: Path
    zip_path: Path | None
    name: str
    version: str
    files: list[str] = field(default_factory=list)
    docs_updated: list[str] = field(default_factory=list)
    rules_updated: list[str] = field(default_factory=list)


def _manifest(package_dir: Path) -> dict:
    try:
        data = load_file(package_dir / "manifest.yml").data
    except (ParseError, FileNotFoundError) as exc:
        raise IntpkgError(f"cannot read {package_dir / 'manifest.yml'}: {exc}") from None
    if not isinstance(data, dict) or not data.get("name") or not data.get("version"):
        raise IntpkgError(f"{package_dir / 'manifest.yml'}: needs `name` and `version`")
    return data


def _top_level_allowed(name: str) -> bool:
    return any(e.matches(name, "") and not e.private for e in PACKAGE) and name not in OUTSIDE


def copy_package_part(package_dir: Path, target: Path) -> list[str]:
    """Copy the package part (no `_dev`, no repository files, no dot-files, no empty folders)."""
    copied = []
    for top in sorted(package_dir.iterdir()):
        if top.name.startswith(".") or top.name in SKIP_NAMES or not _top_level_allowed(top.name):
            continue
        sources = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for src in sources:
            rel = src.relative_to(package_dir)
            if any(part in SKIP_NAMES or part.startswith(".") or part.endswith((".swp", "~")) for part in rel.parts):
                continue
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
            copied.append(rel.as_posix())
    return copied


def resolve_fields_file(path: Path, ecs: EcsReference) -> None:
    """Rewrite one fields file of the build with every `external: ecs` entry replaced by its ECS definition."""
    data = load_file(path).data

    def resolve(items: list, prefix: str) -> list:
        out = []
        for item in items:
            if not isinstance(item, dict):
                continue
            name = f"{prefix}.{item['name']}" if prefix else item["name"]
            if item.get("external") == "ecs":
                if name not in ecs:
                    raise IntpkgError(f"{path}: field {name!r} is `external: ecs` but ECS ({ecs.path}) "
                                      "has no such field")
                resolved = ecs.definition(name)
                resolved.update({k: v for k, v in item.items() if k not in ("external", "name")})
                resolved["name"] = item["name"]
                item = resolved
            if isinstance(item.get("fields"), list):
                item = {**item, "fields": resolve(item["fields"], name)}
            out.append(item)
        return out

    resolved = resolve(data if isinstance(data, list) else [], "")
    path.write_text(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True, width=10_000), encoding="utf-8")


def _go_string(text: str) -> str:
    """A JSON string as Go's encoding/json writes it: UTF-8 kept, <, >, & and U+2028/U+2029 escaped."""
    out = json.dumps(text, ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        out = out.replace(char, escape)
    return out


def _go_number(value: float) -> str:
    """A JSON number as Go writes a float64 (what it decodes every JSON number to): shortest round-trip
    digits, exponent form (`1e-7`, `1e+21`) below 1e-6 and from 1e21 on."""
    if value != value or value in (float("inf"), float("-inf")):
        raise IntpkgError(f"{value} is not a JSON number")
    magnitude = abs(value)
    if magnitude and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = repr(value).partition("e")  # Python writes 1e-07 and 1e+21; Go 1e-7 and 1e+21
        return f"{mantissa.removesuffix('.0')}e{exponent[0]}{int(exponent[1:])}"
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def go_json(value: Any, indent: str | None = None, _level: int = 0) -> str:
    """`value` as Go's json.Marshal (indent None) or json.MarshalIndent(v, "", indent) writes it: keys
    sorted, no spaces, HTML characters escaped, numbers as float64."""
    if isinstance(value, dict):
        entries = [(str(k), v) for k, v in value.items()]
        entries.sort(key=lambda kv: kv[0].encode("utf-8", "surrogatepass"))
        parts = [f"{_go_string(k)}:{' ' if indent is not None else ''}{go_json(v, indent, _level + 1)}"
                 for k, v in entries]
        return _go_join("{", parts, "}", indent, _level)
    if isinstance(value, (list, tuple)):
        return _go_join("[", [go_json(v, indent, _level + 1) for v in value], "]", indent, _level)
    if isinstance(value, str):
        return _go_string(value)
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value) if abs(value) < 2 ** 53 else _go_number(float(value))
    if isinstance(value, float):
        return _go_number(value)
    raise IntpkgError(f"cannot encode a {type(value).__name__} as JSON")


def _go_join(opening: str, parts: list[str], closing: str, indent: str | None, level: int) -> str:
    if not parts:
        return opening + closing
    if indent is None:
        return opening + ",".join(parts) + closing
    inner, outer = "\n" + indent * (level + 1), "\n" + indent * level
    return opening + inner + ("," + inner).join(parts) + outer + closing


def _at(obj: Any, dotted: str) -> tuple[dict | None, str]:
    """The mapping that holds the last key of `dotted` (None when a step is missing) and that key."""
    *steps, last = dotted.split(".")
    for step in steps:
        obj = obj.get(step) if isinstance(obj, dict) else None
    return (obj if isinstance(obj, dict) and last in obj else None), last


def encode_saved_object(obj: dict, where: str = "saved object") -> bool:
    """Encode the EMBEDDED_JSON values of `obj` in place (those of each panel's embeddableConfig first), as
    elastic-package does; values already strings stay. True when something changed."""
    changed = False
    holder, key = _at(obj, PANELS)
    if holder is not None and not isinstance(holder[key], str):
        if not isinstance(holder[key], list):
            raise IntpkgError(f"{where}: {PANELS} is not a list of panels")
        for i, panel in enumerate(holder[key]):
            if not isinstance(panel, dict):
                raise IntpkgError(f"{where}: {PANELS}[{i}] is not a panel (an object)")
            config = panel.get("embeddableConfig")
            if config is None:
                continue
            if not isinstance(config, dict):
                raise IntpkgError(f"{where}: {PANELS}[{i}].embeddableConfig is not an object")
            changed |= encode_saved_object(config, f"{where}: {PANELS}[{i}].embeddableConfig")
    for dotted in EMBEDDED_JSON:
        holder, key = _at(obj, dotted)
        if holder is not None and not isinstance(holder[key], str):
            holder[key] = go_json(holder[key])
            changed = True
    return changed


def decode_saved_object(obj: dict) -> dict:
    """A copy of `obj` with its EMBEDDED_JSON values (and those of each panel's embeddableConfig) as data: the
    repository's form, whichever form `obj` is in. Values that are not JSON stay strings."""
    out = json.loads(json.dumps(obj))

    def decode(node: dict) -> None:
        for dotted in EMBEDDED_JSON:
            holder, key = _at(node, dotted)
            if holder is not None and isinstance(holder[key], str):
                with contextlib.suppress(ValueError):
                    holder[key] = json.loads(holder[key])
        holder, key = _at(node, PANELS)
        for panel in holder[key] if holder is not None and isinstance(holder[key], list) else []:
            if isinstance(panel, dict) and isinstance(panel.get("embeddableConfig"), dict):
                decode(panel["embeddableConfig"])

    decode(out)
    return out


def _reserialise_kibana(path: Path) -> None:
    """Encode one saved object of the build; rewritten (as Go's MarshalIndent) only when something changed."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise IntpkgError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(obj, dict) and encode_saved_object(obj, str(path)):
        path.write_text(go_json(obj, indent="  "), encoding="utf-8")


def render_docs(package_dir: Path, ecs: EcsReference | None) -> dict[str, str]:
    """Render `_dev/build/docs/*.md`; raise IntpkgError naming the template line on a bad directive."""
    cache: dict[str, FieldSet] = {}

    def fieldset_for(ds: str) -> FieldSet:
        if ds not in cache:
            cache[ds] = load_fields(package_dir, ds, ecs)
        return cache[ds]

    try:
        return render_package_docs(package_dir, fieldset_for)
    except DocsError as exc:
        template = package_dir / "_dev/build/docs/README.md"
        raise IntpkgError(f"{template}:{exc.line}:{exc.column}: {exc.message}") from None


def security_rules(package_dir: Path) -> dict[str, str] | None:
    """`kibana/security_rule/<rule_id>.json` -> text, converted from the Sigma rules of `_dev/detection/rules`;
    None for a package without them (its security rules, if any, are its own)."""
    from intpkg.detection.authoring import generate, has_detection  # late import: pySigma loads only when used

    return generate(package_dir) if has_detection(package_dir) else None


def write_security_rules(package_dir: Path, rules: dict[str, str]) -> list[str]:
    """Write the generated rules into `package_dir` (and remove rule files no Sigma rule generates any more);
    the paths written or removed."""
    changed = []
    folder = package_dir / "kibana" / "security_rule"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        rel = path.relative_to(package_dir).as_posix()
        if rel not in rules:
            path.unlink()
            changed.append(rel)
    for rel, text in rules.items():
        target = package_dir / rel
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            changed.append(rel)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    return sorted(changed)


def write_zip(folder: Path, zip_path: Path, root_name: str) -> None:
    """Zip `folder` as `<root_name>/...`, entries sorted with fixed timestamps (reproducible)."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{root_name}/{path.relative_to(folder).as_posix()}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    tmp.replace(zip_path)


def build_package(package_dir: Path, build_dir: Path | None = None, *, ecs: EcsReference | None = None,
                  ecs_dir: Path | None = None, make_zip: bool = True, update_source_docs: bool = True,
                  validate: bool = True) -> BuildResult:
    """Build the package at `package_dir` into `<build_dir>/packages/<name>/<version>/` (+ `<name>-<version>.zip`).

    `build_dir` defaults to `<package_dir>/build`. Rendered docs, and the Kibana security rules converted from the
    Sigma rules of `_dev/detection`, are also written back to the source (`docs/`, `kibana/security_rule/`; like
    elastic-package's docs) unless `update_source_docs` is False. Raises IntpkgError on any problem.
    """
    package_dir = Path(package_dir).resolve()
    unsafe = unsafe_entries(package_dir)  # before anything is read: a FIFO would block, a link would leak
    if unsafe:
        raise IntpkgError("The package holds entries a build refuses:\n" +
                          "\n".join(f"  {rel}: {reason}" for rel, reason in unsafe))
    manifest = _manifest(package_dir)
    name, version = str(manifest["name"]), str(manifest["version"])
    build_dir = Path(build_dir).resolve() if build_dir else package_dir / "build"
    if ecs is None and uses_external_fields(package_dir):
        ecs = load_ecs(ecs_dir, package_dir=package_dir)
    folder = build_dir / "packages" / name / version
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rendered = render_docs(package_dir, ecs)
    rules = security_rules(package_dir)
    result = BuildResult(folder=folder, zip_path=None, name=name, version=version)
    if update_source_docs and rules is not None:
        result.rules_updated = write_security_rules(package_dir, rules)
    for doc_name, text in rendered.items():
        source = package_dir / "docs" / doc_name
        if update_source_docs and (not source.is_file() or source.read_text(encoding="utf-8") != text):
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_text(text, encoding="utf-8")
            result.docs_updated.append(f"docs/{doc_name}")
    result.files = copy_package_part(package_dir, folder)
    if rules is not None:  # the built rules are the Sigma rules', whatever the source holds
        stale = [f for f in result.files if f.startswith("kibana/security_rule/")]
        write_security_rules(folder, rules)
        result.files = [f for f in result.files if f not in stale] + sorted(rules)
    for doc_name, text in rendered.items():
        (folder / "docs").mkdir(exist_ok=True)
        (folder / "docs" / doc_name).write_text(text, encoding="utf-8")
        if f"docs/{doc_name}" not in result.files:
            result.files.append(f"docs/{doc_name}")
    for path in folder.glob("data_stream/*/fields/*.yml"):
        if ecs is not None:
            resolve_fields_file(path, ecs)
    for path in folder.glob("kibana/*/*.json"):
        _reserialise_kibana(path)
    if validate:
        from intpkg.packagespec import errors, lint_package  # late import: spec imports build.docs

        problems = errors(lint_package(folder, ecs=ecs, mode="build"))
        if problems:
            listing = "\n".join(f"  {p}" for p in problems[:50])
            raise IntpkgError(f"the built package in {folder} is not valid:\n{listing}")
    if make_zip:
        result.zip_path = build_dir / "packages" / f"{name}-{version}.zip"
        write_zip(folder, result.zip_path, f"{name}-{version}")
    result.files.sort()
    return result

