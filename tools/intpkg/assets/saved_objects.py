"""The package's Kibana saved objects (dashboards, saved searches, security rules), kept in the cluster.

intpkg has no Kibana; installing a package also stores its `kibana/<type>/*.json` objects in the index
`intpkg-saved-objects` (document id `<type>:<id>`, the object's attributes and references kept whole
and unindexed), as Kibana keeps them in its own index. That is what the UI's Assets tab reports as
installed; uninstalling removes them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from intpkg.package import Package
from intpkg.stack.client import SearchClient
from intpkg.yamlpos import read_yaml

INDEX = "intpkg-saved-objects"
KINDS = ("dashboard", "search", "security_rule")
_MAPPINGS = {"dynamic": "strict", "properties": {
    "type": {"type": "keyword"}, "id": {"type": "keyword"}, "title": {"type": "keyword"},
    "package": {"properties": {"name": {"type": "keyword"}, "version": {"type": "keyword"}}},
    "updated_at": {"type": "date", "format": "epoch_millis"},
    "object": {"type": "object", "enabled": False}}}


def package_objects(package_dir: Path) -> list[tuple[str, Path]]:
    """(kind, file) of every saved object the package ships, in kind order."""
    return [(kind, path) for kind in KINDS for path in sorted((package_dir / "kibana" / kind).glob("*.json"))]


def install_saved_objects(client: SearchClient, package: Package) -> list[str]:
    """Store the package's saved objects (replacing those of an earlier install); `<kind> <id>` for each."""
    _ensure_index(client)
    uninstall_saved_objects(client, package.name)
    installed = []
    for kind, path in package_objects(package.path):
        data: dict[str, Any] = read_yaml(path)
        attributes = data.get("attributes") or {}
        document = {"type": kind, "id": path.stem, "title": attributes.get("title") or attributes.get("name") or "",
                    "package": {"name": package.name, "version": package.version},
                    "updated_at": int(time.time() * 1000), "object": data}
        client.request("PUT", f"/{INDEX}/_doc/{kind}:{path.stem}", body=document)
        installed.append(f"{kind} {path.stem}")
    client.request("POST", f"/{INDEX}/_refresh")
    return installed


def uninstall_saved_objects(client: SearchClient, package_name: str) -> list[str]:
    """Remove the package's stored saved objects; `<kind> <id>` for each removed."""
    removed = [f"{kind} {object_id}" for kind, object_id in sorted(installed_saved_objects(client, package_name))]
    if removed:
        client.request("POST", f"/{INDEX}/_delete_by_query", params={"refresh": "true"},
                       body={"query": {"term": {"package.name": package_name}}})
    return removed


def installed_saved_objects(client: SearchClient, package_name: str) -> set[tuple[str, str]]:
    """(kind, id) of the package's saved objects stored in the cluster."""
    found = client.request("POST", f"/{INDEX}/_search", ignore=(404,), body={
        "size": 1000, "_source": ["type", "id"], "query": {"term": {"package.name": package_name}}}) or {}
    return {(hit["_source"]["type"], hit["_source"]["id"]) for hit in (found.get("hits") or {}).get("hits") or []}


def _ensure_index(client: SearchClient) -> None:
    if not client.request("HEAD", f"/{INDEX}", ignore=(404,)):
        client.request("PUT", f"/{INDEX}", ignore=(400,), body={
            "settings": {"index": {"number_of_shards": 1, "number_of_replicas": 0, "hidden": True}},
            "mappings": _MAPPINGS})
