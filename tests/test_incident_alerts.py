"""The mock's incident, collected as `intpkg up` collects it, raises its alerts through the package's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.incident import alerts_of, collect_incident_and_detect
from intpkg.cloudflare.mockapi.scenarios import ATTACKER_IP
from intpkg.detection.alerts import recent_alerts

pytestmark = pytest.mark.slow
NEW_COUNTRY = "Cloudflare Sign-In From a Country New for the User"
EXPECTED = {NEW_COUNTRY, "Cloudflare API Token Created or Rolled", "Cloudflare Mass DNS Record Deletion",
            "Cloudflare WAF, Managed Ruleset or Firewall Rule Disabled",
            "Cloudflare Firewall, WAF or Rate Limiting Rule Deleted",
            "Cloudflare SSL/TLS Encryption Mode Lowered to Off or Flexible"}


def test_the_incident_raises_its_alerts(search_client, tmp_path: Path) -> None:
    namespace = collect_incident_and_detect(search_client, tmp_path)
    ours = alerts_of(recent_alerts(search_client, size=1000), namespace)
    names = {alert["kibana"]["alert"]["rule"]["name"] for alert in ours}
    assert EXPECTED <= names, names
    new_country = next(a for a in ours if a["kibana"]["alert"]["rule"]["name"] == NEW_COUNTRY)
    assert new_country["source"]["ip"] == ATTACKER_IP and new_country["user"]["email"] == "bob@example.org"
    assert new_country["kibana"]["alert"]["new_terms"] == ["bob@example.org", "CN"]
