"""The UI's Fleet-like JSON API and its guards (kbn-xsrf, CSRF, access token, Host), on the real engine."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fixtures.lint.pkgcopy import copy_real_package, set_manifest
from intpkg.errors import IntpkgError
from intpkg.stack.client import Target
from intpkg.ui.app import create_app
from intpkg.ui.catalog import Catalog
from intpkg.ui.server import start_ui
from intpkg.ui.service import Integrations

ACCOUNT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
TOKEN = "tok-0123456789abcdef0123456789abcdef"
XSRF = {"kbn-xsrf": "test"}


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory) -> Path:
    """A copy of the package under its own name, so installing and removing it leaves other tests' assets."""
    folder = copy_real_package(tmp_path_factory.mktemp("pkg") / "cf_ui_api")
    set_manifest(folder, name="cf_ui_api")
    return folder


@pytest.fixture
def client(package_dir: Path, search_target: Target, tmp_path: Path):
    app = create_app(Integrations(Catalog([package_dir]), tmp_path / "ui", search_target))
    return app.test_client()


def policy(**audit_vars) -> dict:
    return {"name": "acme", "namespace": "default", "package": {"name": "cf_ui_api", "version": "0.1.0"},
            "inputs": {"cloudflare-httpjson": {"enabled": True, "streams": {
                "cf_ui_api.audit": {"enabled": True, "vars": {"account_id": ACCOUNT, "api_token": TOKEN,
                                                              **audit_vars}},
                "cf_ui_api.logpull": {"enabled": False}}}}}


def test_install_and_uninstall_through_the_epm_api(client) -> None:
    (item,) = client.get("/api/fleet/epm/packages").get_json()["items"]
    assert (item["name"], item["version"]) == ("cf_ui_api", "0.1.0")
    assert client.post("/api/fleet/epm/packages/cf_ui_api/0.1.0").status_code == 400  # no kbn-xsrf header
    installed = client.post("/api/fleet/epm/packages/cf_ui_api/0.1.0", headers=XSRF)
    assert installed.status_code == 200
    assert {"type": "index_template", "id": "logs-cf_ui_api.audit"} in installed.get_json()["items"]
    detail = client.get("/api/fleet/epm/packages/cf_ui_api").get_json()["item"]
    assert detail["status"] == "installed" and detail["installationInfo"] == {"version": "0.1.0"}
    assert "Cloudflare" in detail["readme"] and detail["policy_templates"][0]["name"] == "cloudflare"
    assets = client.get("/api/ui/packages/cf_ui_api/assets").get_json()["items"]
    assert assets and all(a["installed"] for a in assets if a["service"] == "elasticsearch")
    assert client.delete("/api/fleet/epm/packages/cf_ui_api/0.1.0", headers=XSRF).status_code == 200
    assert client.get("/api/fleet/epm/packages/cf_ui_api").get_json()["item"]["status"] == "not_installed"
    assert client.get("/api/fleet/epm/packages/nope").status_code == 404


