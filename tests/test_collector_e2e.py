"""The collector end to end: the package's stream template, the httpjson engine, the agent, the
package's ingest pipelines and the real node, against the mock Cloudflare API's known ground truth."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from intpkg.agent.policy import plan_streams
from intpkg.agent.runner import Agent
from intpkg.assets.install import install_package
from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.package import Package
from intpkg.stack.client import SearchClient

REPO = Path(__file__).resolve().parents[1]
GLOBAL_KEY = "0123456789abcdef0123456789abcdef01234"


@pytest.fixture(scope="module")
def installed(search_client: SearchClient) -> SearchClient:
    install_package(search_client, REPO)
    return search_client


@pytest.fixture(scope="module")
def mock():
    with CloudflareMock.from_package(REPO) as server:
        yield server


def policy(namespace: str, mock: CloudflareMock, **stream_vars) -> dict:
    """Audit logs of the mock's primary account in a policy named after it, as `intpkg up` names them
    (credentials come with `stream_vars`)."""
    return {"name": mock.account_id, "namespace": namespace, "inputs": {"cloudflare-httpjson": {"streams": {
        "cloudflare.audit": {"vars": {
        "account_id": mock.account_id, "api_url": mock.base_url, "initial_interval": "750h", "interval": "1m",
        **stream_vars}}}}}}


def count(client: SearchClient, index: str, query: dict | None = None) -> int:
    client.request("POST", f"/{index}/_refresh", ignore=(404,))
    body = {"query": query} if query else None
    return client.request("GET", f"/{index}/_count", body=body, ignore=(404,)).get("count", 0)


def run_agent(client, namespace, mock: CloudflareMock, state_dir, **stream_vars) -> dict:
    plans = plan_streams(Package.load(REPO), policy(namespace, mock, **stream_vars), env={})
    (plan,) = plans  # one account: one stream, whose id names the policy
    assert plan.stream_id == f"httpjson-cloudflare.audit-{namespace}-{mock.account_id}"
    return Agent(plans, client, state_dir).run(once=True)["streams"][plan.stream_id]


@pytest.mark.parametrize("api_version,dataset", [("v2", "audit_v2_main"), ("v1", "audit_v1_main")])
def test_every_record_lands_once(installed, mock, tmp_path, unique_name, api_version, dataset) -> None:
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.audit-{namespace}"
    truth = len(mock.dataset(dataset))
    first = run_agent(installed, namespace, mock, tmp_path, api_token=mock.token, api_version=api_version,
                      page_size=500 if api_version == "v1" else 1000)
    assert (first["state"], first["events_rejected"]) == ("ok", 0), first
    assert count(installed, index) == truth
    assert count(installed, index, {"exists": {"field": "error.message"}}) == 0
    # the configured account, not the record's owner (the acting user's own id in many v1 records)
    assert count(installed, index, {"term": {"cloud.account.id": mock.account_id}}) == truth
    second = run_agent(installed, namespace, mock, tmp_path, api_token=mock.token, api_version=api_version)
    assert second["state"] == "ok"
    assert count(installed, index) == truth  # the boundary record v1 sends again is the same document


def test_an_empty_page_mid_window_ends_the_interval_but_loses_nothing(installed, tmp_path, unique_name) -> None:
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.audit-{namespace}"
    empty_page = '{"success":true,"errors":[],"messages":[],"result":[],"result_info":{"count":0}}'
    with CloudflareMock.from_package(REPO) as own:  # its own mock: the queued fault must hit this run only
        truth = len(own.dataset("audit_v2_main"))
        own.add_fault("status", path="/logs/audit$", skip=2, times=1, status_code=200, body=empty_page)
        first = run_agent(installed, namespace, own, tmp_path, api_token=own.token, page_size=200)
        assert first["state"] == "ok", first
        read = count(installed, index)
        assert read == 400, "the glitch on the third page should end the first interval"
        second = run_agent(installed, namespace, own, tmp_path, api_token=own.token, page_size=200)
    assert second["state"] == "ok", second
    assert count(installed, index) == truth


def test_a_bad_page_costs_that_page_not_the_interval(installed, tmp_path, unique_name) -> None:
    """Every third request returns a truncated page: each interval fails there, but the pages before it
    are kept (the cursor moves page by page), so collection still completes."""
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.audit-{namespace}"
    with CloudflareMock.from_package(REPO) as own:
        truth = len(own.dataset("audit_v2_main"))
        own.add_fault("truncate", path="/logs/audit$", times=None, every=3)
        intervals = []
        while count(installed, index) < truth and len(intervals) < 12:
            intervals.append(run_agent(installed, namespace, own, tmp_path, api_token=own.token,
                                       page_size=200))
    assert intervals[0]["state"] == "error" and "decode" in intervals[0]["last_error"].lower()
    assert count(installed, index) == truth, f"stalled after {len(intervals)} intervals"


@pytest.mark.parametrize("api_version", ["v1", "v2"])
def test_success_false_with_http_200_fails_the_interval(installed, tmp_path, unique_name, api_version) -> None:
    namespace = unique_name.replace("-", "")
    envelope = ('{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],'
                '"result":null}')
    with CloudflareMock.from_package(REPO) as own:
        own.add_fault("status", path="/(audit_logs|logs/audit)$", times=1, status_code=200, body=envelope)
        failed = run_agent(installed, namespace, own, tmp_path, api_token=own.token, api_version=api_version)
        assert failed["state"] == "error" and "body.success" in failed["last_error"], failed
        assert "cursor" not in failed
        good = run_agent(installed, namespace, own, tmp_path, api_token=own.token, api_version=api_version)
        assert good["state"] == "ok"
        dataset = "audit_v1_main" if api_version == "v1" else "audit_v2_main"
        assert count(installed, f"logs-cloudflare.audit-{namespace}") == len(own.dataset(dataset))


def test_wrong_credentials_fail_clearly_without_a_retry_storm(installed, mock, tmp_path, unique_name) -> None:
    before = len(mock.requests)
    status = run_agent(installed, unique_name.replace("-", ""), mock, tmp_path,
                       api_token="test-token-disabled")
    assert status["state"] == "error"
    assert "401" in status["last_error"] and "Invalid API Token" in status["last_error"]
    assert len(mock.requests) - before <= 2
    assert "cursor" not in status


def test_malformed_page_keeps_the_cursor_and_the_next_interval_recovers(installed, mock, tmp_path,
                                                                         unique_name) -> None:
    namespace = unique_name.replace("-", "")
    bad = run_agent(installed, namespace, mock, tmp_path, api_token="test-token-truncated", api_version="v1")
    assert bad["state"] == "error" and "decode" in bad["last_error"].lower()
    assert not (tmp_path / "cursors").exists() or not any((tmp_path / "cursors").iterdir())
    good = run_agent(installed, namespace, mock, tmp_path, api_token=mock.token, api_version="v1")
    assert good["state"] == "ok" and good["cursor"]
    assert count(installed, f"logs-cloudflare.audit-{namespace}") == len(mock.dataset("audit_v1_main"))


def test_secrets_never_leave_the_process(installed, mock, tmp_path, unique_name, caplog) -> None:
    namespace = unique_name.replace("-", "")
    status = run_agent(installed, namespace, mock, tmp_path, auth_email="ops@example.com",
                       auth_key=GLOBAL_KEY, enable_request_tracer=True)
    assert status["state"] == "ok", status
    traces = list((tmp_path / "traces").glob("*"))
    assert traces, "the request tracer wrote nothing"
    written = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert "X-Auth-Key" in written or "x-auth-key" in written.lower()  # the header is traced ...
    assert GLOBAL_KEY not in written  # ... but never its value
    assert GLOBAL_KEY not in caplog.text
    hits = installed.request("GET", f"/logs-cloudflare.audit-{namespace}/_search", params={"size": 50})
    assert GLOBAL_KEY not in json.dumps(hits)
    assert all(GLOBAL_KEY not in json.dumps(r.headers) for r in mock.requests)  # the mock's log redacts too


@pytest.mark.slow
def test_kill_9_during_a_backfill_loses_and_duplicates_nothing(installed, tmp_path, unique_name) -> None:
    """Five agents are killed with SIGKILL part-way through a paged backfill (each after a growing number of
    pages, counted at the mock, so the kill lands mid-run however fast the machine: the cursor moves page by
    page, and the five read at most 20 of the 25 pages); a sixth completes it."""
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.audit-{namespace}"
    with CloudflareMock.from_package(REPO, delay_rate=1.0, delay_duration="50ms") as mock:  # 25 pages, >= 1.25 s
        truth = len(mock.dataset("audit_v1_main"))
        policy_file = tmp_path / "policy.yml"
        policy_file.write_text(yaml.safe_dump(policy(namespace, mock, api_token="${env:CF_TEST_TOKEN}",
                                                     api_version="v1", page_size=100)))
        cmd = [sys.executable, "-m", "intpkg.cli", "run", str(REPO), "--policy", str(policy_file), "--once",
               "--state-dir", str(tmp_path / "state"), "--es-url", installed.target.url, "--log-level", "WARNING"]
        env = {**os.environ, "CF_TEST_TOKEN": mock.token}
        for attempt in range(5):
            served = len(mock.requests)
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while len(mock.requests) - served < 2 + attempt and time.monotonic() < deadline:
                assert proc.poll() is None, "the agent finished before it could be killed"
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            assert proc.returncode == -signal.SIGKILL
        final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    assert count(installed, index) == truth
    ids = installed.request("GET", f"/{index}/_search", body={
        "size": 0, "aggs": {"ids": {"cardinality": {"field": "event.id", "precision_threshold": 10000}}}})
    assert ids["aggregations"]["ids"]["value"] == truth
