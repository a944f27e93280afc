"""A package on disk: its root manifest and its data streams, as the agent, installer and test runners read them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from intpkg.assets.pipelines import entry_pipeline
from intpkg.errors import IntpkgError

MAX_ALIASES = 100  # YAML aliases per file: enough for any real file, far too few for an alias bomb
MAX_DEPTH = 200  # nesting levels per file


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader with a bound on aliases and nesting, so a hostile file cannot exhaust memory or stack."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.composer.ComposerError(None, None, f"more than {MAX_ALIASES} aliases (*name)",
                                                  self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; a syntax error names the file, line and column.

    Text that is not UTF-8, more than MAX_ALIASES aliases and more than MAX_DEPTH levels of nesting are
    errors naming the file, never a traceback or a runaway expansion.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntpkgError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r}); "
                          "save it as UTF-8") from None
    except OSError as exc:
        raise IntpkgError(f"{path}: cannot read: {exc.strerror}") from None
    if "\x00" in text:
        raise IntpkgError(f"{path}: a binary file, not YAML")
    try:
        loader = _BoundedLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise IntpkgError(f"{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise IntpkgError(f"{path}: invalid YAML: {exc}") from None
    except RecursionError:
        raise IntpkgError(f"{path}: nested too deeply to read") from None


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
