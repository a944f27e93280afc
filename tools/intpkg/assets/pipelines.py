"""A data stream's ingest pipelines: load them and name them as Fleet installs them.

Fleet installs the entry pipeline (`default.yml`) as `<type>-<dataset>-<version>` and every other
file as `<type>-<dataset>-<version>-<file stem>`, rewriting `{{ IngestPipeline "x" }}` references to
those names. Test runners pass a `suffix` (a nonce) so that concurrent runs never collide.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from intpkg.errors import IntpkgError

INGEST_PIPELINE_REF = re.compile(r"""\{\{\s*IngestPipeline\s+["']([^"']+)["']\s*\}\}""")


@dataclass(frozen=True)
class Pipeline:
    stem: str  # file name without extension; "default" is the entry pipeline
    path: Path
    body: dict[str, Any]


def load_pipelines(data_stream_dir: Path) -> list[Pipeline]:
    """Every pipeline file of a data stream (YAML or JSON), entry pipeline first."""
    folder = data_stream_dir / "elasticsearch" / "ingest_pipeline"
    pipelines = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.suffix not in (".yml", ".yaml", ".json"):
            continue
        try:
            text = path.read_text()
            body = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise IntpkgError(f"{path}: cannot read the pipeline: {exc}") from None
        if not isinstance(body, dict):
            raise IntpkgError(f"{path}: a pipeline must be a mapping with `processors`")
        pipelines.append(Pipeline(path.stem, path, body))
    pipelines.sort(key=lambda p: (p.stem != "default", p.stem))
    return pipelines


def pipeline_name(ds_type: str, dataset: str, version: str, stem: str, suffix: str = "") -> str:
    base = f"{ds_type}-{dataset}-{version}"
    name = base if stem == "default" else f"{base}-{stem}"
    return f"{name}-{suffix}" if suffix else name


def with_references_resolved(pipeline: Pipeline, names: dict[str, str]) -> dict[str, Any]:
    """The pipeline body with every `{{ IngestPipeline "x" }}` replaced by the installed name of x."""

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        if isinstance(node, str):
            def sub(match: re.Match) -> str:
                target = match.group(1)
                if target not in names:
                    raise IntpkgError(f"{pipeline.path}: IngestPipeline {target!r} names no pipeline file "
                                      f"(known: {', '.join(sorted(names))})")
                return names[target]

            return INGEST_PIPELINE_REF.sub(sub, node)
        return node

    return resolve(pipeline.body)
