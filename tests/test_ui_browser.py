"""The integrations UI in a real Chromium, against the real engine and the bundled mock Cloudflare API.

The user's path end to end: catalog → integration page → install assets → add the integration with a
token → verify → save → start the collector → events counted on the data-stream page; then the
validation messages next to their fields, the secret that never reaches the browser, and the
edit / Replace flow. Screenshots of each page go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from fixtures.browser import screenshot
from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.ui.server import UiServer, start_ui

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
AUDIT = "inputs|cloudflare-httpjson|streams|cloudflare.audit"
LOGPULL = "inputs|cloudflare-httpjson|streams|cloudflare.logpull"


@pytest.fixture(scope="module")
def mock() -> Iterator[CloudflareMock]:
    with CloudflareMock.from_package(REPO) as server:
        yield server


@pytest.fixture(scope="module")
def ui(search_target, mock: CloudflareMock, tmp_path_factory) -> Iterator[UiServer]:
    offered = {"api_url": mock.base_url, "account_id": mock.account_id, "zone_id": mock.zone_id, "token": mock.token}
    server = start_ui([REPO], tmp_path_factory.mktemp("ui-home"), search_target, port=0, mock=offered)
    yield server
    for entry in server.integrations.catalog.entries():
        server.integrations.collector(entry.name).stop()
    server.close()


@pytest.fixture(scope="module")
def namespace() -> str:
    return "ui" + uuid.uuid4().hex[:8]


def field(page, name: str):
    return page.locator(f'[name="{name}"]')


def test_from_catalog_to_events_in_the_browser(page, ui: UiServer, mock: CloudflareMock, namespace: str) -> None:
    page.goto(f"{ui.url}/app/integrations")
    card = page.locator('a.card[data-package="cloudflare"]')
    assert "Cloudflare Logs" in card.inner_text()
    page.fill('input[name="q"]', "no such thing")
    page.press('input[name="q"]', "Enter")
    assert page.locator("a.card").count() == 0
    page.fill('input[name="q"]', "cloudflare")
    page.press('input[name="q"]', "Enter")
    screenshot(page, "01-catalog")

    page.click('a.card[data-package="cloudflare"]')
    readme = page.locator("article.readme")
    assert readme.locator("h1, h2").count() > 2
    fields_table = readme.locator("details:has(summary:text('Exported fields'))").first
    assert not fields_table.locator("table").is_visible()  # folded, as in Fleet
    screenshot(page, "02-integration-overview")

    page.click("nav.tabs >> text=Assets")
    page.click("#install-assets")
    page.wait_for_selector("text=Installed")
    assets = page.locator("table.assets tbody tr")
    assert assets.count() >= 6 and page.locator("table.assets >> text=Not installed").count() == 0
    screenshot(page, "03-integration-assets")

    page.click("#add-integration")
    field(page, "namespace").evaluate("(el) => el.closest('details').open = true")
    field(page, "namespace").fill(namespace)
    page.click("#use-mock")
    field(page, f"{AUDIT}|vars|api_token").fill(mock.token)
    field(page, f"{LOGPULL}|vars|api_token").fill(mock.token)
    page.click("#verify")
    results = page.locator(".verify-stream")
    results.first.wait_for()
    assert results.count() == 2
    assert page.locator(".verify-stream.callout-success").count() == 2, page.locator("#verify-results").inner_text()
    screenshot(page, "04-add-integration-verified")

    page.click("#save")
    page.wait_for_url(re.compile(r"/app/integrations/cloudflare/policies"))
    assert page.locator("table#policies tbody tr").count() == 1
    assert mock.token not in page.content()
    screenshot(page, "05-integration-policies")

    page.click("nav >> text=Collector")
    page.click("#collector-start")
    audit_row = page.locator(f'tr[data-stream-id="httpjson-cloudflare.audit-{namespace}-cloudflare-1"]')
    page.wait_for_function(
        "(row) => row && row.querySelector('[data-cell=state]').textContent === 'HEALTHY' "
        "&& Number(row.querySelector('[data-cell=events_acked]').textContent) > 0",
        arg=audit_row.element_handle(), timeout=60_000)
    screenshot(page, "06-collector-health")

    page.click("nav >> text=Data streams")
    row = page.locator(f'tr[data-data-stream="logs-cloudflare.audit-{namespace}"]')
    docs = int(row.locator('[data-cell="docs"]').inner_text().replace(",", ""))
    assert docs > 0
    screenshot(page, "07-data-streams")

    row.locator("a").click()
    page.fill('input[name="q"]', "event.outcome:failure")
    page.click("text=Refresh")
    total = int(page.locator("#hits-total").inner_text().split()[0].replace(",", ""))
    assert 0 < total < docs
    page.locator("[data-show-doc]").first.click()
    assert '"outcome": "failure"' in page.locator("tr.doc pre.json").first.inner_text()
    page.select_option("#quick-range", "now-15m")  # a range with no failure in it
    page.wait_for_url(re.compile(r"start=now-15m"))
    assert int(page.locator("#hits-total").inner_text().split()[0].replace(",", "")) < total
    screenshot(page, "08-events")


def test_validation_messages_sit_next_to_their_fields(page, ui: UiServer) -> None:
    page.goto(f"{ui.url}/app/integrations/cloudflare/add")
    account = field(page, f"{AUDIT}|vars|account_id")
    account.fill("../zones")
    errors = page.locator(f'[data-errors-for="{AUDIT}|vars|account_id"] .field-error')
    errors.wait_for()  # while typing, through the server's own checks
    assert "is not an id" in errors.inner_text()

    page.locator(f'[data-field="{AUDIT}|vars|page_size"]').evaluate("(el) => el.closest('details').open = true")
    field(page, f"{AUDIT}|vars|page_size").fill("")
    field(page, f"{AUDIT}|vars|ssl").fill("a: [b")
    page.click("#save")  # and again on save
    assert "problem" in page.locator("#error-summary").inner_text()
    assert "required" in page.locator(f'[data-errors-for="{AUDIT}|vars|page_size"]').inner_text()
    assert "not valid YAML" in page.locator(f'[data-errors-for="{AUDIT}|vars|ssl"]').inner_text()
    groups = page.locator('.stream[data-stream="cloudflare.audit"] .required-groups')
    assert "One of these settings groups is required" in groups.inner_text()
    assert "api_token (api_token) or global_api_key (auth_email + auth_key)" in groups.inner_text()
    advanced = page.locator('.stream[data-stream="cloudflare.audit"] details.advanced summary .badge-danger')
    assert advanced.inner_text() == "2 errors"
    screenshot(page, "09-add-integration-validation")


def test_secrets_stay_write_only_and_can_be_replaced(page, ui: UiServer, mock: CloudflareMock) -> None:
    session = requests.Session()
    body = {"name": "secret-check", "namespace": "default", "package": {"name": "cloudflare", "version": "0.1.0"},
            "inputs": {"cloudflare-httpjson": {"enabled": True, "streams": {
                "cloudflare.audit": {"enabled": True, "vars": {"account_id": mock.account_id, "api_token": mock.token,
                                                               "api_url": mock.base_url}},
                "cloudflare.logpull": {"enabled": False}}}}}
    created = session.post(f"{ui.url}/api/fleet/package_policies", json=body, headers={"kbn-xsrf": "test"})
    assert created.status_code == 200, created.text
    policy_id = created.json()["item"]["id"]
    for url in (f"{ui.url}/api/fleet/package_policies", f"{ui.url}/api/fleet/package_policies/{policy_id}"):
        text = session.get(url).text
        assert mock.token not in text and '"isSecretRef": true' in json.dumps(json.loads(text))

    page.goto(f"{ui.url}/app/integrations/cloudflare/policies/{policy_id}")
    assert mock.token not in page.content()
    token = field(page, f"{AUDIT}|vars|api_token")
    assert token.is_disabled() and not token.is_visible()
    assert "You can only replace the API Token" in page.locator(f'[data-field="{AUDIT}|vars|api_token"]').inner_text()
    screenshot(page, "10-edit-integration-secret-hidden")

    page.click("#verify")  # the saved token is used without ever being shown
    page.locator(".verify-stream").first.wait_for()
    assert page.locator(".verify-stream.callout-success").count() == 1

    page.click(f'[data-replace="{AUDIT}|vars|api_token"]')
    token.fill("not-the-right-token-at-all")
    page.click("#verify")
    page.locator(".verify-stream.callout-danger").wait_for()
    assert "API token" in page.locator(".verify-stream").inner_text()
    screenshot(page, "11-edit-integration-replace")
    page.click(f'[data-cancel-replace="{AUDIT}|vars|api_token"]')
    page.click("#save")
    page.wait_for_url(re.compile(r"/policies\?saved="))
    saved = session.get(f"{ui.url}/api/fleet/package_policies/{policy_id}").json()["item"]
    assert saved["revision"] == 2
    assert saved["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"]["api_token"] == \
        created.json()["item"]["inputs"]["cloudflare-httpjson"]["streams"]["cloudflare.audit"]["vars"]["api_token"]
    assert session.delete(f"{ui.url}/api/fleet/package_policies/{policy_id}", headers={"kbn-xsrf": "t"}).ok
