"""The mock's scripted incident: added to the primary account's v2 audit logs only when asked for."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.cloudflare.mockapi.scenarios import ATTACKER_IP
from intpkg.mock.config import ConfigError

REPO = Path(__file__).resolve().parents[1]


def audit_v2(mock: CloudflareMock) -> list[dict]:
    answer = requests.get(f"{mock.base_url}/client/v4/accounts/{mock.account_id}/logs/audit",
                          params={"since": "2000-01-01T00:00:00Z", "before": "2099-01-01T00:00:00Z", "limit": 1000,
                                  "direction": "desc"},
                          headers={"Authorization": f"Bearer {mock.token}"}, timeout=30)
    assert answer.status_code == 200
    return answer.json()["result"]


def test_the_incident_joins_the_audit_logs_when_asked_for() -> None:
    with CloudflareMock.from_package(REPO) as plain:
        assert len(plain.dataset("audit_v2_main")) == 2500
        assert not any(r["actor"]["ip_address"] == ATTACKER_IP for r in audit_v2(plain))
    started = time.time()
    with CloudflareMock.from_package(REPO, scenarios=("incident",), anchor=started - 600) as mock:
        assert len(mock.dataset("audit_v2_main", "audit_v2")) == 2517
        story = [r for r in audit_v2(mock) if r["actor"]["ip_address"] == ATTACKER_IP][::-1]
    steps = [(r["action"]["type"], r["resource"]["type"]) for r in story]
    assert steps == [("login", "user"), ("create", "token")] + [("delete", "dns_record")] * 12 + \
        [("update", "ruleset"), ("delete", "ruleset"), ("update", "setting")]
    assert {r["actor"]["email"] for r in story} == {"bob@example.org"}
    first = time.mktime(time.strptime(story[0]["action"]["time"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert abs(first - (started - 600 + 60)) < 2  # it starts a minute after the anchor
    assert story[-1]["resource"]["request"] == {"value": "flexible"}


def test_an_unknown_scenario_is_refused() -> None:
    with pytest.raises(ConfigError, match="no scenario 'heist'"):
        CloudflareMock.from_package(REPO, scenarios=("heist",)).__enter__()
