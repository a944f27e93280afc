"""Provision the local search engine: Elasticsearch 8 from Maven Central plus modules built from its source.

Maven Central carries Elasticsearch 8's bootable `integ-test-zip`, but that zip holds only the modules
`transport-netty4`, `x-pack-core`, `x-pack-security` and `apm`. The modules integration pipelines need
(lang-painless, ingest-common, ingest-user-agent, ingest-geoip, data-streams, mapper-extras, ...) are not
published there for any 8.x release. Elasticsearch's source for the same release is on the Go module
proxy, so `intpkg.stack.es_modules` compiles them from it with the machine's JDK 17. The result is a
real Elasticsearch node with the same modules as the default distribution's basic features.

OpenSearch's complete `integ-test-zip` (INTPKG_ENGINE=opensearch) remains as a fallback for machines
without the Go module proxy; it lacks uri_parts, registered_domain and other Elasticsearch processors.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import requests

from intpkg.errors import IntpkgError

ENGINE_ENV = "INTPKG_ENGINE"
GOPROXY_ENV = "INTPKG_GOPROXY"


@dataclass(frozen=True)
class SourceArchive:
    """An engine's source release on the Go module proxy, pinned by its SHA-256."""

    module: str
    version: str
    sha256: str

    def url(self, proxy: str) -> str:
        return f"{proxy.rstrip('/')}/{self.module}/@v/{self.version}.zip"


@dataclass(frozen=True)
class Distribution:
    """A bootable search-engine archive published on Maven Central."""

    flavor: str
    group_id: str
    artifact_id: str
    version: str
    min_java: int
    launcher: str  # relative path of the start script inside the unpacked home
    java_home_env: str  # environment variable naming the JDK the launcher uses
    java_opts_env: str  # environment variable carrying JVM options
    conf_env: str  # environment variable naming the config folder
    tmpdir_env: str  # environment variable naming the node's temporary folder
    settings_file: str  # node settings file inside the config folder
    source: SourceArchive | None = None  # when set, modules are compiled from this source

    @property
    def coordinates(self) -> str:
        return f"{self.group_id}:{self.artifact_id}:{self.version}:zip"

    @property
    def folder_name(self) -> str:
        return f"{self.artifact_id}-{self.version}"


ELASTICSEARCH = Distribution(
    flavor="elasticsearch",
    group_id="org.elasticsearch.distribution.integ-test-zip",
    artifact_id="elasticsearch",
    version="8.19.4",
    min_java=17,
    launcher="bin/elasticsearch",
    java_home_env="ES_JAVA_HOME",
    java_opts_env="ES_JAVA_OPTS",
    conf_env="ES_PATH_CONF",
    tmpdir_env="ES_TMPDIR",
    settings_file="elasticsearch.yml",
    source=SourceArchive(
        module="github.com/elastic/elasticsearch",
        version="v8.19.4+incompatible",
        sha256="70c9fb4bdc2709fa8594592aa7edddd6834a80765b0a3a8e34a6ed383741ee2f",
    ),
)

OPENSEARCH = Distribution(
    flavor="opensearch",
    group_id="org.opensearch.distribution.integ-test-zip",
    artifact_id="opensearch",
    version="3.6.0",
    min_java=21,
    launcher="bin/opensearch",
    java_home_env="JAVA_HOME",
    java_opts_env="OPENSEARCH_JAVA_OPTS",
    conf_env="OPENSEARCH_PATH_CONF",
    tmpdir_env="OPENSEARCH_TMPDIR",
    settings_file="opensearch.yml",
)

DISTRIBUTIONS = {d.flavor: d for d in (ELASTICSEARCH, OPENSEARCH)}


def selected() -> Distribution:
    """The engine named by INTPKG_ENGINE (elasticsearch, the default, or opensearch)."""
    name = os.environ.get(ENGINE_ENV, "elasticsearch").strip().lower()
    if name not in DISTRIBUTIONS:
        raise IntpkgError(f"{ENGINE_ENV}={name!r} is not one of: {', '.join(DISTRIBUTIONS)}.")
    return DISTRIBUTIONS[name]


BUILT_MARKER = ".intpkg-complete"


