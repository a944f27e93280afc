"""Every `INTPKG_*` environment variable intpkg reads, read here and only here.

Every location and tunable is a setting: an environment variable, which a CLI flag overrides where
one exists. Nothing here is hard-coded to one machine. The tests' own variables (INTPKG_TEST_PORT,
INTPKG_TEST_KEEP_NODE) are read by `tests/conftest.py`.

| variable                  | meaning                                                 | default                        |
|---------------------------|---------------------------------------------------------|--------------------------------|
| INTPKG_HOME               | caches (engines, ECS, GeoIP test data) and node state   | `<repo>/.intpkg` or ~/.intpkg  |
| INTPKG_STATE_DIR          | the local node's state folder                           | `$INTPKG_HOME/node`            |
| INTPKG_ES_PORT            | the local node's HTTP port (transport: + 100)           | 9200                           |
| INTPKG_HEAP               | the local node's JVM heap                               | 1g                             |
| INTPKG_ENGINE             | force `elasticsearch` or `opensearch`                   | chosen (see stack.distribution)|
| INTPKG_ES_DISTRIBUTION    | an Elasticsearch archive or folder to run               | unset                          |
| INTPKG_ES_DOWNLOAD_URL    | Elastic's download folder (tests: a local server)       | Elastic's download site        |
| INTPKG_ES_URL (or _HOST), | an external cluster, its credentials and TLS (also read | unset: the local node          |
| _API_KEY, _USERNAME,      | as ELASTIC_PACKAGE_ELASTICSEARCH_*, elastic-package's   |                                |
| _PASSWORD, _CA_CERT,      | names)                                                  |                                |
| _INSECURE                 |                                                         |                                |
| INTPKG_JAVA_HOME          | the Java to run the node with                           | JAVA_HOME, PATH, JVM folders   |
| INTPKG_JVM_ROOTS          | folders holding JDKs (path list)                        | /usr/lib/jvm:/opt/java:...     |
| INTPKG_GEOIP_DIR          | folder with GeoLite2-{City,ASN,Country}*.mmdb files     | unset: the engine's own copies |
| INTPKG_ECS_DIR            | folder holding `ecs_flat.yml`                           | provisioned for the package's  |
|                           |                                                         | ECS version                    |
| INTPKG_ECS_REPOSITORY_URL | raw-file base of the ECS repository (tests: local)      | the ECS repository             |
| INTPKG_HANDLEBARS_JS      | handlebars.js 4.7.8 (`dist/handlebars.js`) to run       | provisioned from npm           |
| INTPKG_CHROMIUM           | the Chromium executable the browser tests drive         | /usr/bin/chromium, PATH        |
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

HOME_ENV = "INTPKG_HOME"
STATE_DIR_ENV = "INTPKG_STATE_DIR"
ES_PORT_ENV = "INTPKG_ES_PORT"
HEAP_ENV = "INTPKG_HEAP"
ENGINE_ENV = "INTPKG_ENGINE"
DISTRIBUTION_ENV = "INTPKG_ES_DISTRIBUTION"
DOWNLOAD_URL_ENV = "INTPKG_ES_DOWNLOAD_URL"
CLUSTER_ENV_PREFIXES = ("INTPKG_ES_", "ELASTIC_PACKAGE_ELASTICSEARCH_")
JAVA_HOME_ENV = "INTPKG_JAVA_HOME"
JVM_ROOTS_ENV = "INTPKG_JVM_ROOTS"
GEOIP_DIR_ENV = "INTPKG_GEOIP_DIR"
ECS_DIR_ENV = "INTPKG_ECS_DIR"
ECS_REPOSITORY_ENV = "INTPKG_ECS_REPOSITORY_URL"
HANDLEBARS_JS_ENV = "INTPKG_HANDLEBARS_JS"
UI_TOKEN_ENV = "INTPKG_UI_TOKEN"
CHROMIUM_ENV = "INTPKG_CHROMIUM"

DEFAULT_ES_PORT = 9200
DEFAULT_UI_PORT = 5601  # Kibana's
DEFAULT_HEAP = "1g"
DEFAULT_JVM_ROOTS = "/usr/lib/jvm:/opt/java:/usr/local/java"


def _get(name: str) -> str | None:
    """The variable's value; unset and empty are the same."""
    return os.environ.get(name) or None


