"""Install a data stream's ingest pipelines under unique names, and remove them again."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from intpkg.assets.pipelines import definitions
from intpkg.errors import IntpkgError
from intpkg.package import DataStream
from intpkg.stack.client import SearchClient

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


def load_definitions(data_stream: DataStream, nonce: str, flavor: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Installed names and bodies of every pipeline for the engine `flavor`, `IngestPipeline` references rewritten."""
    base = f"{data_stream.type}-{data_stream.dataset}-{data_stream.package.version}"
    names, bodies = definitions(data_stream.path, base, data_stream.entry_pipeline, suffix=nonce, flavor=flavor)
    if not names:
        raise IntpkgError(f"{data_stream.path}: no entry ingest pipeline `{data_stream.entry_pipeline}.yml`.")
    return names, bodies


def install(client: SearchClient, data_stream: DataStream) -> InstalledPipelines:
    nonce = uuid.uuid4().hex[:8]
    names, bodies = load_definitions(data_stream, nonce, client.flavor)
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
