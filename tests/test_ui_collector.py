"""The UI's collector is `intpkg run` in a process of its own: it outlives the UI and is taken over again."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.stack.client import Target
from intpkg.ui.server import start_ui

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mock() -> Iterator[CloudflareMock]:
    with CloudflareMock.from_package(REPO) as server:
        yield server


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_the_collector_outlives_the_ui_and_is_resumed(mock: CloudflareMock, search_target: Target,
                                                      tmp_path: Path) -> None:
    namespace = "uic" + uuid.uuid4().hex[:6]
    body = {"name": "acme", "namespace": namespace, "inputs": {"cloudflare-httpjson": {"streams": {
        "cloudflare.audit": {"vars": {"account_id": mock.account_id, "api_token": mock.token,
                                      "api_url": mock.base_url}},
        "cloudflare.logpull": {"enabled": False}}}}}
    first = start_ui([REPO], tmp_path, search_target, port=0)
    first.integrations.save_policy("cloudflare", body)
    collector = first.integrations.collector("cloudflare")
    collector.start()
    wait_for(lambda: collector.health()["policies"][0]["state"] == "healthy")
    pid = collector.pid()
    assert pid and pid > 0
    log = (tmp_path / "collectors" / "cloudflare" / "agent" / "collector.log").read_text()
    assert mock.token not in log  # the secret reached the process through its environment only
    assert not any(mock.token in p.read_text() for p in (tmp_path / "collectors").rglob("*.json"))
    first.close()  # the UI stops ...

    second = start_ui([REPO], tmp_path, search_target, port=0)  # ... and a new one takes the collector over
    try:
        again = second.integrations.collector("cloudflare")
        assert again.pid() == pid and again.health()["running"]
        (stream,) = again.health()["policies"][0]["streams"]
        assert stream["state"] == "healthy" and stream["events_acked"] > 0 and stream["cursor"]

        # saving a policy restarts the collector on the new set (SIGTERM: it flushes and saves first)
        policy_id = second.integrations.store("cloudflare").list()[0]["id"]
        second.integrations.save_policy("cloudflare", {**body, "description": "changed"}, policy_id)
        assert again.running() and again.pid() != pid

        # a collector that should run but died (a reboot) is started again by the next UI
        os.kill(again.pid(), 9)
        wait_for(lambda: not again.running())
    finally:
        second.close()
    third = start_ui([REPO], tmp_path, search_target, port=0)
    try:
        assert third.integrations.collector("cloudflare").running()
    finally:
        third.integrations.collector("cloudflare").stop()
        assert not third.integrations.collector("cloudflare").wanted()
        third.close()


def test_a_collector_waiting_for_its_cluster_can_be_seen_and_stopped(mock: CloudflareMock, tmp_path: Path) -> None:
    from intpkg.stack.ports import free_port_pair

    nobody = Target(url=f"http://127.0.0.1:{free_port_pair()}")  # no cluster answers there
    server = start_ui([REPO], tmp_path, nobody, port=0)
    try:
        server.integrations.save_policy("cloudflare", {"name": "acme", "inputs": {"cloudflare-httpjson": {"streams": {
            "cloudflare.audit": {"vars": {"account_id": mock.account_id, "api_token": mock.token,
                                          "api_url": mock.base_url}},
            "cloudflare.logpull": {"enabled": False}}}}})
        collector = server.integrations.collector("cloudflare")
        collector.start()
        wait_for(lambda: "waiting for the cluster" in collector.log_tail(), timeout=30)
        assert collector.running() and collector.pid() > 0  # it holds its state folder while it waits
        collector.stop(timeout=15)
        assert not collector.running()
    finally:
        server.close()
