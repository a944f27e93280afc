"""The mock's incident, collected as `intpkg up` collects it, raises its alerts through the package's rules."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from intpkg.agent.policy import plan_policies
from intpkg.agent.runner import Agent
from intpkg.assets.install import install_package
from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.cloudflare.mockapi.scenarios import ATTACKER_IP
from intpkg.commands.up import ALERT_LOOKBACK, mock_policies
from intpkg.detection.alerts import recent_alerts
from intpkg.detection.engine import DetectionEngine
from intpkg.package import Package

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
NEW_COUNTRY = "Cloudflare Sign-In From a Country New for the User"
EXPECTED = {NEW_COUNTRY, "Cloudflare API Token Created or Rolled",
            "Cloudflare Mass DNS Record Deletion", "Cloudflare WAF, Managed Ruleset or Firewall Rule Disabled",
            "Cloudflare Firewall, WAF or Rate Limiting Rule Deleted",
            "Cloudflare SSL/TLS Encryption Mode Lowered to Off or Flexible"}


def test_the_incident_raises_its_alerts(search_client, tmp_path: Path) -> None:
    install_package(search_client, REPO)
    namespace = "incident" + uuid.uuid4().hex[:6]
    # the incident began 8 minutes ago: it has been collected once the collector has run
    with CloudflareMock.from_package(REPO, scenarios=("incident",), anchor=time.time() - 9 * 60) as mock:
        audit = [{**policy, "namespace": namespace} for policy in mock_policies(mock)[:1]]
        status = Agent(plan_policies(Package.load(REPO), audit), search_client, tmp_path / "agent").run(once=True)
    assert all(entry["state"] == "ok" for entry in status["streams"].values()), status
    search_client.request("POST", f"/logs-cloudflare.audit-{namespace}/_refresh")

    engine = DetectionEngine.for_package(search_client, REPO, tmp_path / "detection", extra_lookback=ALERT_LOOKBACK)
    runs = engine.run_once()
    assert not [run.error for run in runs if run.error]
    search_client.request("POST", "/intpkg-alerts-default/_refresh")
    # each alert names its source events (`ancestors`): those in this test's data stream are ours
    ours = [alert for alert in recent_alerts(search_client, size=1000)
            if any(f"logs-cloudflare.audit-{namespace}" in ancestor["index"]
                   for ancestor in alert["kibana"]["alert"].get("ancestors") or [])]
    names = {alert["kibana"]["alert"]["rule"]["name"] for alert in ours}
    assert EXPECTED <= names, names
    new_country = next(a for a in ours if a["kibana"]["alert"]["rule"]["name"] == NEW_COUNTRY)
    assert new_country["source"]["ip"] == ATTACKER_IP and new_country["user"]["email"] == "bob@example.org"
