"""The ECS field reference (`ecs_flat.yml`): an explicit folder, INTPKG_ECS_DIR, or the package's ECS version.

Without a folder, the version the package's `_dev/build/build.yml` names is provisioned by
`intpkg.fields.ecs_source` (and cached).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from intpkg import settings, yamlpos
from intpkg.errors import IntpkgError

#: ECS keys worth keeping in a resolved field definition
RESOLVED_KEYS = ("type", "description", "ignore_above", "pattern", "normalize", "example", "scaling_factor",
                 "doc_values", "index", "multi_fields", "object_type", "format", "expected_values")


@dataclass
class EcsReference:
    """ECS fields by dotted name (the entries of ecs_flat.yml)."""

    path: Path
    fields: dict[str, dict] = field(default_factory=dict)
    source: str = ""  # where a provisioned reference came from (which ECS version, which site)

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def get(self, name: str) -> dict | None:
        return self.fields.get(name)

    def definition(self, name: str) -> dict:
        """A package field definition for ECS field `name` (as `intpkg build` writes it)."""
        ecs = self.fields[name]
        out: dict = {"name": name}
        for key in RESOLVED_KEYS:
            if key in ecs and ecs[key] not in (None, [], ""):
                out[key] = ecs[key]
        if "format" in out:  # ECS "format" is a display hint, not a mapping parameter
            del out["format"]
        if "multi_fields" in out:
            out["multi_fields"] = [
                {k: v for k, v in multi.items() if k in ("name", "type", "norms", "default_field")}
                for multi in out["multi_fields"]
            ]
        if "example" in out and not isinstance(out["example"], (str, int, float, bool)):
            out["example"] = str(out["example"])
        return out

    @functools.cached_property
    def expected_event_types(self) -> dict[str, list[str]]:
        """ECS's expected `event.type` values per `event.category` value (computed once per reference)."""
        values = (self.fields.get("event.category") or {}).get("allowed_values") or []
        return {v["name"]: list(v.get("expected_event_types") or []) for v in values if isinstance(v, dict)}

    def allowed_values(self, name: str) -> list[str] | None:
        """Allowed values ECS gives for `name` (event.category, event.type, ...), else None."""
        values = (self.fields.get(name) or {}).get("allowed_values")
        return [v["name"] for v in values] if values else None


_CACHE_FORMAT = "yaml12"  # bump when the way ecs_flat.yml is read changes what it yields


def _cache_file(path: Path, stat) -> Path:
    key = hashlib.sha1(f"{_CACHE_FORMAT}:{path}".encode()).hexdigest()[:16]
    return settings.intpkg_home() / "cache" / "ecs" / f"{key}-{stat.st_mtime_ns}-{stat.st_size}.json"


@functools.lru_cache(maxsize=4)
def _read(path: Path, mtime_ns: int) -> dict[str, dict]:
    """ecs_flat.yml as a dict; a JSON copy under INTPKG_HOME/cache/ecs makes later runs ~20x faster."""
    stat = path.stat()
    cache = _cache_file(path, stat)
    try:
        return json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    data = json.loads(json.dumps(_parse(path), default=str))  # same values as a cached read
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
        tmp.replace(cache)
    except OSError:
        pass  # a read-only home only costs speed
    return data


def _parse(path: Path) -> dict[str, dict]:
    try:
        data = yamlpos.read_yaml(path)
    except yamlpos.ParseError as exc:
        raise IntpkgError(f"not a valid ECS reference: {exc}") from None
    if not isinstance(data, dict):
        raise IntpkgError(f"{path}: not a valid ECS reference (expected a mapping of field names)")
    return data


def load_ecs(ecs_dir: Path | None = None, *, package_dir: Path | None = None) -> EcsReference:
    """Read `ecs_flat.yml` from `ecs_dir`, else INTPKG_ECS_DIR, else the ECS version `package_dir` names."""
    folder = Path(ecs_dir).expanduser().resolve() if ecs_dir else settings.ecs_dir()
    if folder is None:
        if package_dir is None:
            raise IntpkgError(
                "The ECS reference is not configured: set INTPKG_ECS_DIR (or pass --ecs-dir) to a folder that holds "
                "ecs_flat.yml (e.g. the ECS release's generated/ecs folder)."
            )
        from intpkg.fields.ecs_source import SOURCE_FILE, ecs_reference_dir, package_ecs_version

        folder = ecs_reference_dir(package_ecs_version(package_dir))
        source = (folder / SOURCE_FILE).read_text().strip()
    else:
        source = f"{folder}"
    path = folder / "ecs_flat.yml" if folder.is_dir() or not folder.name.endswith(".yml") else folder
    if not path.is_file():
        raise IntpkgError(f"No ecs_flat.yml in {folder} (the ECS folder named by --ecs-dir or INTPKG_ECS_DIR).")
    fields = _read(path, path.stat().st_mtime_ns)
    return EcsReference(path=path, fields={k: dict(v) for k, v in fields.items()}, source=source)
