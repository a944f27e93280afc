"""A package checkout as the linter sees it: its files, parsed once, with parse problems recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from intpkg.packagespec.problems import Problem
from intpkg.yamlpos import Loaded, ParseError, load_file

#: top-level names of the repository that are not part of the package (dot-files are skipped too)
OUTSIDE = {"tools", "tests", "scripts", "benchmarks", "build", "README.md", "pyproject.toml"}


class Package:
    """Files of one package checkout; `mode` is "source" (a checkout) or "build" (a built package)."""

    def __init__(self, root: Path, mode: str = "source") -> None:
        self.root = Path(root).resolve()
        self.mode = mode
        self._cache: dict[str, Loaded | None] = {}
        self.problems: list[Problem] = []

    # -- files --------------------------------------------------------------------------------------

    def path(self, rel: str) -> Path:
        return self.root / rel

    def exists(self, rel: str) -> bool:
        return (self.root / rel).exists()

    def files(self, under: str, pattern: str = "*") -> list[str]:
        """Relative paths of files under `under` matching glob `pattern` (recursive with **), sorted."""
        base = self.root / under
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.glob(pattern) if p.is_file())

    def load(self, rel: str) -> Loaded | None:
        """Parsed file (None when missing or unparseable; parse problems are recorded once)."""
        if rel in self._cache:
            return self._cache[rel]
        path = self.root / rel
        loaded = None
        if path.is_file():
            try:
                loaded = load_file(path)
            except ParseError as exc:
                self.problems.append(Problem(rel, exc.line, exc.column, "PRS001", exc.message))
            else:
                for key_path, (line, col) in loaded.duplicate_keys:
                    self.problems.append(Problem(rel, line, col, "PRS002", f"duplicate key {key_path[-1]!r}"))
        self._cache[rel] = loaded
        return loaded

    def data(self, rel: str) -> Any:
        loaded = self.load(rel)
        return None if loaded is None else loaded.data

    # -- package facts ------------------------------------------------------------------------------

    @property
    def manifest(self) -> dict:
        data = self.data("manifest.yml")
        return data if isinstance(data, dict) else {}

    @property
    def name(self) -> str:
        name = self.manifest.get("name")
        return name if isinstance(name, str) else self.root.name

    @property
    def data_streams(self) -> list[str]:
        base = self.root / "data_stream"
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def ds_manifest(self, ds: str) -> dict:
        data = self.data(f"data_stream/{ds}/manifest.yml")
        return data if isinstance(data, dict) else {}

    def pipelines(self, ds: str) -> list[str]:
        base = f"data_stream/{ds}/elasticsearch/ingest_pipeline"
        return [f for f in self.files(base) if f.endswith((".yml", ".yaml", ".json"))]

    def problem(self, rel: str, path: tuple, code: str, message: str, key: bool = False) -> Problem:
        """A Problem at the node (or key) `path` of file `rel`."""
        loaded = self._cache.get(rel)
        if loaded is None:
            line, col = 1, 1
        else:
            line, col = loaded.key_pos(path) if key else loaded.pos(path)
        return Problem(rel, line, col, code, message)
