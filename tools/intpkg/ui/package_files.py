"""The files of one package, from its folder or from a built zip, read without ever leaving the package.

A zip is what `intpkg build` makes: `<name>-<version>.zip` holding one top folder `<name>-<version>/`.
`open_zip` refuses a zip whose entries could escape that folder when extracted (absolute paths, `..`,
backslashes, links) or that would unpack to more than MAX_UNPACKED_BYTES; `extract` writes only
regular files, each checked again to land inside the target folder.
"""

from __future__ import annotations

import posixpath
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from intpkg.errors import IntpkgError

MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = 20_000


class PackageFileError(IntpkgError):
    """A package path that is refused (it leaves the package) or a package archive that is unsafe."""


def safe_relative(rel_path: str) -> str:
    """`rel_path` normalised to `a/b/c`; PackageFileError when it is empty, absolute or leaves the package."""
    if not rel_path or "\\" in rel_path or "\x00" in rel_path or rel_path.startswith("/") \
            or (len(rel_path) > 1 and rel_path[1] == ":"):
        raise PackageFileError(f"{rel_path!r}: not a path inside the package")
    normal = posixpath.normpath(rel_path)
    if normal in (".", "..") or normal.startswith("../"):
        raise PackageFileError(f"{rel_path!r}: leaves the package")
    return normal


@dataclass(frozen=True)
class FolderFiles:
    """A package folder (holds manifest.yml)."""

    root: Path

    def read(self, rel_path: str) -> bytes:
        """Bytes of a package file; PackageFileError when refused, FileNotFoundError when missing."""
        path = (self.root / safe_relative(rel_path)).resolve()
        if not path.is_relative_to(self.root.resolve()):  # a symbolic link pointing out of the package
            raise PackageFileError(f"{rel_path!r}: leaves the package")
        if not path.is_file():
            raise FileNotFoundError(f"{self.root}: no file {rel_path}")
        return path.read_bytes()

    def exists(self, rel_path: str) -> bool:
        try:
            self.read(rel_path)
        except (PackageFileError, FileNotFoundError):
            return False
        return True


@dataclass(frozen=True)
class ZipFiles:
    """A built package zip: every file under the one top folder `top` (`<name>-<version>`)."""

    path: Path
    top: str
    names: frozenset[str]  # package-relative paths of the files

    def read(self, rel_path: str) -> bytes:
        """Bytes of a package file; PackageFileError when refused, FileNotFoundError when missing."""
        rel = safe_relative(rel_path)
        if rel not in self.names:
            raise FileNotFoundError(f"{self.path}: no file {rel}")
        try:
            with zipfile.ZipFile(self.path) as zf:
                return zf.read(f"{self.top}/{rel}")
        except (zipfile.BadZipFile, zlib.error, OSError) as exc:
            raise PackageFileError(f"{self.path}: cannot read {rel} ({exc})") from None

    def exists(self, rel_path: str) -> bool:
        try:
            return safe_relative(rel_path) in self.names
        except PackageFileError:
            return False

    def extract(self, target: Path) -> None:
        """Write every file of the package into the (new, empty) folder `target`."""
        root = target.resolve()
        with zipfile.ZipFile(self.path) as zf:
            for rel in sorted(self.names):
                dest = (root / safe_relative(rel)).resolve()
                if not dest.is_relative_to(root):
                    raise PackageFileError(f"{self.path}: {rel} would be written outside {target}")
                try:
                    data = zf.read(f"{self.top}/{rel}")
                except (zipfile.BadZipFile, zlib.error) as exc:
                    raise PackageFileError(f"{self.path}: cannot read {rel} ({exc})") from None
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)


def open_zip(path: Path) -> ZipFiles:
    """The files of a built package zip; PackageFileError naming the zip when it is not a safe one."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageFileError(f"{path}: not a readable zip ({exc})") from None
    if len(infos) > MAX_ENTRIES or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES:
        raise PackageFileError(f"{path}: unpacks to more than {MAX_ENTRIES} files or "
                               f"{MAX_UNPACKED_BYTES // 2**20} MiB")
    tops = {info.filename.split("/", 1)[0] for info in infos}
    if len(tops) != 1:
        raise PackageFileError(f"{path}: needs exactly one top folder `<name>-<version>/` "
                               f"(has {', '.join(sorted(tops)) or 'nothing'})")
    top = tops.pop()
    if top in ("", ".", "..") or "\\" in top:
        raise PackageFileError(f"{path}: unsafe top folder {top!r}")
    names = set()
    for info in infos:
        if stat.S_ISLNK(info.external_attr >> 16):
            raise PackageFileError(f"{path}: {info.filename} is a symbolic link")
        if info.is_dir():
            continue
        rel = info.filename[len(top) + 1:] if info.filename.startswith(top + "/") else ""
        try:
            if safe_relative(rel) != rel:
                raise PackageFileError(f"{rel!r} is not in normal form")
        except PackageFileError as exc:
            raise PackageFileError(f"{path}: unsafe entry {info.filename!r} ({exc})") from None
        names.add(rel)
    return ZipFiles(path=path, top=top, names=frozenset(names))
