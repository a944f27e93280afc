"""Scripted incidents: audit records that tell a story, for the detection rules to find in the mock's data.

`incident` (audit logs v2, account A, starting at the dataset's `from`, about three minutes long): bob
signs in from an address in a country he never used, creates an API token, deletes a dozen DNS
records with it, then disables a zone's WAF managed ruleset, deletes its custom ruleset and turns SSL
to flexible. With `intpkg up`
on the mock, the records appear one to four minutes after start (times in the future are served once
they are past), so the collector reads them live and the alerting engine fires within minutes.
"""

from __future__ import annotations

from typing import Any

from intpkg.cloudflare.mockapi.generators import USER_AGENTS, USERS, stable_hex
from intpkg.mock.timeutil import NS, format_rfc3339

ATTACKER_IP = "175.16.199.1"  # China in MaxMind's test databases and GeoLite2; no mock user signs in from it
SCENARIOS = ("incident",)


def incident_audit_v2(start_ns: int, ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """The incident's v2 records, the first at `start_ns`."""
    user = next(u for u in USERS if u["email"] == "bob@example.org")
    zone = ctx["zones"][0]
    token = {"id": stable_hex("token:incident"), "name": "backup-automation"}
    steps: list[tuple[int, dict[str, Any]]] = [
        (0, _step("login", "Login", "POST", f"/client/v4/accounts/{ctx['account']}/user", "user", "user",
                  "accounts", user["id"], {}, context="dash")),
        (20, _step("create", "Create API token", "POST", "/client/v4/user/tokens", "api_tokens", "token", "user",
                   token["id"], {"name": token["name"], "policies": [{"effect": "allow", "permission_groups": [
                       {"name": "DNS Write"}, {"name": "Zone Settings Write"}]}]}, context="dash")),
    ]
    for n in range(12):
        record_id = stable_hex(f"incident:dns:{n}")
        steps.append((60 + 5 * n, _step(
            "delete", "Delete DNS record", "DELETE", f"/client/v4/zones/{zone['id']}/dns_records/{record_id}",
            "dns_records", "dns_record", "zones", record_id, {}, context="api_token", token=token, zone=zone)))
    ruleset, managed = stable_hex("incident:ruleset"), stable_hex("incident:managed-ruleset")
    steps += [
        (130, _step("update", "Update ruleset", "PUT", f"/client/v4/zones/{zone['id']}/rulesets/{managed}",
                    "rulesets", "ruleset", "zones", managed, {"phase": "http_request_firewall_managed",
                                                             "enabled": False}, context="api_token", token=token,
                    zone=zone)),
        (140, _step("delete", "Delete ruleset", "DELETE", f"/client/v4/zones/{zone['id']}/rulesets/{ruleset}",
                    "rulesets", "ruleset", "zones", ruleset, {"phase": "http_request_firewall_custom"},
                    context="api_token", token=token, zone=zone)),
        (160, _step("update", "Update zone setting", "PATCH", f"/client/v4/zones/{zone['id']}/settings/ssl",
                    "zone_settings", "setting", "zones", "ssl", {"value": "flexible"}, context="api_token",
                    token=token, zone=zone)),
    ]
    records = []
    for offset, record in steps:
        record["action"]["time"] = format_rfc3339(start_ns + offset * NS, fraction="auto")
        record["id"] = stable_hex(f"incident:{offset}:{record['resource']['id']}")
        record["account"] = {"id": ctx["account"], "name": ctx["account_name"]}
        record["actor"].update(id=user["id"], email=user["email"])
        records.append(record)
    return records


def _step(atype: str, description: str, method: str, uri: str, product: str, rtype: str, scope: str,
          resource_id: str, request: dict[str, Any], *, context: str, token: dict[str, str] | None = None,
          zone: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "action": {"description": description, "result": "success", "type": atype},
        "actor": {"context": context, "ip_address": ATTACKER_IP, "token_id": (token or {}).get("id", ""),
                  "token_name": (token or {}).get("name", ""), "type": "user"},
        "raw": {"cf_ray_id": stable_hex(f"incident:ray:{uri}")[:16], "method": method, "status_code": 200,
                "uri": uri, "user_agent": USER_AGENTS[0] if context == "dash" else "python-requests/2.32.3"},
        "resource": {"id": resource_id, "product": product, "type": rtype, "request": request,
                     "response": {} if atype == "delete" else {"id": resource_id}, "scope": {"type": scope}},
        "zone": {"id": zone["id"], "name": zone["name"]} if zone else {"id": "", "name": ""},
    }
