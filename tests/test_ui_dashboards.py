"""Each dashboard in a real Chromium over the mock's data: every panel draws, the time range changes,
a click on a bucket filters. Screenshots go to tests/artifacts/screenshots/."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from fixtures.browser import screenshot
from fixtures.mockdata import collect_mock_logs
from intpkg.dashboards.filters import phrase_filter
from intpkg.dashboards.saved_objects import load_dashboards
from intpkg.ui.server import UiServer, start_ui

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
DASHBOARDS = load_dashboards(REPO)


@pytest.fixture(scope="module")
def namespace(search_client, tmp_path_factory) -> str:
    return collect_mock_logs(search_client, tmp_path_factory.mktemp("agent"))


@pytest.fixture(scope="module")
def ui(search_target, tmp_path_factory) -> Iterator[UiServer]:
    server = start_ui([REPO], tmp_path_factory.mktemp("ui-home"), search_target, port=0)
    yield server
    server.close()


def view(ui: UiServer, dashboard_id: str, namespace: str, start: str = "now-60d") -> str:
    filters = quote(json.dumps([phrase_filter("data_stream.namespace", namespace)]))
    return f"{ui.url}/app/dashboards/{dashboard_id}?start={start}&end=now&filters={filters}"


def drawn(page) -> dict[str, str]:
    page.wait_for_selector("#dashboard-grid[data-state=done]", timeout=60_000)
    return {p.get_attribute("data-index"): p.get_attribute("data-state") for p in page.locator(".dash-panel").all()}


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=[d.title for d in DASHBOARDS])
def test_every_panel_draws(page, ui: UiServer, namespace: str, dashboard) -> None:
    page.goto(view(ui, dashboard.id, namespace))
    states = drawn(page)
    assert len(states) == len(dashboard.panels)
    assert {index: state for index, state in states.items() if state != "drawn"} == {}
    assert page.locator(".dash-panel canvas").count() > 0  # ECharts drew
    slug = re.sub(r"\W+", "-", dashboard.title.lower()).strip("-")
    screenshot(page, f"20-dashboard-{slug}")


def test_time_range_and_a_click_on_a_bucket_filter_the_panels(page, ui: UiServer, namespace: str) -> None:
    dashboard = next(d for d in DASHBOARDS if d.title == "[Cloudflare] Audit overview")
    page.goto(view(ui, dashboard.id, namespace))
    drawn(page)
    table = page.locator(".dash-panel[data-kind=table] td.clickable").first
    value = table.inner_text()
    table.click()
    page.wait_for_url(re.compile("filters="))
    assert page.locator(".filter-pill").count() == 2  # the namespace and the clicked value
    assert value in page.locator("#filters").inner_text()
    drawn(page)
    screenshot(page, "21-dashboard-filtered")
    page.select_option("select[name=range]", "now-15m")
    page.wait_for_url(re.compile(r"start=now-15m"))
    states = drawn(page)
    assert "empty" in states.values()  # the mock's audit history is older than a quarter of an hour
