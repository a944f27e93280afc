"""A package on disk: its root manifest and its data streams, as the agent, installer and test runners read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intpkg.assets.pipelines import entry_pipeline
from intpkg.errors import IntpkgError
from intpkg.yamlpos import read_yaml


@dataclass(frozen=True, eq=False)
class DataStream:
    package: Package
    name: str
    path: Path
    manifest: dict[str, Any]

    @property
    def type(self) -> str:
        return self.manifest.get("type") or "logs"

    @property
    def dataset(self) -> str:
        return self.manifest.get("dataset") or f"{self.package.name}.{self.name}"

    @property
    def index(self) -> str:
        return f"{self.type}-{self.dataset}-default"

    @property
    def entry_pipeline(self) -> str:
        """Name (file stem) of the entry ingest pipeline."""
        return entry_pipeline(self.manifest)


@dataclass(frozen=True, eq=False)
class Package:
    path: Path
    name: str
    version: str
    manifest: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Package:
        path = Path(path).resolve()
        manifest_path = path / "manifest.yml"
        if not manifest_path.is_file():
            raise IntpkgError(f"{path}: not a package (no manifest.yml).")
        manifest = read_yaml(manifest_path) or {}
        if not isinstance(manifest, dict) or not manifest.get("name") or not manifest.get("version"):
            raise IntpkgError(f"{manifest_path}: `name` and `version` are required.")
        return cls(path=path, name=str(manifest["name"]), version=str(manifest["version"]), manifest=manifest)

    def data_streams(self, only: list[str] | None = None) -> list[DataStream]:
        """Data streams of the package, optionally restricted to `only` (unknown names are an error)."""
        streams = self._streams()
        unknown = sorted(set(only or []) - set(streams))
        if unknown:
            raise IntpkgError(f"{self.path}: no data stream named {', '.join(unknown)} "
                              f"(have: {', '.join(sorted(streams)) or 'none'}).")
        return [ds for name, ds in streams.items() if not only or name in only]

    def data_stream(self, name: str) -> DataStream | None:
        return self._streams().get(name)

    def _streams(self) -> dict[str, DataStream]:
        cached = self.__dict__.get("_cache")
        if cached is None:
            root = self.path / "data_stream"
            found = sorted(p for p in root.iterdir() if (p / "manifest.yml").is_file()) if root.is_dir() else []
            cached = {p.name: DataStream(self, p.name, p, read_yaml(p / "manifest.yml") or {}) for p in found}
            object.__setattr__(self, "_cache", cached)
        return cached
