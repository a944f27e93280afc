"""Elasticsearch's modules built from source: descriptor parsing, the pinned source download, the built node."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from intpkg.errors import IntpkgError
from intpkg.stack import es_modules
from intpkg.stack.distribution import ELASTICSEARCH, SourceArchive, fetch_source

GRADLE = """
apply plugin: 'elasticsearch.internal-es-plugin'

esplugin {
  name = 'constant-keyword'
  description = 'Module for the constant-keyword field type.'
  classname ='org.elasticsearch.xpack.constantkeyword.ConstantKeywordMapperPlugin'
  extendedPlugins = ['x-pack-core', 'lang-painless']
}

dependencies {
  compileOnly project(':modules:lang-painless:spi')
}
"""


def test_plugin_block_of_build_gradle_gives_the_descriptor_fields() -> None:
    found = es_modules._gradle_plugin_block(GRADLE)
    assert found == {
        "name": "constant-keyword",
        "description": "Module for the constant-keyword field type.",
        "classname": "org.elasticsearch.xpack.constantkeyword.ConstantKeywordMapperPlugin",
        "extendedPlugins": ["x-pack-core", "lang-painless"],
    }


def test_build_gradle_without_a_classname_is_refused() -> None:
    with pytest.raises(IntpkgError, match="no classname"):
        es_modules._gradle_plugin_block("esplugin {\n  description = 'x'\n}\n")


def test_module_name_comes_from_module_info(tmp_path: Path) -> None:
    info = tmp_path / "module-info.java"
    info.write_text("/* licence */\nmodule org.elasticsearch.ingest.common {\n"
                    "    requires org.elasticsearch.server;\n}\n")
    assert es_modules._module_name(info) == "org.elasticsearch.ingest.common"


def test_every_maven_artifact_has_a_version_and_the_release_is_substituted() -> None:
    artifacts = es_modules.maven_artifacts("8.19.4")
    assert len(artifacts) == len(set(artifacts))
    assert "org.elasticsearch.client:elasticsearch-rest-client:8.19.4" in artifacts
    assert all(len(a.split(":")) == 3 and "{" not in a for a in artifacts)
    assert es_modules.jar_file_name("org.antlr:antlr4-runtime:4.13.1") == "antlr4-runtime-4.13.1.jar"


@pytest.fixture
def go_proxy(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A loopback Go module proxy serving files from a folder; yields (url, folder, requested paths)."""
    root = tmp_path / "proxy"
    root.mkdir()
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):  # noqa: N802 - http.server's naming
            requested.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", root, requested
    server.shutdown()


def _publish(root: Path, module: str, version: str, payload: bytes) -> None:
    folder = root / module / "@v"
    folder.mkdir(parents=True)
    (folder / f"{version}.zip").write_bytes(payload)


def test_source_with_the_pinned_checksum_is_downloaded_once(go_proxy, tmp_path, monkeypatch) -> None:
    url, root, requested = go_proxy
    payload = b"PK-pretend-source"
    _publish(root, "example.com/engine", "v1.0.0", payload)
    source = SourceArchive("example.com/engine", "v1.0.0", hashlib.sha256(payload).hexdigest())
    monkeypatch.setenv("INTPKG_GOPROXY", url)
    first = fetch_source(source, tmp_path / "cache", quiet=True)
    second = fetch_source(source, tmp_path / "cache", quiet=True)
    assert first == second and first.read_bytes() == payload
    assert requested == ["/example.com/engine/@v/v1.0.0.zip"]


def test_source_with_another_checksum_is_refused_and_not_kept(go_proxy, tmp_path, monkeypatch) -> None:
    url, root, _ = go_proxy
    _publish(root, "example.com/engine", "v1.0.0", b"tampered")
    source = SourceArchive("example.com/engine", "v1.0.0", "0" * 64)
    monkeypatch.setenv("INTPKG_GOPROXY", url)
    with pytest.raises(IntpkgError, match="expected 0{64}; refusing to build from it"):
        fetch_source(source, tmp_path / "cache", quiet=True)
    assert list((tmp_path / "cache" / "downloads").iterdir()) == []


def test_unreachable_proxy_names_the_setting(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("INTPKG_GOPROXY", "http://127.0.0.1:9")
    with pytest.raises(IntpkgError, match="Set INTPKG_GOPROXY to a reachable Go module proxy"):
        fetch_source(ELASTICSEARCH.source, tmp_path / "cache", quiet=True)


def test_the_built_node_loads_every_module(search_client) -> None:
    if search_client.target.external or search_client.flavor != "elasticsearch":
        pytest.skip("checks the embedded Elasticsearch node")
    nodes = search_client.request("GET", "/_nodes/plugins")["nodes"]
    loaded = {m["name"] for node in nodes.values() for m in node["modules"]}
    assert {spec.name for spec in es_modules.MODULES} <= loaded


@pytest.mark.parametrize(("userns", "tmp_open", "engine_env", "expected"), [
    (True, False, None, "elasticsearch"),
    (False, True, None, "elasticsearch"),
    (False, False, None, "opensearch"),  # Elasticsearch could not start here
    (False, False, "elasticsearch", "elasticsearch"),  # an explicit choice is kept
])
def test_root_without_user_namespaces_or_open_tmp_falls_back_to_opensearch(monkeypatch, capsys, userns, tmp_open,
                                                                           engine_env, expected) -> None:
    from intpkg.stack import node

    monkeypatch.setattr(node.os, "geteuid", lambda: 0)
    monkeypatch.setattr(node, "user_namespaces_available", lambda: userns)
    monkeypatch.setattr(node, "_tmp_writable_by_others", lambda: tmp_open)
    monkeypatch.setattr(node, "_WARNED_FALLBACK", False)
    if engine_env:
        monkeypatch.setenv("INTPKG_ENGINE", engine_env)
    else:
        monkeypatch.delenv("INTPKG_ENGINE", raising=False)
    assert node.default_distribution().flavor == expected
    warned = "Elasticsearch cannot start here" in capsys.readouterr().err
    assert warned == (expected == "opensearch")


def test_module_jars_already_present_need_no_maven(tmp_path, monkeypatch) -> None:
    from intpkg.stack.distribution import _download_jars

    out = tmp_path / "deps"
    out.mkdir()
    (out / "asm-7.2.jar").write_bytes(b"jar")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # Maven would not be found
    _download_jars({"org.ow2.asm:asm:7.2": "asm-7.2.jar"}, tmp_path / "cache", out, offline=True)


def test_module_jars_maven_cannot_fetch_are_named(tmp_path) -> None:
    from intpkg.stack.distribution import _download_jars

    with pytest.raises(IntpkgError, match="Maven could not fetch invalid.example:no-such-jar:1.0"):
        _download_jars({"invalid.example:no-such-jar:1.0": "no-such-jar-1.0.jar"}, tmp_path / "cache",
                       tmp_path / "deps", offline=True)
