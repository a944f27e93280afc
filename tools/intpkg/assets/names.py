"""Names of the Elasticsearch assets that `install_package` puts in place, computed in one place.

Install, uninstall and the asset inventory all take their names from `stream_assets`, so they can
never disagree on what the package installs. Per data stream `<type>-<dataset>` and version:

- index template `<type>-<dataset>`;
- component templates `<type>-<dataset>@package` and `<type>-<dataset>@custom`;
- ingest pipelines `<type>-<dataset>-<version>` (the entry one) and `<type>-<dataset>-<version>-<file stem>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from intpkg.assets.pipelines import pipeline_files, pipeline_names
from intpkg.package import DataStream


@dataclass(frozen=True)
class StreamAssets:
    """The Elasticsearch asset names of one data stream at one package version."""

    base: str  # `<type>-<dataset>`
    version: str
    entry: str  # file stem of the entry pipeline
    pipelines: dict[str, str]  # pipeline file stem -> installed name

    @property
    def index_template(self) -> str:
        return self.base

    @property
    def package_template(self) -> str:
        """The component template install_package owns (mappings, settings, default pipeline)."""
        return f"{self.base}@package"

    @property
    def custom_template(self) -> str:
        """The component template left to the user's own settings (created empty, never overwritten)."""
        return f"{self.base}@custom"

    @property
    def pipeline_base(self) -> str:
        """`<type>-<dataset>-<version>`: the entry pipeline's name and the prefix of the others."""
        return f"{self.base}-{self.version}"


def stream_assets(stream: DataStream, version: str) -> StreamAssets:
    """Names of what `install_package` installs for `stream` when the package is at `version`."""
    base = f"{stream.type}-{stream.dataset}"
    entry = stream.entry_pipeline
    files = pipeline_files(stream.path)
    return StreamAssets(base=base, version=version, entry=entry,
                        pipelines=pipeline_names(files, f"{base}-{version}", entry))