def test_package_policies_round_trip_without_showing_the_secret(client) -> None:
    bad = client.post("/api/fleet/package_policies", json=policy(page_size="lots", api_version="v9"), headers=XSRF)
    assert bad.status_code == 400
    problems = {p["path"]: p["message"] for p in bad.get_json()["attributes"]["problems"]}
    where = "inputs.cloudflare-httpjson.streams.cf_ui_api.audit.vars"
    assert problems == {f"{where}.page_size": "'lots' is not an integer",
                        f"{where}.api_version": "'v9' is not one of v2, v1"}

    created = client.post("/api/fleet/package_policies", json=policy(), headers=XSRF)
    assert created.status_code == 200, created.get_json()
    item = created.get_json()["item"]
    token_ref = item["inputs"]["cloudflare-httpjson"]["streams"]["cf_ui_api.audit"]["vars"]["api_token"]
    assert token_ref["isSecretRef"] is True
    listed = client.get("/api/fleet/package_policies")
    assert listed.get_json()["total"] == 1 and TOKEN not in listed.get_data(as_text=True)

    again = client.post("/api/fleet/package_policies", json=policy(), headers=XSRF)
    assert again.status_code == 409 and "another integration policy is named 'acme'" in again.get_json()["message"]
    # the package's assets stay while a policy uses them
    refused = client.delete("/api/fleet/epm/packages/cf_ui_api/0.1.0", headers=XSRF)
    assert refused.status_code == 400 and "acme" in refused.get_json()["message"]
    # validating and verifying answer without the secret too
    validated = client.post("/api/ui/packages/cf_ui_api/validate", data={"policy_id": item["id"], "name": "acme"},
                            headers=XSRF)
    assert validated.status_code == 200 and TOKEN not in validated.get_data(as_text=True)

    # a saved secret is not sent to a new address: the API URL changes only with the token given again
    moved = policy(api_url="https://collector.attacker.example")
    del moved["inputs"]["cloudflare-httpjson"]["streams"]["cf_ui_api.audit"]["vars"]["api_token"]
    for answer in (client.put(f"/api/fleet/package_policies/{item['id']}", json=moved, headers=XSRF),
                   client.post("/api/ui/packages/cf_ui_api/verify", headers=XSRF, data={
                       "policy_id": item["id"], "name": "acme",
                       "inputs|cloudflare-httpjson|enabled": "true",
                       "inputs|cloudflare-httpjson|streams|cf_ui_api.audit|enabled": "true",
                       "inputs|cloudflare-httpjson|streams|cf_ui_api.audit|vars|account_id": ACCOUNT,
                       "inputs|cloudflare-httpjson|streams|cf_ui_api.audit|vars|api_url": "https://attacker.example"})):
        assert answer.status_code == 400, answer.get_json()
        assert "enter the API Token again" in answer.get_json()["message"]

    # PUT without the secret keeps it (the saved reference), as Fleet's secrets do
    update = policy(interval="10m")
    del update["inputs"]["cloudflare-httpjson"]["streams"]["cf_ui_api.audit"]["vars"]["api_token"]
    updated = client.put(f"/api/fleet/package_policies/{item['id']}", json=update, headers=XSRF).get_json()["item"]
    assert updated["inputs"]["cloudflare-httpjson"]["streams"]["cf_ui_api.audit"]["vars"]["api_token"] == token_ref
    assert updated["revision"] == 2
    page = client.get(f"/app/integrations/cf_ui_api/policies/{item['id']}").get_data(as_text=True)
    assert TOKEN not in page and "You can only replace the API Token" in page
    assert client.delete(f"/api/fleet/package_policies/{item['id']}", headers=XSRF).get_json() == {"id": item["id"]}
    assert client.get(f"/api/fleet/package_policies/{item['id']}").status_code == 404


def test_forms_need_the_sessions_csrf_token(client) -> None:
    assert client.post("/app/integrations/cf_ui_api/add", data={"name": "x"}).status_code == 400
    page = client.get("/app/integrations/cf_ui_api/add").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answered = client.post("/app/integrations/cf_ui_api/add", data={"name": "x", "csrf_token": token})
    assert answered.status_code == 400 and "One of these settings groups is required" in answered.get_data(as_text=True)


def test_changing_requests_need_kbn_xsrf(client) -> None:
    for method, url in (("put", "/api/fleet/package_policies/x"), ("delete", "/api/fleet/package_policies/x"),
                        ("post", "/api/fleet/package_policies"), ("delete", "/api/fleet/epm/packages/cf_ui_api/0.1.0"),
                        ("post", "/api/ui/collector/cf_ui_api/start"), ("post", "/api/ui/packages/cf_ui_api/verify")):
        answer = getattr(client, method)(url, json={})
        assert answer.status_code == 400 and "kbn-xsrf" in answer.get_json()["message"], (method, url)
    for url in ("/app/collector/cf_ui_api/start", "/app/integrations/cf_ui_api/assets/install",
                "/app/policies/x/delete"):
        assert client.post(url).status_code == 400, url  # no CSRF token


