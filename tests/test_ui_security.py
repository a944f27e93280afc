"""Alerts and rules in a real Chromium: the incident's alerts are listed, a rule is switched off and on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.browser import screenshot
from fixtures.incident import collect_incident_and_detect
from intpkg.ui.server import UiServer, start_ui

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def state(search_client, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("incident")
    collect_incident_and_detect(search_client, folder)
    return folder


@pytest.fixture(scope="module")
def ui(search_target, state: Path, tmp_path_factory) -> Iterator[UiServer]:
    server = start_ui([REPO], tmp_path_factory.mktemp("ui-home"), search_target, port=0)
    server.integrations.detection_dir = state / "detection"
    yield server
    server.close()


def test_alerts_are_listed_and_filtered_by_rule(page, ui: UiServer) -> None:
    page.goto(f"{ui.url}/app/security/alerts")
    assert page.locator("table#alerts tr.hit").count() > 0
    by_rule = page.locator("#alerts-by-rule")
    for name in ("Cloudflare Mass DNS Record Deletion", "Cloudflare API Token Created or Rolled"):
        assert name in by_rule.inner_text()
    screenshot(page, "30-alerts")
    by_rule.locator("a", has_text="Cloudflare Sign-In From a Country New for the User").click()
    page.wait_for_url("**rule_id=*")
    assert {r.get_attribute("data-alert-rule") for r in page.locator("table#alerts tr.hit").all()} == \
        {page.url.split("rule_id=")[1]}
    page.locator("[data-show-doc]").first.click()
    assert '"new_terms"' in page.locator("tr.doc pre.json").first.inner_text()


def test_a_rule_is_switched_off_and_on(page, ui: UiServer) -> None:
    page.goto(f"{ui.url}/app/security/rules")
    assert page.locator("table#rules tbody tr").count() >= 20
    screenshot(page, "31-rules")
    name = "Cloudflare API Token Created or Rolled"
    page.click(f'button[aria-label="Disable {name}"]')
    page.wait_for_selector(f'button[aria-label="Enable {name}"]')
    assert "disabled" in page.locator(".callout-success").inner_text()
    page.click(f'button[aria-label="Enable {name}"]')
    page.wait_for_selector(f'button[aria-label="Disable {name}"]')
