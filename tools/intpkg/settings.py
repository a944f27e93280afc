"""Where intpkg keeps its state and finds the read-only references it needs.

Every location is a setting: an environment variable, overridable by a CLI flag.
Nothing here is hard-coded to one machine.

| variable            | meaning                                              | default                         |
|---------------------|------------------------------------------------------|---------------------------------|
| INTPKG_HOME         | caches (engines, ECS, GeoIP test data) and node state| `<repo>/.intpkg` or ~/.intpkg   |
| INTPKG_GEOIP_DIR    | folder with GeoLite2-{City,ASN,Country}*.mmdb files  | unset: the engine's own copies  |
| INTPKG_ECS_DIR      | folder holding `ecs_flat.yml`                        | unset: provisioned for the      |
|                     |                                                      | package's ECS version           |
| INTPKG_HANDLEBARS_JS| handlebars.js 4.7.8 (`dist/handlebars.js`)           | unset: provisioned from npm     |
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def intpkg_home() -> Path:
    """Root folder for caches and node state (created on demand)."""
    env = os.environ.get("INTPKG_HOME")
    if env:
        return Path(env).expanduser().resolve()
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / ".intpkg"
    return Path.home() / ".intpkg"


def geoip_dir() -> Path | None:
    """Folder with the GeoIP databases to install into the local node, if configured."""
    env = os.environ.get("INTPKG_GEOIP_DIR")
    return Path(env).expanduser().resolve() if env else None


def ecs_dir() -> Path | None:
    """Folder with the ECS field reference (`ecs_flat.yml`), if configured."""
    env = os.environ.get("INTPKG_ECS_DIR")
    return Path(env).expanduser().resolve() if env else None


def handlebars_js() -> Path | None:
    """The handlebars.js file to run (INTPKG_HANDLEBARS_JS), if configured."""
    env = os.environ.get("INTPKG_HANDLEBARS_JS")
    return Path(env).expanduser().resolve() if env else None
