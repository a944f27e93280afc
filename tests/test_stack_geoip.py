"""GeoIP databases: MaxMind's test databases for tests, the engine's own for everything else."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from intpkg import settings
from intpkg.errors import IntpkgError
from intpkg.stack import geoip
from intpkg.stack.geoip import maxmind_test_databases


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_test_databases_come_from_the_pinned_source_distribution() -> None:
    folder = maxmind_test_databases(settings.intpkg_home() / "cache")
    assert folder.name == f"maxminddb-{geoip.MAXMINDDB_VERSION}"
    assert sorted(p.name for p in folder.iterdir()) == [
        "GeoLite2-ASN-Test.mmdb", "GeoLite2-City-Test.mmdb", "GeoLite2-Country-Test.mmdb"]
    assert all(p.read_bytes().find(b"\xab\xcd\xefMaxMind.com") > 0 for p in folder.iterdir())  # mmdb metadata marker


def test_a_source_distribution_with_another_hash_is_refused(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(geoip, "MAXMINDDB_SDIST_SHA256", "0" * 64)
    with pytest.raises(IntpkgError, match="expected 0{64}; not using it"):
        maxmind_test_databases(tmp_path / "cache")
    assert not (tmp_path / "cache" / "geoip").exists()


def test_the_opensearch_test_node_leaves_the_engines_own_databases_alone(search_client) -> None:
    if search_client.target.external or search_client.flavor != "opensearch":
        pytest.skip("checks the local OpenSearch node's engine home")
    from conftest import TEST_NODE_DIR
    from intpkg.stack.node import LocalNode, NodeConfig

    meta = LocalNode(NodeConfig(state_dir=TEST_NODE_DIR)).metadata() or {}
    variant = Path(meta["engine_home"])
    pristine = variant.with_name(variant.name.split("-geoip-")[0])
    assert variant != pristine, "the test node runs from the pristine engine home"
    test_city = Path(meta["geoip_dir"]) / "GeoLite2-City-Test.mmdb"
    assert sha256(variant / "modules/ingest-geoip/GeoLite2-City.mmdb") == sha256(test_city)
    assert sha256(pristine / "modules/ingest-geoip/GeoLite2-City.mmdb") != sha256(test_city)


@pytest.mark.parametrize("links", [True, False])
def test_an_opensearch_home_variant_holds_the_given_databases_and_never_writes_the_original(tmp_path, monkeypatch,
                                                                                          links) -> None:
    if not links:  # a file system without hard links: copies
        monkeypatch.setattr(geoip.os, "link", lambda *a: (_ for _ in ()).throw(OSError("no links here")))
    home = tmp_path / "engines" / "opensearch-3.6.0"
    module = home / "modules" / "ingest-geoip"
    module.mkdir(parents=True)
    for edition in geoip.EDITIONS:
        (module / f"GeoLite2-{edition}.mmdb").write_bytes(b"bundled " + edition.encode())
    (home / "bin").mkdir()
    (home / "bin" / "opensearch").write_text("#!/bin/sh\n")
    given = tmp_path / "given"
    given.mkdir()
    for edition in geoip.EDITIONS:
        (given / f"GeoLite2-{edition}-Test.mmdb").write_bytes(b"test " + edition.encode())
    variant = geoip.opensearch_home_with_geoip(home, given)
    assert variant != home and (variant / "bin" / "opensearch").is_file()
    for edition in geoip.EDITIONS:
        installed = variant / "modules" / "ingest-geoip" / f"GeoLite2-{edition}.mmdb"
        assert installed.read_bytes() == b"test " + edition.encode()
        assert (module / f"GeoLite2-{edition}.mmdb").read_bytes() == b"bundled " + edition.encode()
    assert geoip.opensearch_home_with_geoip(home, given) == variant  # made once
