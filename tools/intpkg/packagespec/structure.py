"""Folder structure of an integration package: required entries, allowed names, nothing unknown."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from intpkg.packagespec.package import OUTSIDE, Package
from intpkg.packagespec.problems import Problem

DS_NAME = r"(?!integration$)([a-z0-9]{2}|[a-z0-9][a-z0-9_]+[a-z0-9])"
KIBANA_PREFIXED = ("dashboard", "visualization", "search", "map", "lens", "tag", "ml_module", "osquery_pack_asset",
                   "osquery_saved_query")
KIBANA_OTHER = ("index_pattern", "security_rule", "csp_rule_template", "alerting_rule_template", "slo_template")
ANY = None  # a folder whose contents are not checked


@dataclass
class Entry:
    """A file or folder allowed at one level: `pattern` is a full-match regex (or plain name)."""

    pattern: str
    folder: bool = False
    required: bool = False
    children: list[Entry] | None = field(default=None)
    private: bool = False  # `_dev`: source only

    def matches(self, name: str, pkg_name: str) -> bool:
        return re.fullmatch(self.pattern.replace("{PACKAGE_NAME}", re.escape(pkg_name)), name) is not None


def F(pattern: str, required: bool = False) -> Entry:  # noqa: N802 - reads like the spec
    return Entry(pattern, required=required)


def D(pattern: str, children: list[Entry] | None = ANY, required: bool = False, private: bool = False) -> Entry:  # noqa: N802
    return Entry(pattern, folder=True, required=required, children=children, private=private)


PIPELINE_TEST = [
    F(r"test-[a-z0-9-]+\.(json|log)"),
    F(r"test-[a-z0-9-]+\.(json|log)-expected\.json"),
    F(r"test-[a-z0-9-]+\.(json|log)-config\.yml"),
    F(r"test-common-config\.yml"),
]
DEPLOY = [
    D("docker", [F("docker-compose.yml", required=True), D("files"), F(r"[^/]+\.(json|yml|yaml|txt|sh|env)")]),
    D("tf"), D("k8s"), D("agent"), F("variants.yml"),
]
DEV_DS = [
    D("test", [
        D("pipeline", PIPELINE_TEST),
        D("system", [F(r"test-[a-z0-9_-]+-config\.yml")]),
        D("static", [F(r"test-[a-z0-9_-]+-config\.yml")]),
        D("policy"),
    ]),
    D("deploy", DEPLOY),
    D("benchmark"),
]
DATA_STREAM = [
    F("manifest.yml", required=True),
    D("fields", [F(r"[a-z0-9][a-z0-9_-]+[a-z0-9]\.yml")], required=True),
    D("agent", [D("stream", [F(r"[a-z0-9_.-]+\.yml\.hbs")], required=True)]),
    D("elasticsearch", [
        D("ingest_pipeline", [F(r"[a-z0-9_.-]+\.(yml|json)")]),
        D("ilm", [F(r"[a-z0-9_.-]+\.(yml|json)")]),
    ]),
    F(r"sample_event(_[a-z0-9]+)?\.json"),
    F("routing_rules.yml"),
    F("lifecycle.yml"),
    D("_dev", DEV_DS, private=True),
]
KIBANA = [D(t, [F(r"{PACKAGE_NAME}-.+\.json")]) for t in KIBANA_PREFIXED] + \
    [D(t, [F(r"[^/]+\.json")]) for t in KIBANA_OTHER] + [F("tags.yml")]
PACKAGE = [
    F("manifest.yml", required=True),
    F("changelog.yml", required=True),
    D("docs", [F(r"[A-Za-z0-9_-]+\.md"), D("knowledge_base")], required=True),
    D("img", [F(r"[A-Za-z0-9_.-]+\.(svg|png|jpg|jpeg)")]),
    D("kibana", KIBANA),
    D("elasticsearch", [D("ingest_pipeline", [F(r"[a-z0-9_.-]+\.(yml|json)")]), D("transform")]),
    D("data_stream", [D(DS_NAME, DATA_STREAM)]),
    D("_dev", [
        D("build", [F("build.yml"), D("docs", [F(r"[A-Za-z0-9_-]+\.md")])]),
        D("deploy", DEPLOY),
        D("test", [F("config.yml")]),
        D("benchmark"),
        F("shared"),
        # intpkg: Sigma detection rules, the source of kibana/security_rule/ (see _dev/detection/README.md)
        D("detection", [F("README.md"), F("pipeline.yml"), F("attack.yml"),
                        D("rules", [F(r"[a-z0-9][a-z0-9-]*[a-z0-9]\.yml")]),
                        D("tests", [F(r"[a-z0-9][a-z0-9-]*[a-z0-9]\.yml")])]),
    ], private=True),
    F("LICENSE.txt"), F("NOTICE.txt"), F("validation.yml"),
]


def unsafe_entries(root: Path) -> list[tuple[str, str]]:
    """(path, reason) of every entry of the package part that a build must not copy: symbolic links
    that lead out of the package (or nowhere) and anything that is not a regular file or folder
    (a FIFO would block the reader). The repository's own files beside the package are skipped."""
    root = Path(root)
    real_root = root.resolve()
    found: list[tuple[str, str]] = []
    for top in sorted(root.iterdir()):
        if top.name.startswith(".") or top.name in OUTSIDE:
            continue
        stack = [top]
        while stack:
            path = stack.pop()
            rel = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                target = Path(os.path.realpath(path))
                if not target.exists():
                    found.append((rel, f"symbolic link to {os.readlink(path)}, which does not exist"))
                elif not target.is_relative_to(real_root):
                    found.append((rel, f"symbolic link to {target}, outside the package"))
                continue
            if stat.S_ISDIR(mode):
                stack.extend(sorted(path.iterdir(), reverse=True))
            elif not stat.S_ISREG(mode):
                found.append((rel, "not a regular file (a FIFO, socket or device)"))
    return found


