"""Provision the local search engine from Maven Central.

Why OpenSearch and not Elasticsearch 8 for the *embedded* node: Maven Central carries the
Elasticsearch 8 server jar and a bootable `integ-test-zip`, but that zip holds only
`transport-netty4`, `x-pack-core`, `x-pack-security` and `apm`. The modules an integration
pipeline needs (ingest-common, lang-painless, ingest-user-agent, ingest-geoip, data-streams,
mapper-extras, ...) are not published there for any 8.x version (the `org.codelibs` republished
modules stop at 7.10.2). OpenSearch publishes a complete `integ-test-zip` with all of them, so it
is the embedded default; any Elasticsearch 8.x cluster can be targeted with `--es-url`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from intpkg.errors import IntpkgError


@dataclass(frozen=True)
class Distribution:
    """A bootable search-engine archive published on Maven Central."""

    flavor: str
    group_id: str
    artifact_id: str
    version: str
    min_java: int
    launcher: str  # relative path of the start script inside the unpacked home
    java_opts_env: str  # environment variable carrying JVM options
    conf_env: str  # environment variable naming the config folder

    @property
    def coordinates(self) -> str:
        return f"{self.group_id}:{self.artifact_id}:{self.version}:zip"

    @property
    def folder_name(self) -> str:
        return f"{self.artifact_id}-{self.version}"


EMBEDDED = Distribution(
    flavor="opensearch",
    group_id="org.opensearch.distribution.integ-test-zip",
    artifact_id="opensearch",
    version=os.environ.get("INTPKG_ENGINE_VERSION", "3.6.0"),
    min_java=21,
    launcher="bin/opensearch",
    java_opts_env="OPENSEARCH_JAVA_OPTS",
    conf_env="OPENSEARCH_PATH_CONF",
)


def ensure_installed(dist: Distribution, cache: Path, *, offline: bool = False, quiet: bool = False) -> Path:
    """Return the unpacked engine home, downloading it with Maven first if needed."""
    home = cache / "engines" / dist.folder_name
    if (home / dist.launcher).is_file():
        return home
    archive = _download(dist, cache, offline=offline, quiet=quiet)
    _unpack(archive, home, dist)
    archive.unlink()  # Maven's repository keeps its own copy
    return home


def _download(dist: Distribution, cache: Path, *, offline: bool, quiet: bool) -> Path:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise IntpkgError(
            "Maven (mvn) is not on PATH. The local search node is provisioned from Maven Central "
            "with Maven; install it (Debian: apt-get install maven) or point intpkg at an existing "
            "cluster with --es-url / INTPKG_ES_URL."
        )
    repo = cache / "m2"
    out_dir = cache / "downloads"
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn,
        "-B",
        "-Dstyle.color=never",
        f"-Dmaven.repo.local={repo}",
        "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy",
        f"-Dartifact={dist.coordinates}",
        f"-DoutputDirectory={out_dir}",
        # progress lines for the archive download; plain log level otherwise
        "-Dorg.slf4j.simpleLogger.log.org.apache.maven.cli.transfer.Slf4jMavenTransferListener=info",
    ]
    if offline:
        cmd.insert(1, "--offline")
    if not quiet:
        print(f"Downloading {dist.coordinates} from Maven Central (cached in {repo}) ...", file=sys.stderr)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cache)
    if not quiet:
        for line in proc.stdout.splitlines():
            if dist.folder_name in line and ("Download" in line or "Progress" in line):
                print("  " + line.replace("[INFO] ", ""), file=sys.stderr)
    archive = out_dir / f"{dist.folder_name}.zip"
    if proc.returncode != 0 or not archive.is_file():
        tail = "\n".join([line for line in proc.stdout.splitlines() if "ERROR" in line][-6:])
        raise IntpkgError(
            f"Maven could not fetch {dist.coordinates} (exit {proc.returncode}). Maven Central may be "
            f"unreachable (offline, proxy, firewall) or the version may not exist. Maven said:\n{tail}"
        )
    return archive


def _unpack(archive: Path, home: Path, dist: Distribution) -> None:
    """Unpack atomically, keeping Unix file modes (zipfile drops them otherwise)."""
    staging = home.parent / (home.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = zf.extract(info, staging)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)
    inner = staging / dist.folder_name
    if not (inner / dist.launcher).is_file():
        raise IntpkgError(f"{archive} does not contain {dist.folder_name}/{dist.launcher}; the archive is unusable.")
    shutil.rmtree(home, ignore_errors=True)
    inner.rename(home)
    shutil.rmtree(staging, ignore_errors=True)
    # readable by the unprivileged user the node runs as when intpkg runs as root
    for path in [home, *home.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o444 | (0o111 if path.is_dir() or mode & 0o100 else 0))