def test_an_access_token_guards_pages_and_api(package_dir: Path, search_target: Target, tmp_path: Path) -> None:
    token = "s3cret-token-0123456789"
    app = create_app(Integrations(Catalog([package_dir]), tmp_path / "ui", search_target), token=token,
                     allowed_hosts={"127.0.0.1:5601"})
    client = app.test_client()
    base = "http://127.0.0.1:5601"
    assert client.get("/api/fleet/epm/packages", base_url=base).status_code == 401
    assert client.get("/app/integrations", base_url=base).headers["Location"].startswith("/login")
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/fleet/epm/packages", base_url=base, headers=bearer).status_code == 200
    assert client.post("/login", data={"token": "wrong"}, base_url=base).status_code == 200
    assert client.get("/app/integrations", base_url=base).status_code == 302
    for evil in ("//evil.example/", "/\\evil.example/", "/\t/evil.example", "https://evil.example/"):
        answer = client.post("/login", query_string={"next": evil}, data={"token": token}, base_url=base)
        assert answer.headers["Location"] == "/app/integrations", evil  # never off this server
    answer = client.post("/login", query_string={"next": "/app/collector?x=1"}, data={"token": token}, base_url=base)
    assert answer.headers["Location"] == "/app/collector?x=1"
    assert client.get("/app/integrations", base_url=base).status_code == 200
    # a page reached under another host name (DNS rebinding) is refused
    assert client.get("/app/integrations", base_url="http://attacker.example:5601").status_code == 421


def test_the_ui_serves_on_loopback_unless_a_token_is_set(package_dir: Path, tmp_path: Path) -> None:
    target = Target(url="http://127.0.0.1:9")
    with pytest.raises(IntpkgError, match="not a loopback address, without an access token"):
        start_ui([package_dir], tmp_path, target, host="0.0.0.0", port=0)
    with pytest.raises(IntpkgError, match="shorter than 16 characters"):
        start_ui([package_dir], tmp_path, target, host="0.0.0.0", port=0, token="s3cret")
    server = start_ui([package_dir], tmp_path, target, host="0.0.0.0", port=0, token="s3cret-token-0123456789")
    server.close()


def test_rules_are_listed_and_switched_and_alerts_read(search_target: Target, tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    app = create_app(Integrations(Catalog([repo]), tmp_path / "ui", search_target, detection_dir=tmp_path / "det"))
    client = app.test_client()
    found = client.get("/api/detection_engine/rules/_find", query_string={"per_page": 100}).get_json()
    assert found["total"] >= 20 and all(rule["enabled"] for rule in found["data"])
    rule = next(r for r in found["data"] if r["name"] == "Cloudflare API Token Created or Rolled")
    refused = client.patch("/api/detection_engine/rules", json={"rule_id": rule["rule_id"], "enabled": False})
    assert refused.status_code == 400  # no kbn-xsrf
    switched = client.patch("/api/detection_engine/rules", json={"rule_id": rule["rule_id"], "enabled": False},
                            headers=XSRF).get_json()
    assert switched["enabled"] is False and switched["next_run"] is None
    assert '"' + rule["rule_id"] + '": false' in (tmp_path / "det" / "enabled_rules.json").read_text()
    page = client.get("/app/security/rules").get_data(as_text=True)
    assert f'aria-label="Enable {rule["name"]}"' in page and "Persistence" in page
    assert client.patch("/api/detection_engine/rules", json={"rule_id": "nope", "enabled": True},
                        headers=XSRF).status_code == 404
    assert client.get("/api/ui/alerts").status_code == 200
    assert client.get("/app/security/alerts").status_code == 200
