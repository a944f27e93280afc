"""Which engine `intpkg stack up` runs, and the download of Elasticsearch from a (local) Elastic site.

The download tests serve a small generated distribution archive from a local HTTP server that
stands in for Elastic's download site (INTPKG_ES_DOWNLOAD_URL).
"""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from intpkg import settings
from intpkg.errors import IntpkgError
from intpkg.stack import distribution
from intpkg.stack.distribution import ELASTICSEARCH_VERSION, Engine, platform_archive, provision

ARCHIVE = platform_archive()


def distribution_files(version: str = ELASTICSEARCH_VERSION, *, ingest: bool = True) -> dict[str, bytes]:
    """The few files of an Elasticsearch distribution that provisioning looks at."""
    files = {
        "bin/elasticsearch": b"#!/bin/sh\nexit 0\n",
        f"lib/elasticsearch-{version}.jar": b"PK",
        "config/jvm.options": b"-Xss1m\n",
        "config/log4j2.properties": b"status = error\n",
    }
    if ingest:
        files["modules/ingest-common/ingest-common.jar"] = b"PK"
    return files


def make_tarball(files: dict[str, bytes], top: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            info.mode = 0o755 if name.startswith("bin/") else 0o644
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "bin" / "elasticsearch").chmod(0o755)
    return root


