"""Install and uninstall the package's Elasticsearch assets, as Fleet would.

Per data stream `<type>-<dataset>`:

- ingest pipelines `<type>-<dataset>-<version>[-<name>]` (references rewritten);
- component template `<type>-<dataset>@package` (mappings from the field definitions, the default
  pipeline, the data stream lifecycle on Elasticsearch) and an empty `@custom` one for users;
- index template `<type>-<dataset>` (pattern `<type>-<dataset>-*`, data stream, `_meta.package`).

Installing is idempotent and version-aware: the index template records the installed version, and
installing another version removes the pipelines of the version it replaces. On OpenSearch,
pipelines and mappings are adapted as `intpkg.assets.engines` describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intpkg import yamlpos
from intpkg.assets.engines import mappings_for
from intpkg.assets.pipelines import definitions, entry_pipeline
from intpkg.fields import load_ecs, load_fields
from intpkg.package import Package
from intpkg.stack.client import SearchClient

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
    package = Package.load(package_dir)
    version = package.version
    ecs = load_ecs(ecs_dir, package_dir=package.path)
    report = InstallReport()
    for stream in package.data_streams():
        manifest, ds_dir = stream.manifest, stream.path
        base = f"{stream.type}-{stream.dataset}"

        existing = client.request("GET", f"/_index_template/{base}", ignore=(404,)) or {}
        templates = existing.get("index_templates") or []
        previous = templates[0]["index_template"].get("_meta", {}).get("package", {}).get("version") if templates \
            else None
        report.previous_version = report.previous_version or previous

        entry = entry_pipeline(manifest)
        names, bodies = definitions(ds_dir, f"{base}-{version}", entry, flavor=client.flavor)
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
        client.request("PUT", f"/_component_template/{base}@package", body={"template": template, "_meta": meta})
        report.installed.append(f"component template {base}@package")
        if client.request("GET", f"/_component_template/{base}@custom", ignore=(404,)).get("status") == 404:
            client.request("PUT", f"/_component_template/{base}@custom", body={"template": {}, "_meta": meta})
            report.installed.append(f"component template {base}@custom")
        client.request("PUT", f"/_index_template/{base}", body={
            "index_patterns": [f"{base}-*"],
            "data_stream": {},
            "priority": 200,
            "composed_of": [f"{base}@package", f"{base}@custom"],
            "_meta": meta,
        })
        report.installed.append(f"index template {base}")

        if previous and previous != version:
            report.removed += _delete_pipelines(client, f"{base}-{previous}", keep=set(names.values()))
    return report


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
    """Remove templates and pipelines (and, with `delete_data`, the data streams)."""
    package = Package.load(package_dir)
    removed: list[str] = []
    for stream in package.data_streams():
        base = f"{stream.type}-{stream.dataset}"
        if delete_data:
            streams = client.request("GET", f"/_data_stream/{base}-*", ignore=(404,)) or {}
            for stream in streams.get("data_streams") or []:
                client.request("DELETE", f"/_data_stream/{stream['name']}")
                removed.append(f"data stream {stream['name']}")
        if client.request("DELETE", f"/_index_template/{base}", ignore=(404,)).get("acknowledged"):
            removed.append(f"index template {base}")
        for suffix in ("@package", "@custom"):
            if client.request("DELETE", f"/_component_template/{base}{suffix}", ignore=(404,)).get("acknowledged"):
                removed.append(f"component template {base}{suffix}")
        removed += _delete_pipelines(client, base)
    return removed