def _folder(name: str) -> Path | None:
    value = _get(name)
    return Path(value).expanduser().resolve() if value else None


def intpkg_home() -> Path:
    """Root folder for caches and node state (created on demand)."""
    home = _folder(HOME_ENV)
    if home is not None:
        return home
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / ".intpkg"
    return Path.home() / ".intpkg"


def node_state_dir() -> Path:
    """The local node's state folder."""
    return Path(_get(STATE_DIR_ENV) or intpkg_home() / "node")


def agent_state_dir() -> Path:
    """The collector's cursors, status and traces (`intpkg run`, `intpkg up`, `intpkg status`)."""
    return intpkg_home() / "agent"


def detection_state_dir() -> Path:
    """The detection engine's state: last run per rule, rule switches (`intpkg detect`, `intpkg up`)."""
    return intpkg_home() / "detection"


def ui_home() -> Path:
    """The integrations UI's saved policies, secrets and collector state (`intpkg ui`, `intpkg up`)."""
    return intpkg_home() / "ui"


def ui_token() -> str | None:
    """The access token that lets `intpkg ui` serve on a non-loopback address."""
    return _get(UI_TOKEN_ENV)


def node_state_dir_is_set() -> bool:
    return _get(STATE_DIR_ENV) is not None


def es_port() -> int:
    return int(_get(ES_PORT_ENV) or DEFAULT_ES_PORT)


def heap() -> str:
    return _get(HEAP_ENV) or DEFAULT_HEAP


def forced_engine_name() -> str:
    """INTPKG_ENGINE as written, lower-cased ('' when unset); `stack.distribution` validates it."""
    return (_get(ENGINE_ENV) or "").strip().lower()


def es_distribution() -> Path | None:
    value = _get(DISTRIBUTION_ENV)
    return Path(value) if value else None


def es_download_url(default: str) -> str:
    """Elastic's download folder (tests point it at a local server)."""
    return (_get(DOWNLOAD_URL_ENV) or default).rstrip("/")


def ecs_repository_url(default: str) -> str:
    """Raw-file base of the ECS repository (tests point it at a local server)."""
    return (_get(ECS_REPOSITORY_ENV) or default).rstrip("/")


def cluster_setting(name: str) -> str | None:
    """`URL`, `HOST`, `API_KEY`, `USERNAME`, `PASSWORD`, `CA_CERT` or `INSECURE` of an external cluster."""
    for prefix in CLUSTER_ENV_PREFIXES:
        value = _get(prefix + name)
        if value:
            return value
    return None


def java_home() -> Path | None:
    """INTPKG_JAVA_HOME: the Java the node must run with."""
    value = _get(JAVA_HOME_ENV)
    return Path(value) if value else None


def jvm_roots() -> list[Path]:
    return [Path(root) for root in (_get(JVM_ROOTS_ENV) or DEFAULT_JVM_ROOTS).split(os.pathsep) if root]


def geoip_dir() -> Path | None:
    """Folder with the GeoIP databases to install into the local node, if configured."""
    return _folder(GEOIP_DIR_ENV)


def ecs_dir() -> Path | None:
    """Folder with the ECS field reference (`ecs_flat.yml`), if configured."""
    return _folder(ECS_DIR_ENV)


def handlebars_js() -> Path | None:
    """The handlebars.js file to run (INTPKG_HANDLEBARS_JS), if configured."""
    return _folder(HANDLEBARS_JS_ENV)


def chromium() -> Path | None:
    """The Chromium executable named by INTPKG_CHROMIUM, if set (the browser tests look for one otherwise)."""
    value = _get(CHROMIUM_ENV)
    return Path(value).expanduser() if value else None
