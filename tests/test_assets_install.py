"""`intpkg install` / `uninstall` against the real node: idempotent, version-aware, complete."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from fixtures.lint.pkgcopy import copy_real_package, set_manifest
from intpkg.assets.install import install_package, uninstall_package
from intpkg.builder import build_package
from intpkg.package import Package
from intpkg.stack.client import SearchClient
from intpkg.testing.pipeline import installer
from intpkg.yamlpos import read_yaml

REPO = Path(__file__).resolve().parents[1]
BASE = "logs-cloudflare.audit"


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of the package, so that tests can change its version without touching the repository."""
    return copy_real_package(tmp_path / "pkg")


def set_version(package_dir: Path, version: str) -> None:
    manifest = read_yaml(package_dir / "manifest.yml")
    manifest["version"] = version
    (package_dir / "manifest.yml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def pipelines(client: SearchClient, base: str = BASE) -> set[str]:
    return set(client.request("GET", f"/_ingest/pipeline/{base}-*", ignore=(404,)) or {}) - {"error", "status"}


def component_template(client: SearchClient, name: str) -> dict | None:
    found = client.request("GET", f"/_component_template/{name}", ignore=(404,)).get("component_templates")
    return found[0]["component_template"] if found else None


@pytest.fixture
def own_package(tmp_path: Path, search_client: SearchClient):
    """A copy of the package under a name of its own, so that no other test's assets are touched."""
    root = copy_real_package(tmp_path / "own")
    set_manifest(root, name=f"inst_{uuid.uuid4().hex[:8]}")
    yield root
    uninstall_package(search_client, root, delete_data=True)


@pytest.fixture
def clean(search_client: SearchClient):
    uninstall_package(search_client, REPO, delete_data=True)
    yield
    uninstall_package(search_client, REPO, delete_data=True)


def test_install_is_idempotent_and_upgrades_replace_old_pipelines(search_client, package_copy, clean) -> None:
    set_version(package_copy, "0.0.9")
    first = install_package(search_client, package_copy)
    assert first.previous_version is None
    old = pipelines(search_client)
    assert f"{BASE}-0.0.9" in old and len(old) == len(list((package_copy / "data_stream/audit/elasticsearch"
                                                               "/ingest_pipeline").glob("*.yml")))
    again = install_package(search_client, package_copy)
    assert pipelines(search_client) == old and again.removed == []

    set_version(package_copy, "0.1.0")
    upgrade = install_package(search_client, package_copy)
    assert upgrade.previous_version == "0.0.9"
    now = pipelines(search_client)
    assert not any("0.0.9" in name for name in now), now
    assert f"{BASE}-0.1.0" in now
    template = search_client.request("GET", f"/_index_template/{BASE}")["index_templates"][0]["index_template"]
    assert template["_meta"]["package"]["version"] == "0.1.0"
    component = search_client.request("GET", f"/_component_template/{BASE}@package")
    settings = component["component_templates"][0]["component_template"]["template"]["settings"]["index"]
    assert settings["default_pipeline"] == f"{BASE}-0.1.0"


def test_installed_data_stream_runs_the_pipeline_and_maps_fields(search_client, clean) -> None:
    install_package(search_client, REPO)
    cases = REPO / "data_stream/audit/_dev/test/pipeline"
    original = (cases / "test-audit-v2.log").read_text().splitlines()[0]  # one v2 record, as collected
    assert json.loads(original)["actor"]["ip_address"] == "89.160.20.128"
    index = f"{BASE}-intpkgtest"
    search_client.request("POST", f"/{index}/_doc", params={"refresh": "true", "op_type": "create"},
                          body={"@timestamp": "2025-01-01T00:00:00Z", "message": original})
    hits = search_client.request("GET", f"/{index}/_search")["hits"]["hits"]
    assert len(hits) == 1
    doc = hits[0]["_source"]
    assert "error" not in doc, doc.get("error")
    assert doc["event"]["kind"] == "event" and doc["cloudflare"]["audit"]
    mapping = search_client.request("GET", f"/{index}/_mapping")
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert props["source"]["properties"]["ip"]["type"] == "ip"
    assert props["source"]["properties"]["geo"]["properties"]["location"]["type"] == "geo_point"
    assert doc["source"]["geo"]["city_name"] == "Linköping"
    assert props["@timestamp"]["type"] == "date"


def test_uninstall_removes_everything_it_installed(search_client, clean) -> None:
    install_package(search_client, REPO)
    removed = uninstall_package(search_client, REPO)
    assert f"index template {BASE}" in removed and f"component template {BASE}@package" in removed
    assert pipelines(search_client) == set()
    assert search_client.request("GET", f"/_index_template/{BASE}", ignore=(404,)).get("status") == 404
    assert uninstall_package(search_client, REPO) == []


def test_uninstall_keeps_the_users_custom_template_until_the_data_goes(search_client, own_package) -> None:
    base = f"logs-{Package.load(own_package).name}.audit"
    install_package(search_client, own_package)
    custom = {"template": {"settings": {"index": {"refresh_interval": "7s"}}}}
    search_client.request("PUT", f"/_component_template/{base}@custom", body=custom)

    removed = uninstall_package(search_client, own_package)
    assert f"component template {base}@package" in removed and f"component template {base}@custom" not in removed
    assert component_template(search_client, f"{base}@package") is None
    kept = component_template(search_client, f"{base}@custom")
    assert kept is not None and kept["template"]["settings"]["index"]["refresh_interval"] == "7s"

    install_package(search_client, own_package)  # a reinstall applies the kept settings again
    kept = component_template(search_client, f"{base}@custom")
    assert kept is not None and kept["template"]["settings"]["index"]["refresh_interval"] == "7s"

    removed = uninstall_package(search_client, own_package, delete_data=True)
    assert f"component template {base}@custom" in removed
    assert component_template(search_client, f"{base}@custom") is None


def test_uninstall_removes_the_pipelines_of_the_installed_version(search_client, own_package) -> None:
    base = f"logs-{Package.load(own_package).name}.audit"
    set_manifest(own_package, version="0.0.9")
    install_package(search_client, own_package)
    installed = pipelines(search_client, base)
    assert f"{base}-0.0.9" in installed
    set_manifest(own_package, version="0.1.0")  # the package at hand is newer than the installed one
    removed = uninstall_package(search_client, own_package)
    assert {f"ingest pipeline {name}" for name in installed} <= set(removed)
    assert pipelines(search_client, base) == set()


def test_uninstall_leaves_pipeline_test_runs_alone(search_client, own_package) -> None:
    package = Package.load(own_package)
    base = f"logs-{package.name}.audit"
    install_package(search_client, own_package)
    test_run = installer.install(search_client, package.data_stream("audit"))  # `<base>-<version>-<nonce>`
    try:
        uninstall_package(search_client, own_package)
        assert pipelines(search_client, base) == set(test_run.names.values())
    finally:
        test_run.delete()


def test_a_built_package_installs_like_its_source(search_client, own_package, ecs, tmp_path) -> None:
    """A build has its ECS fields resolved and no `_dev/build/build.yml`: it installs without an ECS reference."""
    base = f"logs-{Package.load(own_package).name}.audit"
    built = build_package(own_package, tmp_path / "build", ecs=ecs, make_zip=False, update_source_docs=False)
    assert not (built.folder / "_dev").exists()
    install_package(search_client, own_package)
    from_source = component_template(search_client, f"{base}@package")
    uninstall_package(search_client, own_package)
    install_package(search_client, built.folder)
    assert component_template(search_client, f"{base}@package") == from_source
