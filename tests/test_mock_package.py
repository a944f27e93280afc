"""The package's own mock (`_dev/deploy/docker`): it loads, serves its scenarios, and `intpkg mock` runs it."""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import signal
import subprocess
import sys

import pytest
import requests

from fixtures.mock.mockhelp import REPO_ROOT
from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.cloudflare.mockapi.generators import ACTOR_IPS, CLIENT_IPS
from intpkg.mock import ConfigError

ACCOUNT_B = "3d4e5f60718293a4b5c6d7e8f90a1b2c"
ACCOUNT_S = "5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f"
ZONE_S = "7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"
FILES = REPO_ROOT / "_dev" / "deploy" / "docker" / "files"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def mock():
    with CloudflareMock.from_package(REPO_ROOT) as server:
        yield server


def _get(mock, path, headers=None, **params):
    return requests.get(f"{mock.base_url}/client/v4{path}", headers=headers or bearer(mock.token), params=params)


def test_static_system_test_account(mock):
    page1 = _get(mock, f"/accounts/{ACCOUNT_S}/audit_logs", page=1, per_page=1000).json()
    page2 = _get(mock, f"/accounts/{ACCOUNT_S}/audit_logs", page=2, per_page=1000).json()
    page3 = _get(mock, f"/accounts/{ACCOUNT_S}/audit_logs", page=3, per_page=1000).json()
    assert page1 == json.loads((FILES / "audit-v1-page1.json").read_text())
    assert page2 == json.loads((FILES / "audit-v1-page2.json").read_text())
    assert page3 == {"success": True, "errors": [], "messages": [], "result": []}
    v2 = _get(mock, f"/accounts/{ACCOUNT_S}/logs/audit", since="2025-03-14", before="2025-03-15").json()
    cursor = v2["result_info"]["cursor"]
    v2b = _get(mock, f"/accounts/{ACCOUNT_S}/logs/audit", since="2025-03-14", before="2025-03-15",
               cursor=cursor).json()
    assert len(v2["result"]) == 4 and len(v2b["result"]) == 3 and "cursor" not in v2b["result_info"]
    lp = _get(mock, f"/zones/{ZONE_S}/logs/received", start="1741942800", end="1741946400")
    assert lp.text == (FILES / "logpull-sample.ndjson").read_text()


def test_scenario_tokens(mock):
    limited = _get(mock, f"/accounts/{mock.account_id}/logs/audit", bearer("test-token-ratelimited"))
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["errors"][0]["code"] == 10100
    flaky = [_get(mock, f"/accounts/{mock.account_id}/audit_logs", bearer("test-token-flaky")) for _ in range(3)]
    assert [r.status_code for r in flaky] == [503, 502, 200]
    assert flaky[2].json()["success"] is True
    truncated = _get(mock, f"/accounts/{mock.account_id}/audit_logs", bearer("test-token-truncated"))
    assert truncated.status_code == 200
    with pytest.raises(ValueError):
        truncated.json()
    broken = _get(mock, f"/zones/{ZONE_S}/logs/received", bearer("test-token-logpull-broken"), start="1", end="2")
    lines = broken.text.splitlines()
    assert broken.status_code == 200 and lines[-1] == "Error streaming data"
    assert lines[:-1] == (FILES / "logpull-sample.ndjson").read_text().splitlines()
    assert _get(mock, "/user/tokens/verify", bearer("test-account-token-0123456789")).status_code == 401
    assert _get(mock, f"/accounts/{mock.account_id}/tokens/verify", bearer("test-account-token-0123456789")).json()[
        "success"] is True
    assert _get(mock, f"/accounts/{mock.account_id}/logs/audit", bearer("test-token-access-only"), since="2025-01-01",
                before="2025-01-02").status_code == 403
    missing = _get(mock, "/nothing/here")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == 7000


def test_handlers_serve_the_generated_account(mock):
    v1 = _get(mock, f"/accounts/{mock.account_id}/audit_logs", per_page=5).json()
    assert len(v1["result"]) == 5 and all(r["owner"]["id"] == mock.account_id for r in v1["result"])
    key = {"X-Auth-Email": "ops@example.com", "X-Auth-Key": "0123456789abcdef0123456789abcdef01234"}
    assert _get(mock, f"/accounts/{mock.account_id}/audit_logs", key, per_page=5).json() == v1
    fields = _get(mock, f"/zones/{mock.zone_id}/logs/received/fields").json()
    assert {"BotScore", "RayID", "EdgeStartTimestamp", "ClientIP"} <= set(fields)


def test_backfill_of_100k_records_matches_the_ground_truth(mock):
    truth_v1 = mock.dataset("audit_v1_backfill")
    assert len(truth_v1) == 100_000
    ids, page = [], 1
    while True:
        result = _get(mock, f"/accounts/{ACCOUNT_B}/audit_logs", direction="asc", per_page=1000, page=page,
                      since="2000-01-01").json()["result"]
        if not result:
            break
        ids.extend(r["id"] for r in result)
        page += 1
    assert page == 101
    assert ids == [r["id"] for r in truth_v1.records()]
    assert len(set(ids)) == 100_000


def test_a_warmed_dataset_serves_the_records_it_would_generate():
    with CloudflareMock.from_package(REPO_ROOT, record_counts={"audit_v1_main": 300}) as cold, \
            CloudflareMock.from_package(REPO_ROOT, record_counts={"audit_v1_main": 300}) as warm:
        warm.dataset("audit_v1_main").warm()
        assert list(warm.dataset("audit_v1_main").records()) == list(cold.dataset("audit_v1_main").records())
        account = warm.dataset_account("audit_v1_main")
        pages = [_get(server, f"/accounts/{account}/audit_logs", direction="asc", per_page=100, page=2,
                      since="2000-01-01").json() for server in (cold, warm)]
        assert pages[0] == pages[1] and len(pages[1]["result"]) == 100


