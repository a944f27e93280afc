"""Which search engine the local node runs, and where its files come from.

`provision()` picks the engine in this order and says in one line which one and why:

1. `INTPKG_ES_DISTRIBUTION` (or `--distribution PATH`): an official Elasticsearch 8.x or 9.x
   distribution the user already has, as an archive (`.tar.gz`, `.zip`) or an unpacked folder;
2. the official Elasticsearch distribution for this platform from Elastic's download site, version
   pinned (ELASTICSEARCH_VERSION), checked against the SHA-512 published beside it, cached; an
   unreachable site costs a few seconds once and is not tried again for an hour;
3. OpenSearch (OPENSEARCH_VERSION, the complete distribution from Maven Central; Java 21+).

`INTPKG_ENGINE=elasticsearch|opensearch` forces one engine; a forced engine that cannot be obtained
is an error, not a fallback.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from intpkg import download, settings
from intpkg.errors import IntpkgError
from intpkg.settings import DISTRIBUTION_ENV, ENGINE_ENV

ELASTIC_DOWNLOADS = "https://artifacts.elastic.co/downloads/elasticsearch"
ELASTICSEARCH_VERSION = "8.19.4"
OPENSEARCH_VERSION = "3.6.0"
OPENSEARCH_COORDINATES = f"org.opensearch.distribution.integ-test-zip:opensearch:{OPENSEARCH_VERSION}:zip"
BUILT_MARKER = ".intpkg-complete"
HOW_TO_SUPPLY_ELASTICSEARCH = (f"To run Elasticsearch, set {DISTRIBUTION_ENV} (or pass --distribution) to an "
                               "Elasticsearch 8.x/9.x archive or folder downloaded from elastic.co.")


@dataclass(frozen=True)
class Flavor:
    """How one engine's launcher is driven."""

    name: str
    launcher: str  # start script relative to the engine home
    java_home_env: str  # the JDK the launcher uses
    java_opts_env: str  # JVM options (cleared: the node's options live in its config folder)
    conf_env: str  # the config folder
    tmpdir_env: str  # the node's temporary folder
    settings_file: str  # node settings file in the config folder


ELASTICSEARCH = Flavor("elasticsearch", "bin/elasticsearch", "ES_JAVA_HOME", "ES_JAVA_OPTS", "ES_PATH_CONF",
                       "ES_TMPDIR", "elasticsearch.yml")
OPENSEARCH = Flavor("opensearch", "bin/opensearch", "JAVA_HOME", "OPENSEARCH_JAVA_OPTS", "OPENSEARCH_PATH_CONF",
                    "OPENSEARCH_TMPDIR", "opensearch.yml")
FLAVORS = {f.name: f for f in (ELASTICSEARCH, OPENSEARCH)}


@dataclass(frozen=True)
class Engine:
    """A provisioned engine: its unpacked home and why it was chosen."""

    flavor: Flavor
    version: str
    home: Path
    reason: str

    @property
    def min_java(self) -> int:
        """Elasticsearch 8 runs on 17; Elasticsearch 9 and OpenSearch 3 need 21."""
        return 17 if self.flavor is ELASTICSEARCH and self.version.startswith("8.") else 21

    @property
    def bundled_jdk(self) -> Path | None:
        """The JDK an official Elasticsearch distribution ships (`jdk/`, or `jdk.app/...` on macOS)."""
        for candidate in (self.home / "jdk", self.home / "jdk.app" / "Contents" / "Home"):
            if (candidate / "bin" / "java").is_file():
                return candidate
        return None

    def describe(self) -> str:
        return f"{self.flavor.name} {self.version}: {self.reason}"


def forced_engine() -> str | None:
    """INTPKG_ENGINE, validated (None when unset)."""
    name = settings.forced_engine_name()
    if not name:
        return None
    if name not in FLAVORS:
        raise IntpkgError(f"{ENGINE_ENV}={name!r} is not one of: {', '.join(FLAVORS)}.")
    return name


def provision(cache: Path, *, distribution: Path | None = None, offline: bool = False, quiet: bool = False,
              elasticsearch_blocked: str | None = None) -> Engine:
    """The engine home to run, provisioned into `cache` if needed (see the module docstring).

    `elasticsearch_blocked` names why Elasticsearch cannot start on this machine (then OpenSearch is
    used unless Elasticsearch is forced).
    """
    forced = forced_engine()
    supplied = distribution or settings.es_distribution()
    if forced == "opensearch":
        return _opensearch(cache, f"{ENGINE_ENV}=opensearch", offline=offline, quiet=quiet)
    if supplied is not None:
        source = "--distribution" if distribution else DISTRIBUTION_ENV
        return _supplied(supplied.expanduser().resolve(), cache, source)
    if elasticsearch_blocked and forced != "elasticsearch":
        return _opensearch(cache, f"Elasticsearch cannot start here ({elasticsearch_blocked})", offline=offline,
                           quiet=quiet)
    try:
        return _elastic_download(cache, offline=offline, quiet=quiet)
    except IntpkgError as exc:
        if forced == "elasticsearch":
            raise IntpkgError(f"{ENGINE_ENV}=elasticsearch, but Elasticsearch {ELASTICSEARCH_VERSION} could not "
                              f"be obtained: {exc}. {HOW_TO_SUPPLY_ELASTICSEARCH}") from None
        return _opensearch(cache, f"Elasticsearch from Elastic's download site: {exc}", offline=offline,
                           quiet=quiet)