class Site:
    """A local stand-in for Elastic's download folder: serves `files`; names in `truncate` are cut short."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                name = self.path.rsplit("/", 1)[-1]
                site.requests.append(name)
                body = site.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if name in site.truncate else body)
                if name in site.truncate:
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/downloads/elasticsearch"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, archive: bytes, checksum: str | None = None) -> None:
        digest = checksum or hashlib.sha512(archive).hexdigest()
        self.files[ARCHIVE] = archive
        self.files[ARCHIVE + ".sha512"] = f"{digest}  {ARCHIVE}\n".encode()


@pytest.fixture
def site(monkeypatch):
    served = Site()
    monkeypatch.setenv(settings.DOWNLOAD_URL_ENV, served.url)
    yield served
    served.server.shutdown()


@pytest.fixture
def clean_env(monkeypatch):
    for name in (settings.ENGINE_ENV, settings.DISTRIBUTION_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def opensearch_stub(monkeypatch) -> list[str]:
    """Record the reason OpenSearch was chosen instead of provisioning it (Maven is not the subject here)."""
    reasons: list[str] = []

    def fake(cache: Path, why: str, **_: object) -> Engine:
        reasons.append(why)
        return Engine(distribution.OPENSEARCH, distribution.OPENSEARCH_VERSION, cache / "os", why)

    monkeypatch.setattr(distribution, "_opensearch", fake)
    return reasons


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/downloads/elasticsearch"


def test_a_good_archive_is_verified_unpacked_and_then_reused(site, clean_env, opensearch_stub, tmp_path) -> None:
    site.publish(make_tarball(distribution_files(), f"elasticsearch-{ELASTICSEARCH_VERSION}"))
    engine = provision(tmp_path / "cache", quiet=True)
    assert (engine.flavor.name, engine.version) == ("elasticsearch", ELASTICSEARCH_VERSION)
    assert "SHA-512 verified" in engine.reason and site.url in engine.reason
    assert (engine.home / "bin" / "elasticsearch").stat().st_mode & 0o111
    assert (engine.home / "modules" / "ingest-common").is_dir()
    assert list((tmp_path / "cache" / "downloads").iterdir()) == []  # the archive is not kept beside the home
    assert site.requests == [ARCHIVE + ".sha512", ARCHIVE]

    again = provision(tmp_path / "cache", quiet=True)
    assert again.home == engine.home and "downloaded earlier" in again.reason
    assert len(site.requests) == 2  # nothing downloaded twice
    assert opensearch_stub == []


def test_a_checksum_mismatch_keeps_nothing(site, clean_env, monkeypatch, tmp_path) -> None:
    site.publish(make_tarball(distribution_files(), f"elasticsearch-{ELASTICSEARCH_VERSION}"), checksum="ab" * 64)
    monkeypatch.setenv(settings.ENGINE_ENV, "elasticsearch")
    with pytest.raises(IntpkgError, match="SHA-512 .* but the published checksum is abab"):
        provision(tmp_path / "cache", quiet=True)
    assert not (tmp_path / "cache" / "engines").exists()
    assert list((tmp_path / "cache" / "downloads").iterdir()) == []


def test_a_truncated_download_keeps_nothing_and_falls_back(site, clean_env, opensearch_stub, tmp_path) -> None:
    site.publish(make_tarball(distribution_files(), f"elasticsearch-{ELASTICSEARCH_VERSION}"))
    site.truncate.add(ARCHIVE)
    engine = provision(tmp_path / "cache", quiet=True)
    assert engine.flavor.name == "opensearch"
    assert "truncated" in opensearch_stub[0] or "broke off" in opensearch_stub[0]
    assert list((tmp_path / "cache" / "downloads").iterdir()) == []


def test_an_unreachable_site_costs_seconds_once_and_is_remembered(clean_env, opensearch_stub, monkeypatch,
                                                                  tmp_path) -> None:
    monkeypatch.setenv(settings.DOWNLOAD_URL_ENV, closed_port_url())
    started = time.monotonic()
    engine = provision(tmp_path / "cache", quiet=True)
    assert time.monotonic() - started < 10
    assert engine.flavor.name == "opensearch" and "unreachable" in opensearch_stub[0]

    monkeypatch.setenv(settings.ENGINE_ENV, "elasticsearch")  # forced: the remembered failure is the error
    with pytest.raises(IntpkgError, match="not trying again for an hour.*INTPKG_ES_DISTRIBUTION"):
        provision(tmp_path / "cache", quiet=True)


def test_a_supplied_folder_wins_over_any_download(clean_env, opensearch_stub, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(settings.DOWNLOAD_URL_ENV, closed_port_url())
    folder = make_folder(tmp_path / "es-9", distribution_files("9.1.3"))
    monkeypatch.setenv(settings.DISTRIBUTION_ENV, str(folder))
    engine = provision(tmp_path / "cache", quiet=True)
    assert (engine.flavor.name, engine.version, engine.home) == ("elasticsearch", "9.1.3", folder)
    assert engine.min_java == 21 and f"INTPKG_ES_DISTRIBUTION={folder}" in engine.reason
    assert not (tmp_path / "cache" / "unreachable").exists()  # no download was even tried


def test_a_supplied_archive_is_unpacked_once(clean_env, tmp_path) -> None:
    archive = tmp_path / "elasticsearch-8.18.2-linux-x86_64.tar.gz"
    archive.write_bytes(make_tarball(distribution_files("8.18.2"), "elasticsearch-8.18.2"))
    engine = provision(tmp_path / "cache", distribution=archive, quiet=True)
    assert (engine.version, engine.min_java) == ("8.18.2", 17)
    assert "--distribution" in engine.reason and (engine.home / "bin" / "elasticsearch").is_file()
    assert provision(tmp_path / "cache", distribution=archive, quiet=True).home == engine.home


@pytest.mark.parametrize(("files", "message"), [
    (distribution_files("7.17.9"), "is Elasticsearch 7.17.9; Elasticsearch 8.x or 9.x is needed"),
    (distribution_files(ingest=False), "without modules/ingest-common"),
    ({"README.txt": b"hello"}, "not an Elasticsearch distribution"),
])
def test_an_unusable_supplied_distribution_is_named(clean_env, monkeypatch, tmp_path, files, message) -> None:
    folder = tmp_path / "dist"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    monkeypatch.setenv(settings.DISTRIBUTION_ENV, str(folder))
    with pytest.raises(IntpkgError, match=f"INTPKG_ES_DISTRIBUTION={folder}.*{message}"):
        provision(tmp_path / "cache", quiet=True)


def test_forcing_opensearch_skips_elasticsearch(site, clean_env, opensearch_stub, monkeypatch, tmp_path) -> None:
    site.publish(make_tarball(distribution_files(), f"elasticsearch-{ELASTICSEARCH_VERSION}"))
    monkeypatch.setenv(settings.ENGINE_ENV, "OpenSearch")
    assert provision(tmp_path / "cache", quiet=True).flavor.name == "opensearch"
    assert opensearch_stub == ["INTPKG_ENGINE=opensearch"] and site.requests == []


def test_an_unknown_engine_is_refused(clean_env, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(settings.ENGINE_ENV, "solr")
    with pytest.raises(IntpkgError, match="INTPKG_ENGINE='solr' is not one of: elasticsearch, opensearch"):
        provision(tmp_path / "cache", quiet=True)


def test_a_machine_that_cannot_run_elasticsearch_gets_opensearch_unless_forced(site, clean_env, opensearch_stub,
                                                                                monkeypatch, tmp_path) -> None:
    site.publish(make_tarball(distribution_files(), f"elasticsearch-{ELASTICSEARCH_VERSION}"))
    blocked = "running as root without user namespaces"
    assert provision(tmp_path / "cache", quiet=True, elasticsearch_blocked=blocked).flavor.name == "opensearch"
    assert blocked in opensearch_stub[0] and site.requests == []
    monkeypatch.setenv(settings.ENGINE_ENV, "elasticsearch")
    assert provision(tmp_path / "cache", quiet=True, elasticsearch_blocked=blocked).flavor.name == "elasticsearch"


def test_commands_given_an_external_cluster_never_touch_local_provisioning(search_target, monkeypatch,
                                                                           capsys) -> None:
    from intpkg.cli import main
    from intpkg.stack import node, rootless

    def forbidden(*args, **kwargs):
        raise AssertionError("local-node provisioning was touched")

    for module, name in ((node, "root_drop"), (rootless, "root_drop"), (rootless, "user_namespaces_available"),
                         (node, "provision"), (distribution, "provision")):
        monkeypatch.setattr(module, name, forbidden)
    for name in ("INTPKG_ES_URL", "INTPKG_ES_API_KEY", "INTPKG_ES_USERNAME", "INTPKG_ES_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert main(["stack", "status", "--es-url", search_target.url]) == 0
    assert main(["stack", "up", "--es-url", search_target.url]) == 0
    out = capsys.readouterr().out
    assert "Using the external cluster" in out and "health" in out
