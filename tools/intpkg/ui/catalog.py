"""The packages of a registry folder, as the UI's integrations list and detail pages show them.

A source is a package folder (holds `manifest.yml`), a folder of built package zips (`intpkg build`
output: `<name>-<version>.zip`, top folder `<name>-<version>/`), or one such zip. A zip or manifest
that cannot be read, whose `name` is not `[a-z0-9_]+` or whose `version` is not semver, or a zip whose
top folder is not `<name>-<version>`, is left out and named in `Catalog.problems`. The catalog is read
when it is made: make a new one to see packages added since.

Installed state comes from the cluster: `installed_version` reads the version install_package
recorded; `install_state` compares it with an entry by semver precedence.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from intpkg.assets.install import installed_package_version
from intpkg.errors import IntpkgError
from intpkg.stack.client import SearchClient
from intpkg.ui.package_files import FolderFiles, PackageFileError, ZipFiles, open_zip, safe_relative
from intpkg.validation import SEMVER, semver_key
from intpkg.yamlpos import parse_yaml

InstallState = Literal["not_installed", "installed", "update_available"]
PACKAGE_NAME = re.compile(r"^[a-z0-9_]+$")
_EXTRACTING = threading.Lock()


@dataclass(frozen=True)
class CatalogProblem:
    """A source left out of the catalog, and why."""

    source: Path
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass(frozen=True, eq=False)
class PackageEntry:
    """One version of one package, from a folder or a zip."""

    source: Path  # the package folder or the zip
    manifest: dict[str, Any]
    files: FolderFiles | ZipFiles
    versions: list[str] = field(default_factory=list)  # every version in the catalog, newest first

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def title(self) -> str:
        return str(self.manifest.get("title") or self.name)

    @property
    def description(self) -> str:
        return str(self.manifest.get("description") or "")

    @property
    def type(self) -> str:
        return str(self.manifest.get("type") or "integration")

    @property
    def categories(self) -> list[str]:
        return [str(c) for c in self.manifest.get("categories") or [] if c]

    @property
    def icons(self) -> list[dict[str, Any]]:
        """The manifest's icons (`src`, `title`, `size`, `type`), as written."""
        return [i for i in self.manifest.get("icons") or [] if isinstance(i, dict)]

    @property
    def owner(self) -> dict[str, Any]:
        """The manifest's owner (`github`, `type`)."""
        owner = self.manifest.get("owner")
        return owner if isinstance(owner, dict) else {}

    @property
    def is_zip(self) -> bool:
        return isinstance(self.files, ZipFiles)

    def read_file(self, rel_path: str) -> bytes:
        """Bytes of the package file at `rel_path` (`img/x.png`).

        Raises PackageFileError when the path is absolute or leaves the package, FileNotFoundError
        when the package has no such file.
        """
        return self.files.read(rel_path)

    def readme(self) -> str:
        """Text of `docs/README.md`; "" when the package has none."""
        return self._text("docs/README.md") or ""

    def changelog(self) -> list[dict[str, Any]]:
        """`changelog.yml` as written (newest first): `{"version", "changes": [{"description", "type", "link"}]}`.

        [] when there is none; an IntpkgError naming the file when it is not valid YAML.
        """
        text = self._text("changelog.yml")
        data = parse_yaml(text, self.source / "changelog.yml").data if text else None
        out = []
        for item in data if isinstance(data, list) else []:
            if not isinstance(item, dict) or item.get("version") is None:
                continue
            changes = [{"description": str(c.get("description") or "").strip(), "type": str(c.get("type") or ""),
                        "link": str(c.get("link") or "")}
                       for c in item.get("changes") or [] if isinstance(c, dict)]
            out.append({"version": str(item["version"]), "changes": changes})
        return out

    def icon_path(self) -> str | None:
        """Package-relative path (`img/logo.svg`) of the first manifest icon the package holds, else None."""
        for icon in self.icons:
            src = str(icon.get("src") or "").lstrip("/")
            try:
                if src and self.files.exists(src):
                    return safe_relative(src)
            except PackageFileError:
                continue
        return None

    def materialize(self, cache_dir: Path) -> Path:
        """A folder `install_package` can read: the package folder itself, or the zip extracted once.

        A zip goes to `cache_dir/<name>-<version>` (again only when a different zip of that version
        comes along); extraction writes only the package's files, never outside that folder.
        """
        if isinstance(self.files, FolderFiles):
            return self.files.root
        cache_dir = Path(cache_dir)
        dest = cache_dir / f"{self.name}-{self.version}"
        marker = cache_dir / f"{self.name}-{self.version}.sha256"
        digest = hashlib.sha256(self.files.path.read_bytes()).hexdigest()
        with _EXTRACTING:
            if dest.is_dir() and marker.is_file() and marker.read_text(encoding="utf-8") == digest:
                return dest
            cache_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=cache_dir))
            try:
                self.files.extract(staging)
                if dest.exists():
                    shutil.rmtree(dest)
                staging.rename(dest)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            marker.write_text(digest, encoding="utf-8")
        return dest

    def _text(self, rel_path: str) -> str | None:
        try:
            return self.files.read(rel_path).decode("utf-8", errors="replace")
        except FileNotFoundError:
            return None