# ---- 1. a distribution the user has -----------------------------------------------------------
_JAR = re.compile(r"^elasticsearch-(\d+\.\d+\.\d+)(?:-SNAPSHOT)?\.jar$")
_ARCHIVE = re.compile(r"^elasticsearch-(\d+\.\d+\.\d+)(?:-SNAPSHOT)?(?:-[a-z0-9_]+-[a-z0-9_]+)?"
                      r"(\.tar\.gz|\.tgz|\.zip)$")


def _supplied(path: Path, cache: Path, source: str) -> Engine:
    if path.is_dir():
        home = path
    elif path.is_file():
        if not _ARCHIVE.match(path.name):
            raise IntpkgError(f"{source}={path}: not an Elasticsearch archive (expected a name like "
                              f"elasticsearch-{ELASTICSEARCH_VERSION}-linux-x86_64.tar.gz, or an unpacked folder).")
        stat = path.stat()
        home = cache / "engines" / f"supplied-{path.name}-{stat.st_size}-{int(stat.st_mtime)}"
        if not (home / BUILT_MARKER).is_file():
            _unpack(path, home)
            (home / BUILT_MARKER).write_text(f"{path}\n")
    else:
        raise IntpkgError(f"{source}={path}: no such file or folder.")
    version = elasticsearch_version(home)
    if version is None:
        raise IntpkgError(f"{source}={path}: not an Elasticsearch distribution (no bin/elasticsearch and "
                          "lib/elasticsearch-<version>.jar).")
    if version.split(".")[0] not in ("8", "9"):
        raise IntpkgError(f"{source}={path} is Elasticsearch {version}; Elasticsearch 8.x or 9.x is needed.")
    if not (home / "modules" / "ingest-common").is_dir():
        raise IntpkgError(f"{source}={path} is Elasticsearch {version} without modules/ingest-common (a test "
                          "build?); use the default distribution from elastic.co.")
    return Engine(ELASTICSEARCH, version, home, f"supplied by {source}={path}")


def elasticsearch_version(home: Path) -> str | None:
    """The version of the Elasticsearch distribution unpacked at `home` (from its server jar)."""
    if not (home / ELASTICSEARCH.launcher).is_file() or not (home / "lib").is_dir():
        return None
    for jar in (home / "lib").iterdir():
        match = _JAR.match(jar.name)
        if match:
            return match.group(1)
    return None


# ---- 2. Elastic's download site -----------------------------------------------------------------
def platform_archive(version: str = ELASTICSEARCH_VERSION) -> str:
    """File name of the official distribution for this OS and CPU."""
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "windows"}.get(platform.system())
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        platform.machine().lower())
    if system is None or machine is None:
        raise IntpkgError(f"Elastic publishes no Elasticsearch distribution for {platform.system()} "
                          f"{platform.machine()}.")
    suffix = "zip" if system == "windows" else "tar.gz"
    return f"elasticsearch-{version}-{system}-{machine}.{suffix}"


def _elastic_download(cache: Path, *, offline: bool, quiet: bool) -> Engine:
    home = cache / "engines" / f"elasticsearch-{ELASTICSEARCH_VERSION}"
    name = platform_archive()
    if (home / BUILT_MARKER).is_file() and (home / BUILT_MARKER).read_text().strip() == name:
        return Engine(ELASTICSEARCH, ELASTICSEARCH_VERSION, home, f"downloaded earlier from Elastic ({home})")
    if offline:
        raise IntpkgError("not cached, and --offline forbids downloading it")
    base = settings.es_download_url(ELASTIC_DOWNLOADS)
    published = download.fetch_text(f"{base}/{name}.sha512", cache).split()
    if not published or not re.fullmatch(r"[0-9a-fA-F]{128}", published[0]):
        raise IntpkgError(f"{base}/{name}.sha512 holds no SHA-512 checksum")
    if not quiet:
        print(f"Downloading Elasticsearch {ELASTICSEARCH_VERSION} ({name}) from {base} ...", file=sys.stderr)
    archive = download.fetch_file(f"{base}/{name}", cache / "downloads" / name, cache, sha512=published[0],
                                  label=name, quiet=quiet)
    try:
        _unpack(archive, home)
    finally:
        archive.unlink(missing_ok=True)  # the unpacked home is the cache; the archive would be a second copy
    if elasticsearch_version(home) != ELASTICSEARCH_VERSION:
        shutil.rmtree(home, ignore_errors=True)
        raise IntpkgError(f"{name} does not hold Elasticsearch {ELASTICSEARCH_VERSION}")
    (home / BUILT_MARKER).write_text(name + "\n")
    return Engine(ELASTICSEARCH, ELASTICSEARCH_VERSION, home, f"downloaded from {base} (SHA-512 verified)")


