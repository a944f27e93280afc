"""MaxMind's GeoLite2 test databases, for stable GeoIP results in tests.

The main job uses the engine's own GeoIP databases. Tests need fixed answers (89.160.20.128 is
Linköping, Sweden, AS29518 Bredband2 AB in every release of the test data), so they use the test
databases MaxMind publishes with its reader library: the `maxminddb` source distribution on PyPI
carries `tests/data/test-data/GeoLite2-{City,ASN,Country}-Test.mmdb`. It is fetched with pip,
pinned by version and SHA-256, and the three files are cached under `$INTPKG_HOME/cache/geoip/`.

OpenSearch refuses databases in its config folder that its module already bundles, so a node given
databases runs from a hard-linked copy of the engine home whose module holds them
(`opensearch_home_with_geoip`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from intpkg import download
from intpkg.errors import IntpkgError

MAXMINDDB_VERSION = "3.2.0"
MAXMINDDB_SDIST_SHA256 = "d28e0073fd1dd637c8b95947bc864b5625eca9f8f2db1538145e33b2a1cd4b92"
EDITIONS = ("City", "ASN", "Country")


def maxmind_test_databases(cache: Path) -> Path:
    """A folder with GeoLite2-{City,ASN,Country}-Test.mmdb, provisioned on first use."""
    folder = cache / "geoip" / f"maxminddb-{MAXMINDDB_VERSION}"
    wanted = [f"GeoLite2-{edition}-Test.mmdb" for edition in EDITIONS]
    if all((folder / name).is_file() for name in wanted):
        return folder
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        sdist = _pip_download(Path(tmp))
        digest = download.sha256_of(sdist)
        if digest != MAXMINDDB_SDIST_SHA256:
            raise IntpkgError(f"{sdist.name} has SHA-256 {digest}, expected {MAXMINDDB_SDIST_SHA256}; not using it.")
        staging = Path(tmp) / "out"
        staging.mkdir()
        prefix = f"maxminddb-{MAXMINDDB_VERSION}/tests/data/test-data/"
        with tarfile.open(sdist) as tf:
            for name in wanted:
                try:
                    member = tf.getmember(prefix + name)
                except KeyError:
                    raise IntpkgError(f"{sdist.name} has no {prefix}{name}") from None
                with tf.extractfile(member) as src, (staging / name).open("wb") as dst:
                    shutil.copyfileobj(src, dst)
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(folder)
    return folder


def _pip_download(into: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "--dest",
           str(into), f"maxminddb=={MAXMINDDB_VERSION}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    found = sorted(into.glob(f"maxminddb-{MAXMINDDB_VERSION}.tar.gz"))
    if proc.returncode != 0 or not found:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise IntpkgError(f"pip could not download maxminddb=={MAXMINDDB_VERSION}'s source distribution "
                          f"(MaxMind's GeoIP test databases): {last}. Set INTPKG_GEOIP_DIR to a folder with "
                          "GeoLite2-{City,ASN,Country}-Test.mmdb instead.")
    return found[0]




def geoip_database(source: Path, edition: str) -> Path:
    candidates = [source / f"GeoLite2-{edition}-Test.mmdb", source / f"GeoLite2-{edition}.mmdb"]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise IntpkgError(f"INTPKG_GEOIP_DIR={source} has no GeoLite2-{edition}-Test.mmdb or GeoLite2-{edition}.mmdb.")
    return found


def opensearch_home_with_geoip(home: Path, geoip_dir: Path) -> Path:
    """A copy of OpenSearch's home (hard links, so nearly free) whose ingest-geoip module holds `geoip_dir`'s databases.

    Keyed by the databases' content, so nodes with different databases (the main node with the
    bundled ones, the tests' node with MaxMind's test databases) can run side by side.
    """
    import hashlib

    found = {edition: geoip_database(geoip_dir, edition) for edition in EDITIONS}
    key = hashlib.sha256(b"".join(path.read_bytes() for path in found.values())).hexdigest()[:12]
    variant = home.with_name(f"{home.name}-geoip-{key}")  # no "+": OpenSearch reads paths as URLs
    marker = variant / ".intpkg-geoip"
    if marker.is_file():
        return variant
    staging = variant.with_name(variant.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(home, staging, symlinks=True, copy_function=_link_or_copy)
    module = staging / "modules" / "ingest-geoip"
    for edition, source in found.items():
        target = module / f"GeoLite2-{edition}.mmdb"
        target.unlink(missing_ok=True)  # never write through a hard link into the pristine home
        shutil.copyfile(source, target)
        target.chmod(0o644)
    (staging / ".intpkg-geoip").write_text(f"{geoip_dir}\n")
    shutil.rmtree(variant, ignore_errors=True)
    staging.rename(variant)
    return variant


def _link_or_copy(source: str, target: str) -> None:
    """A hard link where the file system allows one (nearly free), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)

