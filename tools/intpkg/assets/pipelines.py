"""A data stream's ingest pipelines, named as Fleet installs them.

Fleet installs the entry pipeline (`default.yml`, or the one the data stream's manifest names) as
`<type>-<dataset>-<version>` and every other file as `<type>-<dataset>-<version>-<file stem>`,
rewriting `{{ IngestPipeline "x" }}` references to those names. Test runners add a `suffix` (a
nonce) so that concurrent runs never collide.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from intpkg import yamlpos
from intpkg.assets.engines import ELASTICSEARCH, pipeline_for
from intpkg.errors import IntpkgError

REFERENCE = re.compile(r"""\{\{\s*IngestPipeline\s+["']([^"']+)["']\s*\}\}""")


def pipeline_files(data_stream_dir: Path) -> dict[str, Path]:
    folder = data_stream_dir / "elasticsearch" / "ingest_pipeline"
    files = sorted(folder.glob("*.yml")) + sorted(folder.glob("*.json")) if folder.is_dir() else []
    return {p.stem: p for p in files}


def entry_pipeline(manifest: dict[str, Any]) -> str:
    """File stem of the entry pipeline: the manifest's `ingest_pipeline.name`, else `default`."""
    configured = (((manifest.get("elasticsearch") or {}).get("index_template") or {})
                  .get("ingest_pipeline") or {}).get("name")
    return configured or "default"


def pipeline_names(files: dict[str, Path], base: str, entry: str = "default", suffix: str = "") -> dict[str, str]:
    """Installed name of each pipeline file (by stem): `base` for the entry, `<base>-<stem>` for the others.

    `base` is `<type>-<dataset>-<version>`; names get `-<suffix>` appended when one is given.
    """
    tail = f"-{suffix}" if suffix else ""
    return {stem: (base if stem == entry else f"{base}-{stem}") + tail for stem in files}


def definitions(data_stream_dir: Path, base: str, entry: str = "default", suffix: str = "",
                flavor: str = ELASTICSEARCH) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Installed names and bodies of every pipeline of a data stream, references rewritten.

    `base` is `<type>-<dataset>-<version>`; names get `-<suffix>` appended when one is given. Bodies
    are adapted to the engine `flavor` (see `intpkg.assets.engines`).
    """
    files = pipeline_files(data_stream_dir)
    if not files:
        return {}, {}
    if entry not in files:
        raise IntpkgError(f"{data_stream_dir}: no entry ingest pipeline `{entry}.yml`.")
    names = pipeline_names(files, base, entry, suffix)
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
            body = yamlpos.parse_json(text, path).data if path.suffix == ".json" else yamlpos.loads(text, str(path))
        except yamlpos.ParseError as exc:
            raise IntpkgError(f"cannot parse the pipeline: {exc}") from None
        if not isinstance(body, dict):
            raise IntpkgError(f"{path}: a pipeline must be an object with `processors`.")
        bodies[stem] = pipeline_for(body, flavor, where=str(path))
    return names, bodies