def check_structure(pkg: Package) -> list[Problem]:
    """Problems of the folder layout (the repository's own files outside the package are skipped)."""
    problems: list[Problem] = []
    for rel, reason in unsafe_entries(pkg.root):
        problems.append(Problem(rel, 1, 1, "PKG006", f"{rel} is a {reason}; a build refuses it"))
    _walk(pkg, pkg.root, "", PACKAGE, problems, top=True)
    if pkg.exists("_dev/build/docs") and not pkg.exists("_dev/build/docs/README.md"):
        problems.append(Problem("_dev/build/docs", 1, 1, "PKG002", "_dev/build/docs/ needs a README.md"))
    if pkg.exists("docs") and not pkg.exists("docs/README.md"):
        problems.append(Problem("docs/README.md", 1, 1, "PKG002", "required file docs/README.md is missing"))
    for ds in pkg.data_streams:
        if not pkg.files(f"data_stream/{ds}/fields", "*.yml"):
            problems.append(Problem(f"data_stream/{ds}/fields", 1, 1, "PKG002",
                                    f"data stream {ds!r} needs at least one fields/*.yml file"))
        for rel in pkg.pipelines(ds):
            if rel.endswith(".yml") and not pkg.path(rel).read_bytes().startswith(b"---"):
                problems.append(Problem(rel, 1, 1, "PKG004", "ingest pipeline YAML must start with '---'"))
    return problems


def _walk(pkg: Package, folder: Path, rel: str, spec: list[Entry], problems: list[Problem],
          top: bool = False) -> None:
    names = sorted(p.name for p in folder.iterdir())
    seen: set[int] = set()
    for name in names:
        path = folder / name
        child_rel = f"{rel}{name}"
        if top and (name.startswith(".") or name in OUTSIDE):
            continue
        if name.startswith(".") or name.endswith((".swp", "~")):
            continue  # hidden and editor files are never built, so they are not the package's content
        match = next((i for i, e in enumerate(spec) if e.folder == path.is_dir() and e.matches(name, pkg.name)), None)
        if match is None:
            kind = "folder" if path.is_dir() else "file"
            near = [e for e in spec if e.folder == path.is_dir()]
            hint = "; allowed: " + ", ".join(_readable(e.pattern) for e in near) if near else ""
            code = "PKG003" if any(_similar(e, name) for e in near) else "PKG001"
            problems.append(Problem(child_rel + ("/" if path.is_dir() else ""), 1, 1, code,
                                    f"{kind} {name!r} is not allowed here{hint}"))
            continue
        seen.add(match)
        entry = spec[match]
        if entry.private and pkg.mode == "build":
            problems.append(Problem(child_rel + "/", 1, 1, "PKG005", "`_dev` folders must not be in a built package"))
            continue
        if entry.folder and entry.children is not ANY:
            _walk(pkg, path, child_rel + "/", entry.children, problems)
    for i, entry in enumerate(spec):
        if entry.required and i not in seen:
            kind = "folder" if entry.folder else "file"
            problems.append(Problem(f"{rel}{_readable(entry.pattern)}", 1, 1, "PKG002",
                                    f"required {kind} {_readable(entry.pattern)!r} is missing in {rel or './'}"))


def _readable(pattern: str) -> str:
    return pattern.replace("\\.", ".")


def _similar(entry: Entry, name: str) -> bool:
    """A name that breaks an allowed naming pattern (same extension) rather than an unknown file."""
    if not any(c in entry.pattern for c in "[(*+"):
        return False  # a fixed name: anything else is unknown, not misnamed
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    return bool(suffix) and (entry.pattern.endswith(suffix) or f"({suffix}|" in entry.pattern
                             or f"|{suffix})" in entry.pattern or f"\\.{suffix}" in entry.pattern)
