"""Lint a package: structure, schemas and semantic rules, all problems in one pass."""

from __future__ import annotations

from pathlib import Path

from intpkg.errors import IntpkgError
from intpkg.fields import EcsReference
from intpkg.packagespec.package import Package
from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules import (
    dashboards,
    detection,
    docs,
    extensions,
    fields,
    kibana,
    manifest,
    pipelines,
    schemas,
    templates,
    tests,
)
from intpkg.packagespec.rules.context import LintContext, try_load_ecs
from intpkg.packagespec.structure import check_structure

RULE_MODULES = (schemas, manifest, fields, pipelines, templates, extensions, kibana, dashboards, detection, tests, docs)


def lint_package(package_dir: Path, *, ecs: EcsReference | None = None, ecs_dir: Path | None = None,
                 mode: str = "source") -> list[Problem]:
    """Every problem of the package at `package_dir`, sorted by file and line.

    The ECS reference is `ecs`, else loaded from `ecs_dir`/INTPKG_ECS_DIR/the package's ECS version; it is only
    required (FLD006)
    when some field is `external: ecs`.
    """
    root = Path(package_dir)
    if not (root / "manifest.yml").is_file():
        raise IntpkgError(f"{root.resolve()} is not a package: it has no manifest.yml")
    pkg = Package(root, mode=mode)
    ecs_error = None
    if ecs is None:
        ecs, ecs_error = try_load_ecs(ecs_dir, root if mode == "source" else None)
    ctx = LintContext(pkg=pkg, ecs=ecs, ecs_error=ecs_error)
    problems = check_structure(pkg)
    for module in RULE_MODULES:
        try:
            problems.extend(module.check(ctx))
        except Exception as exc:  # noqa: BLE001 - a rule must never end lint with a traceback
            area = module.__name__.rsplit(".", 1)[-1]
            problems.append(Problem("manifest.yml", 1, 1, "LNT001",
                                    f"the {area} rules stopped on data of an unexpected shape "
                                    f"({type(exc).__name__}: {exc}); fix the other problems and lint again"))
    problems.extend(pkg.problems)
    return sorted(set(problems))
