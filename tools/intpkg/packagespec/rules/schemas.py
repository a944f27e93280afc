"""Every file kind of the package against its JSON Schema."""

from __future__ import annotations

import fnmatch

from intpkg.packagespec import schema
from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules.context import LintContext

#: glob of package-relative paths -> schema name (first match wins)
FILE_KINDS = [
    ("manifest.yml", "manifest"),
    ("changelog.yml", "changelog"),
    ("_dev/build/build.yml", "build"),
    ("_dev/deploy/docker/docker-compose.yml", "docker_compose"),
    ("_dev/detection/tests/*.yml", "detection_test"),
    ("_dev/detection/attack.yml", "detection_attack"),
    ("data_stream/*/manifest.yml", "data_stream_manifest"),
    ("data_stream/*/fields/*.yml", "fields"),
    ("data_stream/*/elasticsearch/ingest_pipeline/*", "ingest_pipeline"),
    ("data_stream/*/_dev/test/pipeline/*-config.yml", "pipeline_test_config"),
    ("data_stream/*/_dev/test/pipeline/test-*.json", "pipeline_test_events"),
    ("data_stream/*/_dev/test/system/*.yml", "system_test_config"),
    ("data_stream/*/_dev/deploy/docker/docker-compose.yml", "docker_compose"),
    ("data_stream/*/sample_event*.json", "sample_event"),
    ("kibana/dashboard/*.json", "kibana_dashboard"),
    ("kibana/search/*.json", "kibana_search"),
    ("kibana/*/*.json", "kibana_object"),
]


def glob_match(rel: str, pattern: str) -> bool:
    """Segment-wise glob match (`*` never crosses a `/`)."""
    parts, globs = rel.split("/"), pattern.split("/")
    return len(parts) == len(globs) and all(fnmatch.fnmatchcase(p, g) for p, g in zip(parts, globs, strict=True))


def schema_for(rel: str) -> str | None:
    return next((name for pattern, name in FILE_KINDS if glob_match(rel, pattern)), None)


def check(ctx: LintContext) -> list[Problem]:
    problems: list[Problem] = []
    pkg = ctx.pkg
    candidates = ["manifest.yml", "changelog.yml", *pkg.files("_dev", "**/*"), *pkg.files("data_stream", "**/*"),
                  *pkg.files("kibana", "**/*")]
    for rel in candidates:
        name = schema_for(rel)
        if name is None or not rel.endswith((".yml", ".yaml", ".json")):
            continue
        loaded = pkg.load(rel)
        if loaded is not None:
            problems.extend(schema.check(name, loaded, rel))
    return problems
