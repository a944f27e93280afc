"""What a package installs, and which of it is in the cluster: the "Assets" tab of the UI.

Elasticsearch assets are named by `intpkg.assets.names.stream_assets`, the function `install_package`
and `uninstall_package` use, for the package's own version; one is `installed` when the cluster has an
asset of that name (an older installed version's pipelines, named by their version, do not count).

Kibana assets are the package's `kibana/dashboard/*.json`, `kibana/search/*.json` and
`kibana/security_rule/*.json` files (other Kibana folders are not listed); one is `installed` when the
cluster's saved-object store (`intpkg.assets.saved_objects`) holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from intpkg.assets.names import stream_assets
from intpkg.assets.saved_objects import installed_saved_objects, package_objects
from intpkg.package import Package
from intpkg.stack.client import SearchClient
from intpkg.yamlpos import ParseError, read_yaml

AssetKind = Literal["index_template", "component_template", "ingest_pipeline", "dashboard", "search",
                    "security_rule"]


@dataclass(frozen=True)
class Asset:
    kind: AssetKind
    name: str  # Elasticsearch: the asset's name; Kibana: the saved object's id (its file name)
    service: Literal["elasticsearch", "kibana"]
    installed: bool
    title: str  # what to show: the Kibana object's title; the name for Elasticsearch assets


def asset_inventory(client: SearchClient, package_dir: Path) -> list[Asset]:
    """Every asset the package at `package_dir` installs, in install order per data stream, then Kibana's."""
    package = Package.load(package_dir)
    assets: list[Asset] = []
    for stream in package.data_streams():
        names = stream_assets(stream, package.version)
        wanted: list[tuple[AssetKind, str, str]] = [
            ("ingest_pipeline", name, f"/_ingest/pipeline/{name}") for name in names.pipelines.values()]
        wanted += [("component_template", name, f"/_component_template/{name}")
                   for name in (names.package_template, names.custom_template)]
        wanted.append(("index_template", names.index_template, f"/_index_template/{names.index_template}"))
        assets += [Asset(kind, name, "elasticsearch", _exists(client, path), title=name) for kind, name, path in wanted]
    return assets + kibana_assets(package.path, installed_saved_objects(client, package.name))


def kibana_assets(package_dir: Path, installed: set[tuple[str, str]] = frozenset()) -> list[Asset]:
    """The package's Kibana saved objects by kind and id; `installed`: the (kind, id) pairs the cluster holds."""
    return [Asset(kind, path.stem, "kibana", installed=(kind, path.stem) in installed,
                  title=_saved_object_title(path) or path.stem) for kind, path in package_objects(package_dir)]


def _saved_object_title(path: Path) -> str:
    """`attributes.title` (`attributes.name` for rules) of a saved object file; "" when unreadable."""
    try:
        data = read_yaml(path)
    except ParseError:
        return ""
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict):
        return ""
    title = attributes.get("title") or attributes.get("name")
    return title if isinstance(title, str) else ""


def _exists(client: SearchClient, path: str) -> bool:
    """Whether GET `path` finds the asset (404 means it is not there)."""
    found = client.request("GET", path, ignore=(404,))
    return bool(found) and found.get("status") != 404 and "error" not in found
