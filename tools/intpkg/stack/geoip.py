"""MaxMind's GeoLite2 test databases, for stable GeoIP results in tests.

The main job uses the engine's own GeoIP databases. Tests need fixed answers (89.160.20.128 is
Linköping, Sweden, AS29518 Bredband2 AB in every release of the test data), so they use the test
databases MaxMind publishes with its reader library: the `maxminddb` source distribution on PyPI
carries `tests/data/test-data/GeoLite2-{City,ASN,Country}-Test.mmdb`. It is fetched with pip,
pinned by version and SHA-256, and the three files are cached under `$INTPKG_HOME/cache/geoip/`.
"""

from __future__ import annotations

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
