"""The collector under faults: the cluster away for 30 s mid-run, and Cloudflare's rate limit."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from intpkg.agent.policy import plan_streams
from intpkg.agent.runner import Agent
from intpkg.assets.install import install_package
from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.cloudflare.ratelimit import BUDGET
from intpkg.errors import IntpkgError
from intpkg.package import Package
from intpkg.stack.client import SearchClient
from test_agent_delivery import LateForwarder, client_behind, upstream_of
from test_collector_e2e import count, policy

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(search_client: SearchClient) -> SearchClient:
    install_package(search_client, REPO)
    return search_client


@pytest.mark.slow
def test_cluster_away_for_30_seconds_mid_run_loses_nothing(installed, tmp_path, unique_name) -> None:
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.audit-{namespace}"
    forwarder = LateForwarder(upstream_of(installed))
    client = client_behind(forwarder)
    forwarder.open()  # client_behind closed it again: the cluster is reachable when the run starts
    with CloudflareMock.from_package(REPO, delay_rate=1.0, delay_duration="100ms") as mock:  # 25 pages, >= 2.5 s
        truth = len(mock.dataset("audit_v2_main"))
        plans = plan_streams(Package.load(REPO), policy(namespace, mock, api_token=mock.token, page_size=100),
                             env={})
        agent = Agent(plans, client, tmp_path, queue_size=200, bulk_size=100)

        def flowing() -> bool:
            try:
                return count(installed, index) > 0
            except IntpkgError:  # the data stream is being created (a 503 "all shards failed" on a busy node)
                return False

        def outage() -> None:
            while not flowing():  # wait until documents are flowing
                time.sleep(0.1)
            forwarder.close()
            time.sleep(30)
            forwarder.open()

        cut = threading.Thread(target=outage, daemon=True)
        cut.start()
        started = time.monotonic()
        try:
            status = agent.run(once=True)
        finally:
            forwarder.close()
        elapsed = time.monotonic() - started
        cut.join(timeout=1)
    assert elapsed >= 30, "the run ended before the outage did: the cut did not fall mid-run"
    (entry,) = status["streams"].values()
    assert entry["state"] == "ok", entry
    assert 0 < entry["events_acked"] == truth
    assert count(installed, index) == truth
    assert agent.cursors.load(plans[0].stream_id)  # saved once everything was acknowledged


def test_a_429_is_waited_out_as_told_and_followed_by_no_burst(installed, tmp_path, unique_name) -> None:
    """Another tool spent the credential's quota (Cloudflare counts every client of a token): the agent's
    first request is refused with 429 and Retry-After, and it must wait that long before the next one."""
    namespace = unique_name.replace("-", "")
    with CloudflareMock.from_package(REPO, rate_limit={"quota": 3, "window": 6}) as mock:
        truth = len(mock.dataset("audit_v1_main"))
        plans = plan_streams(Package.load(REPO), policy(namespace, mock, api_token=mock.token,
                                                         api_version="v1", page_size=500), env={})
        agent = Agent(plans, installed, tmp_path, budget_policy=BUDGET)  # ready before the quota is spent
        url = f"{mock.base_url}/client/v4/accounts/{mock.account_id}/audit_logs"
        other = [requests.get(url, headers={"Authorization": f"Bearer {mock.token}"}, timeout=10) for _ in range(4)]
        assert other[-1].status_code == 429 and int(other[-1].headers["Retry-After"]) > 0
        before = len(mock.requests)
        status = agent.run(once=True)
        sent = mock.requests[before:]
    (entry,) = status["streams"].values()
    assert entry["state"] == "ok", entry
    assert count(installed, f"logs-cloudflare.audit-{namespace}") == truth
    assert sent[0].status == 429, "the agent's first request should have met the block"
    for i, request in enumerate(sent[:-1]):
        if request.status == 429:
            # the mock blocks until its Retry-After has passed: a request sent earlier would be a 429 too
            assert sent[i + 1].status == 200, "a request went out before Retry-After expired"
            assert sent[i + 1].time - request.time >= 1.0


def test_sigterm_stops_the_collector_during_a_hanging_request(installed, tmp_path, unique_name) -> None:
    import json
    import os
    import signal
    import subprocess
    import sys

    import yaml

    namespace = unique_name.replace("-", "")
    with CloudflareMock.from_package(REPO) as mock:
        mock.add_fault("delay", path="/audit_logs$", times=None, seconds=120)  # the API hangs
        policy_file = tmp_path / "policy.yml"
        policy_file.write_text(yaml.safe_dump(policy(namespace, mock, api_token="${env:CF_TEST_TOKEN}",
                                                     api_version="v1", http_client_timeout="300s")))
        cmd = [sys.executable, "-m", "intpkg.cli", "run", str(REPO), "--policy", str(policy_file),
               "--state-dir", str(tmp_path / "state"), "--es-url", installed.target.url, "--log-level", "WARNING"]
        proc = subprocess.Popen(cmd, env={**os.environ, "CF_TEST_TOKEN": mock.token}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not mock.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the request is in flight, hanging
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        finally:
            proc.kill()
    assert time.monotonic() - stopped_at < 15
    status = json.loads((tmp_path / "state" / "status.json").read_text())
    assert all(entry["state"] != "running" for entry in status["streams"].values()), status


def test_a_collector_started_before_its_cluster_waits_for_it(installed, tmp_path, unique_name) -> None:
    import os
    import subprocess
    import sys

    import yaml

    namespace = unique_name.replace("-", "")
    forwarder = LateForwarder(upstream_of(installed))  # the cluster's port refuses connections for now
    with CloudflareMock.from_package(REPO) as mock:
        policy_file = tmp_path / "policy.yml"
        policy_file.write_text(yaml.safe_dump(policy(namespace, mock, api_token="${env:CF_TEST_TOKEN}",
                                                     api_version="v1")))
        cmd = [sys.executable, "-m", "intpkg.cli", "run", str(REPO), "--policy", str(policy_file), "--once",
               "--state-dir", str(tmp_path / "state"), "--es-url", f"http://127.0.0.1:{forwarder.port}"]
        proc = subprocess.Popen(cmd, env={**os.environ, "CF_TEST_TOKEN": mock.token}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            first = proc.stderr.readline()
            assert "waiting for the cluster" in first, first
            assert proc.poll() is None  # still waiting, not exited
            forwarder.open()
            _, err = proc.communicate(timeout=120)
        finally:
            proc.kill()
            forwarder.close()
    assert proc.returncode == 0, err[-2000:]
    assert count(installed, f"logs-cloudflare.audit-{namespace}") == len(mock.dataset("audit_v1_main"))