def ensure_installed(dist: Distribution, cache: Path, *, java_home: Path | None = None, offline: bool = False,
                     quiet: bool = False) -> Path:
    """Return the unpacked (and, for Elasticsearch, completed) engine home, provisioning it first if needed."""
    home = cache / "engines" / dist.folder_name
    marker = home / BUILT_MARKER
    if (home / dist.launcher).is_file() and marker.is_file() and marker.read_text() == _marker_text(dist):
        return home
    staging = home.parent / (home.name + ".partial")
    archive = _download(dist.coordinates, dist.folder_name + ".zip", cache, offline=offline, quiet=quiet)
    _unpack(archive, staging, dist)
    archive.unlink()  # Maven's repository keeps its own copy
    if dist.source is not None:
        if java_home is None:
            raise IntpkgError("Building Elasticsearch's modules needs a JDK; no java_home was given.")
        _build_modules(dist, staging, cache, java_home, offline=offline, quiet=quiet)
    (staging / BUILT_MARKER).write_text(_marker_text(dist))
    _make_readable(staging)
    shutil.rmtree(home, ignore_errors=True)
    staging.rename(home)
    return home


def _marker_text(dist: Distribution) -> str:
    """What a complete engine home records: its archive and, when built from source, the module set."""
    if dist.source is None:
        return dist.coordinates + "\n"
    from intpkg.stack import es_modules

    return f"{dist.coordinates}\n{dist.source.version} modules {es_modules.fingerprint()}\n"


def _build_modules(dist: Distribution, home: Path, cache: Path, java_home: Path, *, offline: bool,
                   quiet: bool) -> None:
    from intpkg.stack import es_modules

    assert dist.source is not None
    source_zip = fetch_source(dist.source, cache, offline=offline, quiet=quiet)
    maven_dir = cache / "downloads" / f"{dist.folder_name}-module-deps"
    jars = {c: es_modules.jar_file_name(c) for c in es_modules.maven_artifacts(dist.version)}
    _download_jars(jars, cache, maven_dir, offline=offline)
    work = cache / "build" / dist.folder_name
    shutil.rmtree(work, ignore_errors=True)
    if not quiet:
        print(f"Compiling Elasticsearch {dist.version}'s modules from source with {java_home} ...", file=sys.stderr)
    root = es_modules.extract_sources(source_zip, work / "src")
    es_modules.ModuleBuilder(home, root, maven_dir, work, java_home, dist.version, quiet=quiet).build_all()
    shutil.rmtree(work, ignore_errors=True)