def test_mock_cli_warms_the_named_datasets_and_names_an_unknown_one():
    done = subprocess.run([sys.executable, "-m", "intpkg.cli", "mock", str(REPO_ROOT), "--warm", "no_such_dataset"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "--warm no_such_dataset: " in done.stderr and "audit_v1_main" in done.stderr


def test_backfill_v2_by_cursor(mock):
    truth = mock.dataset("audit_v2_backfill")
    ids, cursor, pages = [], None, 0
    while True:
        params = {"since": "2000-01-01", "before": "2100-01-01", "limit": 1000, "direction": "asc"}
        if cursor:
            params["cursor"] = cursor
        body = _get(mock, f"/accounts/{ACCOUNT_B}/logs/audit", **params).json()
        ids.extend(r["id"] for r in body["result"])
        pages += 1
        cursor = body["result_info"].get("cursor")
        if not cursor:
            break
    assert pages == 101 and ids == [r["id"] for r in truth.records()]


ALLOWED_NETS = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
                                                     "2001:db8::/32")]
GEOIP_TEST_IPS = {"89.160.20.128", "89.160.20.112", "81.2.69.142", "216.160.83.56", "2a02:cf40::1"}
IP_TEXT = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b")


def _allowed(text: str) -> bool:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return True  # not an address (a version number, a time)
    return text in GEOIP_TEST_IPS or any(ip in net for net in ALLOWED_NETS)


def test_mock_data_is_invented():
    texts = [p.read_text() for p in FILES.iterdir()]
    for text in texts:
        for found in IP_TEXT.findall(text):
            assert _allowed(found), found
        for domain in re.findall(r"@([a-z0-9.-]+)|https?://([a-z0-9.-]+)", text):
            name = next(d for d in domain if d)
            assert name.endswith(("example.com", "example.org", "example.net")), name
    assert all(_allowed(ip) for ip in ACTOR_IPS + CLIENT_IPS)


def _copy_package(tmp_path, command_extra=""):
    pkg = tmp_path / "pkg"
    shutil.copytree(REPO_ROOT / "_dev" / "deploy", pkg / "_dev" / "deploy")
    compose = pkg / "_dev" / "deploy" / "docker" / "docker-compose.yml"
    compose.write_text(compose.read_text().replace("      - --config=/files/config.yml",
                                                   "      - --config=/files/config.yml" + command_extra))
    return pkg


def test_compose_flags_are_honoured(tmp_path):
    pkg = _copy_package(tmp_path, "\n      - --fault-rate=1.0\n      - --fault-error-code=502")
    with CloudflareMock.from_package(pkg) as mock:
        assert requests.get(f"{mock.base_url}/client/v4/user/tokens/verify").status_code == 502
    with CloudflareMock.from_package(pkg, fault_rate=0.0) as mock:
        assert requests.get(f"{mock.base_url}/client/v4/user/tokens/verify").status_code == 400


def test_missing_or_broken_deploy_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match=r"docker-compose.yml: not found"):
        CloudflareMock.from_package(tmp_path)
    pkg = _copy_package(tmp_path)
    config = pkg / "_dev" / "deploy" / "docker" / "files" / "config.yml"
    config.write_text(config.read_text().replace("count: 2500, seed: 101", "count: many, seed: 101"))
    with pytest.raises(ConfigError, match=r"config.yml:\d+:\d+: rules\[\d+\].x-intpkg-handler.dataset: count"):
        CloudflareMock.from_package(pkg)


def test_loopback_only(tmp_path):
    from intpkg.errors import IntpkgError
    with pytest.raises(IntpkgError, match="loopback"):
        CloudflareMock.from_package(REPO_ROOT, host="0.0.0.0")


def test_cli_prints_the_base_url_and_stops_on_sigterm(mock):
    proc = subprocess.Popen([sys.executable, "-m", "intpkg.cli", "mock", str(REPO_ROOT), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        r = requests.get(f"{url}/client/v4/user/tokens/verify", headers=bearer(mock.token), timeout=10)
        assert r.json()["result"]["status"] == "active"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        log = proc.stderr.read()
        assert "GET /client/v4/user/tokens/verify -> 200" in log
        assert mock.token not in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_refuses_a_public_host():
    done = subprocess.run([sys.executable, "-m", "intpkg.cli", "mock", str(REPO_ROOT), "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "loopback" in done.stderr and "Traceback" not in done.stderr


def test_cli_exits_with_an_error_on_an_as_sequence_violation(tmp_path):
    pkg = _copy_package(tmp_path)
    (pkg / "_dev" / "deploy" / "docker" / "files" / "config.yml").write_text(
        "as_sequence: true\nrules:\n  - path: /a\n    responses: [{status_code: 200, body: a}]\n"
        "  - path: /b\n    responses: [{status_code: 200, body: b}]\n")
    proc = subprocess.Popen([sys.executable, "-m", "intpkg.cli", "mock", str(pkg), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert requests.get(f"{url}/a", timeout=10).text == "a"
        assert requests.get(f"{url}/a", timeout=10).status_code == 500
        assert proc.wait(timeout=10) == 1
        assert "error: as_sequence: request matched rule #0" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
