"""Install and uninstall the package's Elasticsearch assets, as Fleet would.

Per data stream `<type>-<dataset>` (names from `intpkg.assets.names`, shared with the inventory):

- ingest pipelines `<type>-<dataset>-<version>[-<name>]` (references rewritten);
- component template `<type>-<dataset>@package` (mappings from the field definitions, the default
  pipeline, the data stream lifecycle on Elasticsearch) and an empty `@custom` one for users;
- index template `<type>-<dataset>` (pattern `<type>-<dataset>-*`, data stream, `_meta.package`).

Installing is idempotent and version-aware: the index template records the installed version, and
installing another version removes the pipelines of the version it replaces. On OpenSearch,
pipelines and mappings are adapted as `intpkg.assets.engines` describes.

Uninstalling removes what installing put there, except the `@custom` component template (see
`uninstall_package`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intpkg import yamlpos
from intpkg.assets.engines import mappings_for
from intpkg.assets.names import stream_assets
from intpkg.assets.pipelines import definitions
from intpkg.assets.saved_objects import install_saved_objects, uninstall_saved_objects
from intpkg.fields import load_ecs, load_fields, uses_external_fields
from intpkg.package import Package
from intpkg.stack.client import SearchClient
from intpkg.validation import semver_key

MANAGED_BY = "intpkg"


@dataclass
class InstallReport:
    installed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    previous_version: str | None = None


def _lifecycle(ds_dir: Path) -> dict[str, Any]:
    path = ds_dir / "lifecycle.yml"
    if path.is_file():
        data = yamlpos.read_yaml(path) or {}
        return {"data_retention": data["data_retention"]} if data.get("data_retention") else {}
    return {}


def install_package(client: SearchClient, package_dir: Path, *, ecs_dir: Path | None = None) -> InstallReport:
    """Install the assets of the package folder `package_dir` (a source package or a built one)."""
    package = Package.load(package_dir)
    version = package.version
    # a built package has its ECS fields resolved (and no _dev/build/build.yml naming an ECS version)
    needs_ecs = ecs_dir is not None or uses_external_fields(package.path)
    ecs = load_ecs(ecs_dir, package_dir=package.path) if needs_ecs else None
    report = InstallReport()
    for stream in package.data_streams():
        manifest, ds_dir = stream.manifest, stream.path
        assets = stream_assets(stream, version)
        base, entry, names = assets.base, assets.entry, assets.pipelines

        previous = _recorded_version(client, assets.index_template)
        report.previous_version = report.previous_version or previous

        _, bodies = definitions(ds_dir, assets.pipeline_base, entry, flavor=client.flavor)
        for stem in sorted(bodies, key=lambda s: s == entry):  # sub-pipelines first
            body = bodies[stem]
            if client.flavor == "elasticsearch":  # OpenSearch pipelines take no _meta
                body.setdefault("_meta", {}).update(managed_by=MANAGED_BY, package={"name": package.name,
                                                                                    "version": version})
            client.request("PUT", f"/_ingest/pipeline/{names[stem]}", body=body)
            report.installed.append(f"ingest pipeline {names[stem]}")

        fields = load_fields(package.path, stream.name, ecs)
        mappings: dict[str, Any] = {"properties": fields.mappings()}
        dynamic = fields.dynamic_templates()
        if dynamic:
            mappings["dynamic_templates"] = dynamic
        mappings = mappings_for(mappings, client.flavor)
        settings: dict[str, Any] = {"index": {"mapping": {"total_fields": {"limit": 10000}}}}
        if entry in names:
            settings["index"]["default_pipeline"] = names[entry]
        custom = manifest.get("elasticsearch", {}).get("index_template", {})
        settings.update(custom.get("settings") or {})
        template: dict[str, Any] = {"settings": settings, "mappings": mappings}
        if client.flavor == "elasticsearch":
            template["lifecycle"] = _lifecycle(ds_dir)
        meta = {"managed_by": MANAGED_BY, "managed": True, "package": {"name": package.name, "version": version}}
        package_template, custom_template = assets.package_template, assets.custom_template
        client.request("PUT", f"/_component_template/{package_template}", body={"template": template, "_meta": meta})
        report.installed.append(f"component template {package_template}")
        if client.request("GET", f"/_component_template/{custom_template}", ignore=(404,)).get("status") == 404:
            client.request("PUT", f"/_component_template/{custom_template}", body={"template": {}, "_meta": meta})
            report.installed.append(f"component template {custom_template}")
        client.request("PUT", f"/_index_template/{assets.index_template}", body={
            "index_patterns": [f"{base}-*"],
            "data_stream": {},
            "priority": 200,
            "composed_of": [package_template, custom_template],
            "_meta": meta,
        })
        report.installed.append(f"index template {assets.index_template}")

        if previous and previous != version:
            report.removed += _delete_pipelines(client, f"{base}-{previous}", keep=set(names.values()))
    report.installed += install_saved_objects(client, package)
    return report


def _recorded_version(client: SearchClient, index_template: str) -> str | None:
    """The package version an installed index template records (`_meta.package.version`), if any."""
    found = client.request("GET", f"/_index_template/{index_template}", ignore=(404,)) or {}
    templates = found.get("index_templates") or []
    version = ((templates[0]["index_template"].get("_meta") or {}).get("package") or {}).get("version") \
        if templates else None
    return str(version) if version is not None else None


def installed_package_version(client: SearchClient, package_name: str) -> str | None:
    """The version of `package_name` that install_package recorded in the cluster, or None.

    Read from the `_meta.package` of the index templates intpkg installed. When the package's data
    streams record different versions (an interrupted upgrade), the lowest one is returned.
    """
    found = client.request("GET", "/_index_template", ignore=(404,), params={
        "filter_path": "index_templates.name,index_templates.index_template._meta"}) or {}
    versions = set()
    for item in found.get("index_templates") or []:
        meta = (item.get("index_template") or {}).get("_meta") or {}
        package = meta.get("package") or {}
        if meta.get("managed_by") == MANAGED_BY and package.get("name") == package_name and package.get("version"):
            versions.add(str(package["version"]))
    return min(versions, key=_version_order) if versions else None


def _version_order(version: str) -> tuple:
    """Semver precedence; a version that is not semver sorts first, by its text."""
    try:
        return (1, semver_key(version))
    except ValueError:
        return (0, version)


def _delete_pipelines(client: SearchClient, prefix: str, keep: set[str] = frozenset()) -> list[str]:
    """Delete the pipelines named `<prefix>` or `<prefix>-...` (Fleet's naming), except `keep`."""
    found = client.request("GET", f"/_ingest/pipeline/{prefix}*", ignore=(404,)) or {}
    removed = []
    for name, body in found.items():
        if name in keep or not isinstance(body, dict):
            continue
        if name == prefix or name.startswith(prefix + "-"):
            client.request("DELETE", f"/_ingest/pipeline/{name}")
            removed.append(f"ingest pipeline {name}")
    return removed


def uninstall_package(client: SearchClient, package_dir: Path, *, delete_data: bool = False) -> list[str]:
    """Remove what `install_package` put in place; return what was removed (`<kind> <name>`).

    Per data stream: the index template, the `@package` component template and the ingest pipelines
    of the installed version (the one the index template records, else the package's). Pipelines of
    the package's version go by their exact names, so pipeline-test runs (`-<nonce>` names) are left
    alone; those of another installed version, whose files the package at hand may not have, go by
    their `<type>-<dataset>-<version>` prefix, as an upgrade removes them.

    The `@custom` component template holds the user's own settings: it stays, as Fleet keeps it, so
    that a reinstall applies them again. With `delete_data` it goes too, with the data streams.
    """
    package = Package.load(package_dir)
    removed: list[str] = []
    for stream in package.data_streams():
        assets = stream_assets(stream, package.version)
        installed = _recorded_version(client, assets.index_template)
        if delete_data:
            found = client.request("GET", f"/_data_stream/{assets.base}-*", ignore=(404,)) or {}
            for data_stream in found.get("data_streams") or []:
                client.request("DELETE", f"/_data_stream/{data_stream['name']}")
                removed.append(f"data stream {data_stream['name']}")
        if client.request("DELETE", f"/_index_template/{assets.index_template}", ignore=(404,)).get("acknowledged"):
            removed.append(f"index template {assets.index_template}")
        for component in [assets.package_template] + ([assets.custom_template] if delete_data else []):
            if client.request("DELETE", f"/_component_template/{component}", ignore=(404,)).get("acknowledged"):
                removed.append(f"component template {component}")
        for name in assets.pipelines.values():
            if client.request("DELETE", f"/_ingest/pipeline/{name}", ignore=(404,)).get("acknowledged"):
                removed.append(f"ingest pipeline {name}")
        if installed and installed != package.version:
            removed += _delete_pipelines(client, f"{assets.base}-{installed}")
    return removed + uninstall_saved_objects(client, package.name)