def fetch_source(source: SourceArchive, cache: Path, *, offline: bool = False, quiet: bool = False) -> Path:
    """Download the source archive from the Go module proxy (INTPKG_GOPROXY) once; verify its SHA-256."""
    target = cache / "downloads" / f"{source.module.replace('/', '_')}@{source.version}.zip"
    if target.is_file() and _sha256(target) == source.sha256:
        return target
    if offline:
        raise IntpkgError(f"{target} is not cached and --offline forbids downloading it.")
    proxy = os.environ.get(GOPROXY_ENV, "https://proxy.golang.org")
    url = source.url(proxy)
    if not quiet:
        print(f"Downloading Elasticsearch's source {source.version} from {proxy} ...", file=sys.stderr)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    try:
        with requests.get(url, stream=True, timeout=60) as response:
            response.raise_for_status()
            with partial.open("wb") as fh:
                for chunk in response.iter_content(1 << 20):
                    fh.write(chunk)
    except requests.RequestException as exc:
        raise IntpkgError(f"Could not download {url}: {exc}. Set {GOPROXY_ENV} to a reachable Go module proxy, "
                          f"or use {ENGINE_ENV}=opensearch, or an existing cluster with --es-url.") from None
    digest = _sha256(partial)
    if digest != source.sha256:
        partial.unlink()
        raise IntpkgError(f"{url} has SHA-256 {digest}, expected {source.sha256}; refusing to build from it.")
    partial.rename(target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(coordinates: str, file_name: str, cache: Path, *, offline: bool, quiet: bool) -> Path:
    """Copy one artifact from Maven Central (through the cached local repository) into `cache/downloads`."""
    out_dir = cache / "downloads"
    artifact = out_dir / file_name
    if artifact.is_file():
        return artifact
    out_dir.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(f"Downloading {coordinates} from Maven Central (cached in {cache / 'm2'}) ...", file=sys.stderr)
    proc = _maven(["org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy", f"-Dartifact={coordinates}",
                   f"-DoutputDirectory={out_dir}"], cache, offline=offline, what=coordinates)
    if not quiet:
        for line in proc.stdout.splitlines():
            if file_name.removesuffix(".zip") in line and ("Download" in line or "Progress" in line):
                print("  " + line.replace("[INFO] ", ""), file=sys.stderr)
    if not artifact.is_file():
        raise IntpkgError(f"Maven fetched {coordinates} but {artifact} is missing.")
    return artifact


def _download_jars(jars: dict[str, str], cache: Path, out_dir: Path, *, offline: bool) -> None:
    """Copy the jars {coordinates: file name} that `out_dir` lacks, with one Maven run (no transitive jars)."""
    missing = {c: name for c, name in jars.items() if not (out_dir / name).is_file()}
    if not missing:
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    dependencies = "".join(
        f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version></dependency>"
        for g, a, v in (c.split(":") for c in missing)
    )
    pom = cache / "build" / f"{out_dir.name}.pom.xml"
    pom.parent.mkdir(parents=True, exist_ok=True)
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>intpkg</groupId><artifactId>module-deps</artifactId><version>0</version><packaging>pom</packaging>"
        f"<dependencies>{dependencies}</dependencies></project>\n"
    )
    _maven(["-f", str(pom.resolve()), "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
            f"-DoutputDirectory={out_dir}", "-DexcludeTransitive=true"], cache, offline=offline,
           what=", ".join(missing))
    absent = [c for c, name in missing.items() if not (out_dir / name).is_file()]
    if absent:
        raise IntpkgError(f"Maven ran but did not copy {', '.join(absent)} into {out_dir}.")


def _maven(goal: list[str], cache: Path, *, offline: bool, what: str) -> subprocess.CompletedProcess:
    """Run one Maven goal against the cached local repository; a failure names `what` could not be fetched."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise IntpkgError(
            "Maven (mvn) is not on PATH. The local search node is provisioned from Maven Central "
            "with Maven; install it (Debian: apt-get install maven) or point intpkg at an existing "
            "cluster with --es-url / INTPKG_ES_URL."
        )
    cmd = [
        mvn,
        "-B",
        "-Dstyle.color=never",
        f"-Dmaven.repo.local={(cache / 'm2').resolve()}",
        *goal,
        # progress lines for downloads; plain log level otherwise
        "-Dorg.slf4j.simpleLogger.log.org.apache.maven.cli.transfer.Slf4jMavenTransferListener=info",
    ]
    if offline:
        cmd.insert(1, "--offline")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cache)
    if proc.returncode != 0:
        tail = "\n".join([line for line in proc.stdout.splitlines() if "ERROR" in line][-6:])
        raise IntpkgError(
            f"Maven could not fetch {what} (exit {proc.returncode}). Maven Central may be "
            f"unreachable (offline, proxy, firewall) or the version may not exist. Maven said:\n{tail}"
        )
    return proc


def _unpack(archive: Path, staging: Path, dist: Distribution) -> None:
    """Unpack into `staging` (replaced if present), keeping Unix file modes (zipfile drops them otherwise)."""
    shutil.rmtree(staging, ignore_errors=True)
    unpacked = staging.parent / (staging.name + ".unzip")
    shutil.rmtree(unpacked, ignore_errors=True)
    unpacked.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = zf.extract(info, unpacked)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)
    inner = unpacked / dist.folder_name
    if not (inner / dist.launcher).is_file():
        raise IntpkgError(f"{archive} does not contain {dist.folder_name}/{dist.launcher}; the archive is unusable.")
    inner.rename(staging)
    shutil.rmtree(unpacked, ignore_errors=True)


def _make_readable(home: Path) -> None:
    """Readable by the unprivileged user the node may run as when intpkg runs as root."""
    for path in [home, *home.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | 0o444 | (0o111 if path.is_dir() or mode & 0o100 else 0))