# ---- 3. OpenSearch from Maven Central -------------------------------------------------------------
def _opensearch(cache: Path, why: str, *, offline: bool, quiet: bool) -> Engine:
    home = cache / "engines" / f"opensearch-{OPENSEARCH_VERSION}"
    if not ((home / BUILT_MARKER).is_file() and (home / BUILT_MARKER).read_text().strip() == OPENSEARCH_COORDINATES):
        folder = cache / "downloads"
        archive = _maven_copy(OPENSEARCH_COORDINATES, folder, cache, offline=offline, quiet=quiet)
        try:
            _unpack(archive, home)
        finally:
            archive.unlink(missing_ok=True)  # Maven's repository keeps its own copy
        if not (home / OPENSEARCH.launcher).is_file():
            shutil.rmtree(home, ignore_errors=True)
            raise IntpkgError(f"{OPENSEARCH_COORDINATES} holds no {OPENSEARCH.launcher}; the archive is unusable.")
        (home / BUILT_MARKER).write_text(OPENSEARCH_COORDINATES + "\n")
    return Engine(OPENSEARCH, OPENSEARCH_VERSION, home, f"{why}; OpenSearch from Maven Central instead")


def _maven_copy(coordinates: str, out_dir: Path, cache: Path, *, offline: bool, quiet: bool) -> Path:
    """Copy one artifact from Maven Central (through the cached local repository `cache/m2`) into `out_dir`."""
    _, artifact_id, version, packaging = coordinates.split(":")
    target = out_dir / f"{artifact_id}-{version}.{packaging}"
    out_dir.mkdir(parents=True, exist_ok=True)
    mvn = shutil.which("mvn")
    if mvn is None:
        raise IntpkgError("Maven (mvn) is not on PATH. OpenSearch is provisioned from Maven Central with Maven; "
                          "install it (Debian: apt-get install maven), or point intpkg at an existing cluster with "
                          f"--es-url / INTPKG_ES_URL. {HOW_TO_SUPPLY_ELASTICSEARCH}")
    if not quiet:
        print(f"Downloading {coordinates} from Maven Central (cached in {cache / 'm2'}) ...", file=sys.stderr)
    cmd = [mvn, "-B", "-Dstyle.color=never", f"-Dmaven.repo.local={(cache / 'm2').resolve()}",
           "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy", f"-Dartifact={coordinates}",
           f"-DoutputDirectory={out_dir.resolve()}"]
    if offline:
        cmd.insert(1, "--offline")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cache)
    if proc.returncode != 0:
        tail = "\n".join([line for line in proc.stdout.splitlines() if "ERROR" in line][-6:])
        raise IntpkgError(f"Maven could not fetch {coordinates} (exit {proc.returncode}). Maven Central may be "
                          f"unreachable (offline, proxy, firewall). Maven said:\n{tail}")
    if not target.is_file():
        raise IntpkgError(f"Maven fetched {coordinates} but {target} is missing.")
    return target


# ---- unpacking ---------------------------------------------------------------------------------
def _unpack(archive: Path, home: Path) -> None:
    """Unpack `archive` (one top folder) into `home`, replacing it; file modes are kept."""
    staging = home.with_name(home.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    target = zf.extract(info, staging)
                    mode = (info.external_attr >> 16) & 0o777
                    if mode:
                        os.chmod(target, mode)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(staging, filter="tar")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise IntpkgError(f"{archive} cannot be unpacked: {exc}") from None
    tops = [p for p in staging.iterdir() if not p.name.startswith(".")]
    inner = tops[0] if len(tops) == 1 and tops[0].is_dir() else staging
    _make_readable(inner)
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    inner.rename(home)
    shutil.rmtree(staging, ignore_errors=True)


def _make_readable(home: Path) -> None:
    """Readable by the unprivileged user the node may run as when intpkg runs as root."""
    for path in [home, *home.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod(mode | 0o444 | (0o111 if path.is_dir() or mode & 0o100 else 0))
