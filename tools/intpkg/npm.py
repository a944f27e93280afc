"""The machine's `npm`, for what is published as npm packages (the ECS reference, handlebars.js, ECharts).

- `run` runs a command and turns a failure into an IntpkgError naming npm's own reason;
- `pack` fetches a package tarball with `npm pack` (npm's cache and registry settings apply);
- `check_integrity` verifies a tarball against a Subresource-Integrity string (`sha512-<base64>`),
  the form npm records as a package version's `dist.integrity`;
- `provision_file` puts one file of a pinned, verified package into a cache folder, once.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from intpkg.errors import IntpkgError

INSTALL_HINT = "Debian: apt-get install npm; scripts/setup.sh installs it when run as root"


def executable(name: str = "npm") -> str | None:
    """The path of `name` (npm, node) on PATH, or None."""
    return shutil.which(name)


def run(cmd: list[str], cwd: Path, *, timeout: float = 300) -> str:
    """The standard output of `cmd`; IntpkgError naming the command and its reason when it fails."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise IntpkgError(f"`{_label(cmd)}` gave no answer in {timeout:.0f} s") from None
    except OSError as exc:
        raise IntpkgError(f"`{_label(cmd)}` could not start: {exc.strerror}") from None
    if proc.returncode != 0:
        raise IntpkgError(f"`{_label(cmd)}` failed: {_reason(proc.stdout, proc.stderr)}")
    return proc.stdout


def pack(npm: str, spec: str, destination: Path, *, timeout: float = 300) -> tuple[Path, str]:
    """Fetch `spec` (`name@version`) into `destination`: the tarball and the integrity npm reports."""
    out = run([npm, "pack", spec, "--json", "--pack-destination", str(destination)], destination, timeout=timeout)
    try:
        info = json.loads(out)[0]
        return destination / info["filename"], str(info.get("integrity", ""))
    except (ValueError, LookupError, TypeError):
        raise IntpkgError(f"`npm pack {spec}` gave no package") from None


def integrity_of(path: Path) -> str:
    """The `sha512-<base64>` integrity string of the file at `path`."""
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def check_integrity(path: Path, expected: str, label: str) -> None:
    """IntpkgError unless the file at `path` has the integrity string `expected`."""
    actual = integrity_of(path)
    if actual != expected:
        raise IntpkgError(f"{label}: the tarball's integrity is {actual[:23]}…, but {expected[:23]}… is pinned; "
                          "it was discarded")


def _label(cmd: list[str]) -> str:
    return " ".join([Path(cmd[0]).name, *cmd[1:3]])


def _reason(stdout: str, stderr: str) -> str:
    """npm's own words: the `--json` error summary, else the last line of standard error that says something."""
    try:
        error = json.loads(stdout).get("error") or {}
        if error.get("summary"):
            return f"{error.get('code') or 'error'}: {error['summary']}"
    except (ValueError, AttributeError):
        pass
    lines = [line for line in stderr.strip().splitlines() if "complete log of this run" not in line]
    return (lines or ["(no output)"])[-1]


SOURCE_FILE = "SOURCE"


def provision_file(spec: str, integrity: str, member: str, folder: Path, file_name: str) -> Path:
    """`folder/file_name`: `member` (e.g. `package/dist/x.js`) of the npm package `spec` (`name@version`).

    Fetched once with `npm pack`; the tarball must have the pinned `integrity`. `folder/SOURCE` records
    where the file came from; a folder without it is provisioned again. IntpkgError names what failed.
    """
    target = folder / file_name
    if target.is_file() and (folder / SOURCE_FILE).is_file():
        return target
    tool = executable("npm")
    if tool is None:
        raise IntpkgError(f"npm is not on PATH ({INSTALL_HINT})")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        tarball, _ = pack(tool, spec, staging)
        check_integrity(tarball, integrity, spec)
        with tarfile.open(tarball) as tf:
            try:
                entry = tf.getmember(member)
            except KeyError:
                raise IntpkgError(f"{spec} has no {member}") from None
            tf.extractall(staging / "npm", members=[entry], filter="data")
        (staging / "npm" / member).replace(staging / file_name)
        (staging / SOURCE_FILE).write_text(f"{member} of npm's {spec}, {integrity}\n")
        tarball.unlink()
        shutil.rmtree(staging / "npm")
        shutil.rmtree(folder, ignore_errors=True)
        try:
            staging.rename(folder)
        except OSError:  # another process provisioned it first
            if not (folder / SOURCE_FILE).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
