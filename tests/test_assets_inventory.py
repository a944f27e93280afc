"""The asset inventory names exactly what install_package installs, and sees it come and go."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest

from fixtures.lint.pkgcopy import FIXTURE, copy_real_package, set_manifest
from intpkg.assets.install import install_package, uninstall_package
from intpkg.assets.inventory import Asset, asset_inventory
from intpkg.stack.client import SearchClient

ES_KINDS = {"ingest pipeline": "ingest_pipeline", "component template": "component_template",
            "index template": "index_template"}


@pytest.fixture
def package(tmp_path: Path, search_client: SearchClient):
    """A copy of the package under a name of its own (no other test's assets), with Kibana objects."""
    root = copy_real_package(tmp_path / "pkg")
    set_manifest(root, name=f"inv_{uuid.uuid4().hex[:8]}")
    shutil.copytree(FIXTURE / "kibana", root / "kibana", dirs_exist_ok=True)  # the renamed copy has none of its own
    rule = {"id": "cf-rule-1", "type": "security-rule", "attributes": {"name": "Cloudflare token created"}}
    (root / "kibana" / "security_rule").mkdir()
    (root / "kibana" / "security_rule" / "cf-rule-1.json").write_text(json.dumps(rule))
    (root / "kibana" / "tag").mkdir()
    (root / "kibana" / "tag" / "cf-tag.json").write_text("{}")  # a kind the inventory does not list
    yield root
    uninstall_package(search_client, root, delete_data=True)


def elasticsearch(assets: list[Asset]) -> dict[tuple[str, str], bool]:
    return {(a.kind, a.name): a.installed for a in assets if a.service == "elasticsearch"}


def test_inventory_names_what_install_installs(search_client, package) -> None:
    before = elasticsearch(asset_inventory(search_client, package))
    report = install_package(search_client, package)
    installed = {(ES_KINDS[line.rsplit(" ", 1)[0]], line.rsplit(" ", 1)[1]) for line in report.installed
                 if line.rsplit(" ", 1)[0] in ES_KINDS}
    assert set(before) == installed
    assert {kind for kind, _ in before} == set(ES_KINDS.values())
    pipeline_files = list(package.glob("data_stream/*/elasticsearch/ingest_pipeline/*.yml"))
    assert sum(kind == "ingest_pipeline" for kind, _ in before) == len(pipeline_files) > 2


def test_inventory_follows_install_and_uninstall(search_client, package) -> None:
    assert not any(elasticsearch(asset_inventory(search_client, package)).values())

    install_package(search_client, package)
    after_install = elasticsearch(asset_inventory(search_client, package))
    assert all(after_install.values()), [name for name, ok in after_install.items() if not ok]

    uninstall_package(search_client, package)
    left = {name for (kind, name), ok in elasticsearch(asset_inventory(search_client, package)).items() if ok}
    assert left and all(name.endswith("@custom") for name in left)  # the user's settings stay

    uninstall_package(search_client, package, delete_data=True)
    assert not any(elasticsearch(asset_inventory(search_client, package)).values())


def test_kibana_objects_are_listed_from_the_package_and_installed_with_it(search_client, package) -> None:
    assert not any(a.installed for a in asset_inventory(search_client, package) if a.service == "kibana")
    report = install_package(search_client, package)
    assert "security_rule cf-rule-1" in report.installed
    kibana = [a for a in asset_inventory(search_client, package) if a.service == "kibana"]
    assert [(a.kind, a.name, a.title) for a in kibana] == [
        ("dashboard", "cloudflare-example-overview", "[Cloudflare] Example overview"),
        ("search", "cloudflare-example-search", "Example events"),
        ("security_rule", "cf-rule-1", "Cloudflare token created"),
    ]
    assert all(a.installed for a in kibana)  # kept in the cluster's saved-object store
    assert "dashboard cloudflare-example-overview" in uninstall_package(search_client, package)
    assert not any(a.installed for a in asset_inventory(search_client, package) if a.service == "kibana")
