"""Build a package: copy the package part, resolve ECS fields, render docs, zip, validate the result."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from intpkg.builder.docs import DocsError, render_package_docs
from intpkg.errors import IntpkgError
from intpkg.fields import EcsReference, FieldSet, load_ecs, load_fields, uses_external_fields
from intpkg.packagespec.package import OUTSIDE
from intpkg.packagespec.structure import PACKAGE, unsafe_entries
from intpkg.yamlpos import ParseError, load_file

#: Kibana attributes that Kibana stores as JSON strings
EMBEDDED_JSON = ("panelsJSON", "optionsJSON", "visState", "uiStateJSON", "mapStateJSON", "layerListJSON",
                 "searchSourceJSON", "fieldFormatMap", "fields", "controlGroupInput")
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


def _reserialise_kibana(path: Path) -> None:
    obj = json.loads(path.read_text(encoding="utf-8"))
    attributes = obj.get("attributes") if isinstance(obj, dict) else None
    changed = False
    for key in EMBEDDED_JSON:
        if isinstance(attributes, dict) and isinstance(attributes.get(key), (dict, list)):
            attributes[key] = json.dumps(attributes[key], separators=(",", ":"), sort_keys=True)
            changed = True
    meta = (attributes or {}).get("kibanaSavedObjectMeta")
    if isinstance(meta, dict) and isinstance(meta.get("searchSourceJSON"), (dict, list)):
        meta["searchSourceJSON"] = json.dumps(meta["searchSourceJSON"], separators=(",", ":"), sort_keys=True)
        changed = True
    if changed:
        path.write_text(json.dumps(obj, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")


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

    `build_dir` defaults to `<package_dir>/build`. Rendered docs are also written back to the source `docs/`
    (like elastic-package) unless `update_source_docs` is False. Raises IntpkgError on any problem.
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
    result = BuildResult(folder=folder, zip_path=None, name=name, version=version)
    for doc_name, text in rendered.items():
        source = package_dir / "docs" / doc_name
        if update_source_docs and (not source.is_file() or source.read_text(encoding="utf-8") != text):
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_text(text, encoding="utf-8")
            result.docs_updated.append(f"docs/{doc_name}")
    result.files = copy_package_part(package_dir, folder)
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

