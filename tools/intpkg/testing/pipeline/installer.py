"""Install a data stream's ingest pipelines under unique names, and remove them again."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from intpkg.errors import IntpkgError
from intpkg.stack.client import SearchClient
from intpkg.testing.package import DataStream

REFERENCE = re.compile(r"""\{\{\s*IngestPipeline\s+["']([^"']+)["']\s*\}\}""")


@dataclass
class InstalledPipelines:
    client: SearchClient
    names: dict[str, str] = field(default_factory=dict)  # file stem -> installed name
    entry: str = ""
    nonce: str = ""

    def canonical(self, text: str) -> str:
        """`text` with installed names replaced by the names Fleet gives the pipelines (no test nonce)."""
        return text.replace(f"-{self.nonce}", "") if self.nonce else text

    def delete(self) -> None:
        for name in self.names.values():
            self.client.request("DELETE", f"/_ingest/pipeline/{name}", ignore=(404,))


def pipeline_files(data_stream: DataStream) -> dict[str, Path]:
    folder = data_stream.path / "elasticsearch" / "ingest_pipeline"
    files = sorted(folder.glob("*.yml")) + sorted(folder.glob("*.json")) if folder.is_dir() else []
    return {p.stem: p for p in files}


def load_definitions(data_stream: DataStream, nonce: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Installed names and bodies of every pipeline, `IngestPipeline` references rewritten."""
    files = pipeline_files(data_stream)
    if data_stream.entry_pipeline not in files:
        raise IntpkgError(f"{data_stream.path}: no entry ingest pipeline `{data_stream.entry_pipeline}.yml`.")
    pkg = data_stream.package
    base = f"{data_stream.type}-{data_stream.dataset}-{pkg.version}"
    names = {stem: (base if stem == data_stream.entry_pipeline else f"{base}-{stem}") + f"-{nonce}"
             for stem in files}
    bodies = {}
    for stem, path in files.items():
        text = path.read_text(encoding="utf-8")

        def rewrite(match: re.Match[str], path: Path = path, text: str = text) -> str:
            target = match.group(1)
            if target not in names:
                line = text.count("\n", 0, match.start()) + 1
                raise IntpkgError(f"{path}:{line}: IngestPipeline \"{target}\" names no pipeline of the data stream.")
            return names[target]

        text = REFERENCE.sub(rewrite, text)
        try:
            body = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise IntpkgError(f"{path}: cannot parse the pipeline: {exc}") from None
        if not isinstance(body, dict):
            raise IntpkgError(f"{path}: a pipeline must be an object with `processors`.")
        bodies[stem] = body
    return names, bodies


def install(client: SearchClient, data_stream: DataStream) -> InstalledPipelines:
    nonce = uuid.uuid4().hex[:8]
    names, bodies = load_definitions(data_stream, nonce)
    installed = InstalledPipelines(client, entry=names[data_stream.entry_pipeline], nonce=nonce)
    try:
        # Sub-pipelines first, so the entry pipeline's references resolve as soon as it exists.
        for stem in sorted(bodies, key=lambda s: s == data_stream.entry_pipeline):
            client.request("PUT", f"/_ingest/pipeline/{names[stem]}", body=bodies[stem])
            installed.names[stem] = names[stem]
    except IntpkgError as exc:
        installed.delete()
        raise IntpkgError(f"{data_stream.path}: installing pipeline `{stem}` failed: {exc}") from None
    return installed
