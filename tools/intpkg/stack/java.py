"""Find a Java runtime recent enough for the engine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from intpkg import settings
from intpkg.errors import IntpkgError

_VERSION_RE = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_major(java_home: Path) -> int | None:
    """Major version of `<java_home>/bin/java`, or None when it does not run."""
    java = java_home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
    except OSError:
        return None
    match = _VERSION_RE.search(out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _candidates() -> list[Path]:
    found: list[Path] = []
    for home in (settings.java_home(), os.environ.get("JAVA_HOME")):
        if home:
            found.append(Path(home))
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path).resolve().parent.parent)
    for root in settings.jvm_roots():
        if root.is_dir():
            found.extend(sorted(p for p in root.iterdir() if p.is_dir()))
    return found


def find_java(min_major: int, *, purpose: str = "the local search node") -> Path:
    """Return a JAVA_HOME with Java >= `min_major`.

    INTPKG_JAVA_HOME wins when set; otherwise JAVA_HOME, `java` on PATH, then the JVM folders
    (INTPKG_JVM_ROOTS, default /usr/lib/jvm:/opt/java:/usr/local/java), picking the first new enough.
    """
    explicit = settings.java_home()
    seen: list[str] = []
    for home in _candidates():
        major = java_major(home)
        if major is None:
            continue
        seen.append(f"Java {major} at {home}")
        if major >= min_major:
            return home
        if explicit and home == explicit:
            raise IntpkgError(
                f"INTPKG_JAVA_HOME={explicit} is Java {major}; {purpose} needs Java {min_major} "
                "or newer. Point INTPKG_JAVA_HOME at a newer JDK."
            )
    found = "; ".join(dict.fromkeys(seen)) if seen else "no Java runtime at all"
    raise IntpkgError(
        f"No Java {min_major}+ found for {purpose} (looked at INTPKG_JAVA_HOME, JAVA_HOME, PATH and "
        f"/usr/lib/jvm: {found}). Install a Java {min_major} or newer runtime (e.g. Temurin, or Debian's "
        f"openjdk-{min_major}-jre-headless where available) and/or set INTPKG_JAVA_HOME, or use an existing "
        "cluster with --es-url."
    )