class Catalog:
    """The packages found in `sources`; see the module's docstring for what a source is."""

    def __init__(self, sources: list[Path]) -> None:
        self.sources = [Path(s) for s in sources]
        self.problems: list[CatalogProblem] = []
        found: dict[tuple[str, str], PackageEntry] = {}
        for source in self.sources:
            for path in self._package_paths(source):
                try:
                    entry = _load(path)
                except IntpkgError as exc:
                    self.problems.append(CatalogProblem(path, str(exc)))
                    continue
                key = (entry.name, entry.version)
                if key in found:
                    self.problems.append(CatalogProblem(path, f"{entry.name} {entry.version} is already in the "
                                                              f"catalog from {found[key].source}"))
                    continue
                found[key] = entry
        versions: dict[str, list[str]] = {}
        for name, version in found:
            versions.setdefault(name, []).append(version)
        for name in versions:
            versions[name].sort(key=semver_key, reverse=True)
        self._all = {key: dataclasses.replace(entry, versions=list(versions[key[0]])) for key, entry in found.items()}
        self._latest = {name: self._all[(name, listed[0])] for name, listed in versions.items()}

    def _package_paths(self, source: Path) -> list[Path]:
        if (source / "manifest.yml").is_file() or (source.suffix == ".zip" and source.is_file()):
            return [source]
        if source.is_dir():
            return sorted(p for p in source.glob("*.zip") if p.is_file())
        self.problems.append(CatalogProblem(source, "not a package folder, a folder of package zips or a zip"))
        return []

    def entries(self) -> list[PackageEntry]:
        """One entry per package, its highest version, sorted by title."""
        return sorted(self._latest.values(), key=lambda e: (e.title.lower(), e.name))

    def get(self, name: str, version: str | None = None) -> PackageEntry | None:
        """The package `name` at `version` (default: its highest), or None."""
        return self._latest.get(name) if version is None else self._all.get((name, version))

    def search(self, text: str = "", category: str | None = None) -> list[PackageEntry]:
        """Entries whose name, title or description holds every word of `text` (any case), in `category`."""
        words = text.lower().split()
        out = []
        for entry in self.entries():
            haystack = f"{entry.name}\n{entry.title}\n{entry.description}".lower()
            if all(w in haystack for w in words) and (category is None or category in entry.categories):
                out.append(entry)
        return out

    def categories(self) -> list[tuple[str, int]]:
        """Each category of the entries with the number of packages in it, by category."""
        counts: dict[str, int] = {}
        for entry in self.entries():
            for category in dict.fromkeys(entry.categories):
                counts[category] = counts.get(category, 0) + 1
        return sorted(counts.items())


def _load(path: Path) -> PackageEntry:
    """The entry of a package folder or zip; IntpkgError naming what is wrong."""
    files: FolderFiles | ZipFiles = FolderFiles(path.resolve()) if path.is_dir() else open_zip(path)
    try:
        raw = files.read("manifest.yml")
    except FileNotFoundError:
        raise IntpkgError("no manifest.yml") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise IntpkgError("manifest.yml is not UTF-8 text") from None
    manifest = parse_yaml(text, Path("manifest.yml")).data
    if not isinstance(manifest, dict):
        raise IntpkgError("manifest.yml is not a mapping")
    name, version = manifest.get("name"), manifest.get("version")
    if not isinstance(name, str) or not PACKAGE_NAME.match(name):
        raise IntpkgError(f"manifest.yml: `name` {name!r} is not a package name ([a-z0-9_]+)")
    if not isinstance(version, str) or not SEMVER.match(version):
        raise IntpkgError(f"manifest.yml: `version` {version!r} is not a semantic version")
    if isinstance(files, ZipFiles) and files.top != f"{name}-{version}":
        raise IntpkgError(f"top folder {files.top!r} is not `{name}-{version}` (the manifest's name and version)")
    return PackageEntry(source=path, manifest=manifest, files=files)


def installed_version(client: SearchClient, entry: PackageEntry) -> str | None:
    """The version of the entry's package installed in the cluster (as install_package recorded it), or None."""
    return installed_package_version(client, entry.name)


def install_state(entry: PackageEntry, installed: str | None) -> InstallState:
    """`not_installed` without an installed version; `update_available` when it is lower than the entry's
    (semver precedence); else `installed` (also when the installed version is not semver)."""
    if installed is None:
        return "not_installed"
    if SEMVER.match(installed) and semver_key(installed) < semver_key(entry.version):
        return "update_available"
    return "installed"
