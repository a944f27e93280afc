"""Shared fixtures: one real search node for the whole test session.

The node is the cluster named by INTPKG_ES_URL (plus INTPKG_ES_API_KEY / USERNAME / PASSWORD /
CA_CERT) when set; otherwise a local node with its own state folder that the session starts on
INTPKG_TEST_PORT, or on 9250 when that port and 9350 are free, or else on any free pair of ports;
it stops at the end (INTPKG_TEST_KEEP_NODE=1 keeps it, and the next session reuses it).
pytest-elasticsearch's `elasticsearch_noproc` fixture carries its address.

The local test node looks up GeoIP in MaxMind's test databases (INTPKG_GEOIP_DIR overrides), so
expected outputs do not change with the engine's own databases. The ECS reference is the package's
ECS version, provisioned by intpkg (INTPKG_ECS_DIR overrides).

Browser tests take `page` (a fresh context per test) from one session `browser`: the system's Chromium
driven by Playwright (see fixtures/browser.py; skipped, naming scripts/setup.sh, when none is found).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from pytest_elasticsearch import factories

from fixtures import browser as browsers
from intpkg import settings
from intpkg.fields import EcsReference, load_ecs
from intpkg.stack.client import SearchClient, Target
from intpkg.stack.geoip import maxmind_test_databases
from intpkg.stack.node import LocalNode, NodeConfig
from intpkg.stack.ports import free_port_pair

REPO_ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = Target.from_env()
TEST_NODE_DIR = settings.intpkg_home() / "test-node"


def _test_port() -> int:
    """INTPKG_TEST_PORT; else the port of a kept test node still running; else 9250 or any free pair."""
    if os.environ.get("INTPKG_TEST_PORT"):
        return int(os.environ["INTPKG_TEST_PORT"])
    kept = LocalNode(NodeConfig(state_dir=TEST_NODE_DIR))
    if kept.running_pid() is not None:
        return int((kept.metadata() or {})["port"])
    return free_port_pair(9250)


TEST_PORT = _test_port()

if EXTERNAL is not None:
    _parsed = urlparse(EXTERNAL.url)
    _HOST, _PORT = _parsed.hostname or "127.0.0.1", _parsed.port or (443 if _parsed.scheme == "https" else 9200)
else:
    _HOST, _PORT = "127.0.0.1", TEST_PORT

search_noproc = factories.elasticsearch_noproc(host=_HOST, port=_PORT)


def test_node_config(**overrides) -> NodeConfig:
    """Config of the session's local test node (own state folder, shared download cache)."""
    config = NodeConfig(
        state_dir=TEST_NODE_DIR,
        port=TEST_PORT,
        heap=os.environ.get("INTPKG_TEST_HEAP", "768m"),
        geoip_dir=settings.geoip_dir() or maxmind_test_databases(settings.intpkg_home() / "cache"),
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@pytest.fixture(scope="session")
def search_target(search_noproc) -> Iterator[Target]:
    """Address of the session's real search node, started here unless external."""
    if EXTERNAL is not None:
        yield EXTERNAL
        return
    node = LocalNode(test_node_config())
    started_here = node.running_pid() is None
    node.up()
    assert (search_noproc.host, search_noproc.port) == ("127.0.0.1", node.config.port)
    yield Target(url=node.config.url)
    if started_here and os.environ.get("INTPKG_TEST_KEEP_NODE") != "1":
        node.down()


@pytest.fixture(scope="session")
def search_client(search_target: Target) -> SearchClient:
    return SearchClient(search_target)


@pytest.fixture(scope="session")
def ecs(tmp_path_factory) -> EcsReference:
    """The ECS reference of the repository's package (INTPKG_ECS_DIR, else provisioned for its ECS version)."""
    return load_ecs(package_dir=REPO_ROOT)


@pytest.fixture(scope="session")
def ecs_dir(ecs: EcsReference) -> Path:
    """The folder holding the package's ECS reference."""
    return ecs.path.parent


@pytest.fixture
def unique_name() -> str:
    """A name no other test (or concurrent run) uses, for pipelines, templates and indices."""
    return f"intpkg-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium (Playwright `Browser`) for the session; the test is skipped without one."""
    executable, origin = browsers.find_chromium()
    if executable is None:
        pytest.skip(origin)
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: run scripts/setup.sh")
    with sync_api.sync_playwright() as playwright:
        launched = browsers.launch(playwright, executable)
        yield launched
        launched.close()


@pytest.fixture
def page(browser) -> Iterator:
    """A Playwright `Page` in a fresh browser context, closed after the test."""
    page = browsers.new_page(browser)
    yield page
    page.context.close()
