"""Invented but realistic Cloudflare records (audit v1, audit v2, Logpull), one per seeded RNG.

Every value is made up: example.com/example.org names, documentation IP ranges (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and addresses of MaxMind's GeoIP *test* databases
(89.160.20.128, 81.2.69.142, 216.160.83.56, 2a02:cf40::1) so that GeoIP enrichment is testable.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from intpkg.mock.timeutil import format_rfc3339

ACTOR_IPS = ["198.51.100.23", "198.51.100.77", "203.0.113.7", "203.0.113.199", "192.0.2.44",
             "2001:db8::23", "2001:db8:85a3::8a2e:370:7334", "89.160.20.128", "89.160.20.112",
             "81.2.69.142", "216.160.83.56", "2a02:cf40::1"]
CLIENT_IPS = ACTOR_IPS + ["198.51.100.57", "203.0.113.88", "192.0.2.201", "2001:db8:1::99"]
USER_AGENTS = ["Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
               "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "Version/17.5 Safari/605.1.15",
               "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/126.0 Safari/537.36",
               "curl/8.5.0", "terraform-provider-cloudflare/4.38.0", "python-requests/2.32.3", "wrangler/3.60.0"]


def _hex(rng: random.Random, n: int = 32) -> str:
    return f"{rng.getrandbits(n * 4):0{n}x}"


def _uuid(rng: random.Random) -> str:
    h = _hex(rng)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def stable_hex(text: str) -> str:
    """A 32-hex id that is a pure function of `text` (invented ids that never change)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


USERS = [{"email": e, "id": stable_hex(e)} for e in
         ("ops@example.com", "alice@example.com", "bob@example.org", "carol.dns@example.com",
          "dave.admin@example.org", "erin@example.com")]
TOKENS = [{"name": n, "id": stable_hex("token:" + n)} for n in
          ("terraform-ci", "cert-renewal-bot", "siem-log-reader", "dns-sync")]


def _when(ns: int) -> str:
    return format_rfc3339(ns, fraction="auto")


def _zone(rng: random.Random, ctx: dict[str, Any]) -> dict[str, str]:
    return rng.choice(ctx["zones"])


def _dns_record(rng: random.Random, zone_name: str) -> dict[str, Any]:
    rtype = rng.choice(["A", "AAAA", "CNAME", "TXT", "MX"])
    name = f"{rng.choice(['www', 'api', 'mail', 'shop', 'status', 'cdn'])}.{zone_name}"
    content = {"A": f"192.0.2.{rng.randrange(1, 255)}", "AAAA": f"2001:db8::{rng.randrange(1, 0xffff):x}",
               "CNAME": f"origin.{zone_name}", "TXT": "v=spf1 include:_spf.example.net -all",
               "MX": f"mx{rng.randrange(1, 3)}.{zone_name}"}[rtype]
    record = {"type": rtype, "name": name, "content": content, "ttl": rng.choice([1, 300, 3600]),
              "proxied": rtype in ("A", "AAAA", "CNAME") and rng.random() < 0.7}
    if rtype == "MX":
        record["priority"] = 10
    return record


# --------------------------------------------------------------------------- audit v1

def audit_v1(rng: random.Random, ns: int, ctx: dict[str, Any]) -> dict[str, Any]:
    """One element of `result` of GET /accounts/{id}/audit_logs (reference §5.3)."""
    user = rng.choice(USERS)
    zone = _zone(rng, ctx)
    actor: dict[str, Any] = {"id": user["id"], "email": user["email"], "ip": rng.choice(ACTOR_IPS),
                             "type": "user"}
    interface = rng.choice(["API", "UI", ""])
    ok = rng.random() > 0.06
    action: dict[str, Any] = {"type": "", "result": ok}
    metadata: dict[str, Any] = {}
    resource = {"id": _hex(rng), "type": "zone"}
    new_value, old_value = "", rng.choice(["", "null"])
    extra: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.22:
        kind = rng.choice(["rec_add", "rec_del", "rec_set"])
        action["type"] = kind
        resource["type"] = "DNS_record"
        metadata = {"zone_name": zone["name"]}
        record = _dns_record(rng, zone["name"])
        if kind != "rec_del":
            extra["newValueJson"] = record
        if kind != "rec_add":
            old = dict(record, ttl=300 if record["ttl"] != 300 else 3600) if kind == "rec_set" else record
            extra["oldValueJson"] = old
    elif roll < 0.34:
        action["type"] = rng.choice(["login", "login", "Login"])
        interface = "UI"
        resource = {"id": user["id"], "type": "user"}
    elif roll < 0.42:
        action["type"] = rng.choice(["token_create", "token_revoke", "token_roll"])
        token = rng.choice(TOKENS)
        resource = {"id": token["id"], "type": "api_token"}
        metadata = {"token_name": token["name"]}
        interface = rng.choice(["UI", "API"])
    elif roll < 0.46:
        action["type"] = rng.choice(["API_key_view", "rotate_API_key", "API_key_created"])
        resource = {"id": user["id"], "type": "api_key"}
        if action["type"] == "rotate_API_key":
            action["info"] = "key digest: " + _hex(rng, 64)
        interface = "UI"
    elif roll < 0.58:
        action["type"] = "purge"
        resource = {"id": zone["id"], "type": "zone"}
        everything = rng.random() < 0.3
        metadata = {"zone_name": zone["name"], "purge_everything": everything}
        if not everything:
            metadata["files"] = [f"https://www.{zone['name']}/assets/app.{_hex(rng, 8)}.js"]
    elif roll < 0.65:
        action = {"type": "tls_settings_deployed", "result": True}
        actor = {"id": "1", "type": "system"} if rng.random() < 0.7 else {"id": "0", "type": "Cloudflare"}
        interface = ""
        resource = {"id": zone["id"], "type": "zone"}
        metadata = {"zone_name": zone["name"], "setting": "min_tls_version", "value": "1.2"}
    elif roll < 0.71:
        action["type"] = rng.choice(["add", "delete"])
        member = rng.choice(USERS)
        resource = {"id": _hex(rng), "type": "account"}
        metadata = {"member_email": member["email"],
                    "roles": rng.choice([["Administrator"], ["Analytics"], ["DNS", "Firewall"]])}
    elif roll < 0.93:
        action["type"] = "change_setting"
        resource = {"id": zone["id"], "type": "zone"}
        setting, values = rng.choice([("ssl", ["flexible", "full", "strict"]), ("always_use_https", ["on", "off"]),
                                      ("security_level", ["low", "medium", "high"]),
                                      ("development_mode", ["on", "off"])])
        old_value, new_value = rng.sample(values, 2)
        metadata = {"zone_name": zone["name"], "setting": setting}
    elif roll < 0.97:
        action["type"] = "add_enforce_twofactor"
        resource = {"id": ctx["account"], "type": "account"}
    else:
        action["type"] = "pending"
        resource = {"id": _hex(rng), "type": "ssl"}
        metadata = {"zone_name": zone["name"]}
    if actor.get("type") == "user" and interface == "API" and rng.random() < 0.5:
        metadata = dict(metadata, token_name=rng.choice(TOKENS)["name"])
    record = {"id": _uuid(rng), "when": _when(ns), "action": action, "actor": actor, "interface": interface,
              "metadata": metadata, "newValue": new_value, "oldValue": old_value,
              "owner": {"id": ctx["account"]}, "resource": resource}
    record.update(extra)
    return record


# --------------------------------------------------------------------------- audit v2

def audit_v2(rng: random.Random, ns: int, ctx: dict[str, Any]) -> dict[str, Any]:
    """One element of `result` of GET /accounts/{id}/logs/audit (reference §6.3)."""
    user = rng.choice(USERS)
    zone = _zone(rng, ctx)
    account = ctx["account"]
    context = rng.choices(["dash", "api_token", "api_key", "oauth", "origin_ca_key"], [45, 35, 10, 8, 2])[0]
    actor = {"id": user["id"], "context": context, "email": user["email"], "ip_address": rng.choice(ACTOR_IPS),
             "token_id": "", "token_name": "", "type": "user"}
    if context == "api_token":
        token = rng.choice(TOKENS)
        actor.update(token_id=token["id"], token_name=token["name"])
        if rng.random() < 0.3:
            actor.update(type="account", id=account, email="")
    elif context == "oauth":
        actor["type"] = "user"
    if rng.random() < 0.05:
        actor = {"id": "", "context": "dash", "email": "", "ip_address": "", "token_id": "", "token_name": "",
                 "type": rng.choice(["system", "cloudflare_admin"])}
    ok = rng.random() > 0.08
    rec_id = _hex(rng)
    scenario = rng.random()
    zone_ref = {"id": "", "name": ""}
    request: dict[str, Any] = {}
    if scenario < 0.35:
        atype = rng.choice(["create", "update", "delete"])
        method = {"create": "POST", "update": "PATCH", "delete": "DELETE"}[atype]
        desc = {"create": "Create DNS record", "update": "Update DNS record", "delete": "Delete DNS record"}[atype]
        uri = f"/client/v4/zones/{zone['id']}/dns_records" + ("" if atype == "create" else f"/{rec_id}")
        product, rtype, scope = "dns_records", "dns_record", "zones"
        zone_ref = {"id": zone["id"], "name": zone["name"]}
        if atype != "delete":
            request = _dns_record(rng, zone["name"])
    elif scenario < 0.47:
        atype = rng.choice(["create", "delete"])
        method = "POST" if atype == "create" else "DELETE"
        desc = "Create API token" if atype == "create" else "Delete API token"
        uri = "/client/v4/user/tokens" + ("" if atype == "create" else f"/{rec_id}")
        product, rtype, scope = "api_tokens", "token", "user"
        request = {"name": rng.choice(TOKENS)["name"]} if atype == "create" else {}
    elif scenario < 0.57:
        atype = rng.choice(["create", "delete"])
        method = "POST" if atype == "create" else "DELETE"
        desc = "Add Member" if atype == "create" else "Remove Member"
        uri = f"/client/v4/accounts/{account}/members" + ("" if atype == "create" else f"/{rec_id}")
        product, rtype, scope = "members", "member", "memberships"
        request = {"email": rng.choice(USERS)["email"], "roles": [_hex(rng)]} if atype == "create" else {}
    elif scenario < 0.75:
        atype, method = "update", "PATCH"
        setting = rng.choice(["ssl", "always_use_https", "security_level", "min_tls_version"])
        desc = "Update zone setting"
        uri = f"/client/v4/zones/{zone['id']}/settings/{setting}"
        product, rtype, scope = "zone_settings", "setting", "zones"
        zone_ref = {"id": zone["id"], "name": zone["name"]}
        request = {"value": rng.choice(["on", "off", "strict", "1.2"])}
        rec_id = setting
    elif scenario < 0.85:
        atype, method, desc = "create", "POST", "Purge cache"
        uri = f"/client/v4/zones/{zone['id']}/purge_cache"
        product, rtype, scope = "cache_purge", "zone", "zones"
        zone_ref = {"id": zone["id"], "name": zone["name"]}
        request = {"purge_everything": True} if rng.random() < 0.4 else {
            "files": [f"https://www.{zone['name']}/index.html"]}
        rec_id = zone["id"]
    elif scenario < 0.93:
        atype, method, desc = "update", "PUT", "Update ruleset"
        uri = f"/client/v4/zones/{zone['id']}/rulesets/{rec_id}"
        product, rtype, scope = "rulesets", "ruleset", "zones"
        zone_ref = {"id": zone["id"], "name": zone["name"]}
        request = {"rules": [{"action": rng.choice(["block", "managed_challenge", "log"]),
                              "expression": "(ip.src in {192.0.2.0/24})"}]}
    else:  # a dashboard sign-in: v2 records it as action type `login` (v1 no longer returns sign-ins)
        atype, method, desc = "login", "POST", "Login"
        uri = f"/client/v4/accounts/{account}/user"
        product, rtype, scope = "user", "user", "accounts"
        actor.update(context="dash", token_id="", token_name="", type="user")
        rec_id = user["id"]
    status = 200 if ok else rng.choice([400, 403, 409])
    response: dict[str, Any] = {"id": rec_id} if ok and atype != "delete" else {}
    if not ok:
        response = {"errors": [{"code": rng.choice([1004, 9109, 81057]), "message": "request failed"}]}
    agent = USER_AGENTS[rng.randrange(3)] if actor["context"] == "dash" else rng.choice(USER_AGENTS[3:])
    return {
        "id": _uuid(rng),
        "account": {"id": account, "name": ctx["account_name"]},
        "action": {"description": desc, "result": "success" if ok else "failure",
                   "time": _when(ns), "type": atype},
        "actor": actor,
        "raw": {"cf_ray_id": _hex(rng, 16), "method": method, "status_code": status, "uri": uri,
                "user_agent": agent},
        "resource": {"id": rec_id, "product": product, "type": rtype, "request": request,
                     "response": response, "scope": {"type": scope}},
        "zone": zone_ref,
    }


# --------------------------------------------------------------------------- logpull

LOGPULL_FIELDS: dict[str, str] = {
    "Action": "Action taken on the request (deprecated alias kept for older field lists)",
    "BotScore": "Cloudflare Bot Score (1-99); requires Bot Management",
    "BotScoreSrc": "Detection engine behind the bot score; requires Bot Management",
    "CacheCacheStatus": "Cache status (hit, miss, dynamic, expired, revalidated, ...)",
    "CacheResponseBytes": "Bytes sent by the cache",
    "CacheResponseStatus": "HTTP status returned by the cache to the edge",
    "CacheTieredFill": "Tiered Cache was used to serve this request",
    "ClientASN": "Client AS number",
    "ClientCountry": "Country of the client IP address",
    "ClientDeviceType": "Client device type",
    "ClientIP": "IP address of the client",
    "ClientIPClass": "Client IP class",
    "ClientRequestBytes": "Number of bytes in the client request",
    "ClientRequestHost": "Host requested by the client",
    "ClientRequestMethod": "HTTP method of the client request",
    "ClientRequestPath": "URI path requested by the client",
    "ClientRequestProtocol": "HTTP protocol of the client request",
    "ClientRequestReferer": "HTTP request referrer",
    "ClientRequestURI": "URI requested by the client",
    "ClientRequestUserAgent": "User agent reported by the client",
    "ClientSSLCipher": "Client SSL cipher",
    "ClientSSLProtocol": "Client SSL (TLS) protocol",
    "ClientSrcPort": "Client source port",
    "ClientXRequestedWith": "X-Requested-With HTTP header",
    "EdgeColoCode": "IATA airport code of the data center that received the request",
    "EdgeColoID": "Cloudflare edge colo id",
    "EdgeEndTimestamp": "Timestamp at which the edge finished sending the response to the client",
    "EdgePathingOp": "Indicates what type of response was issued for this request",
    "EdgePathingSrc": "Details how the request was classified based on security checks",
    "EdgePathingStatus": "Indicates what data was used to determine the handling of this request",
    "EdgeRateLimitAction": "The action taken by the blocking rule; empty if no action taken",
    "EdgeRateLimitID": "The internal rule ID of the rate-limiting rule that triggered a block",
    "EdgeRequestHost": "Host header on the request from the edge to the origin",
    "EdgeResponseBytes": "Number of bytes returned by the edge to the client",
    "EdgeResponseCompressionRatio": "Edge response compression ratio",
    "EdgeResponseContentType": "Edge response Content-Type header value",
    "EdgeResponseStatus": "HTTP status code returned by Cloudflare to the client",
    "EdgeServerIP": "IP of the edge server making a request to the origin",
    "EdgeStartTimestamp": "Timestamp at which the edge received the request from the client",
    "FirewallMatchesActions": "Array of actions the Cloudflare firewall products performed on this request",
    "FirewallMatchesRuleIDs": "Array of RuleIDs of the firewall product that has matched the request",
    "FirewallMatchesSources": "The firewall products that matched the request",
    "OriginIP": "IP of the origin server",
    "OriginResponseBytes": "Number of bytes returned by the origin server (deprecated)",
    "OriginResponseHTTPExpires": "Value of the origin 'expires' header in RFC1123 format",
    "OriginResponseHTTPLastModified": "Value of the origin 'last-modified' header in RFC1123 format",
    "OriginResponseStatus": "Status returned by the origin server",
    "OriginResponseTime": "Number of nanoseconds it took the origin to return the response to edge",
    "OriginSSLProtocol": "SSL (TLS) protocol used to connect to the origin",
    "ParentRayID": "Ray ID of the parent request if this request was made through a Worker script",
    "RayID": "ID of the request",
    "SecurityAction": "Rule action of the security rule that triggered a terminating action, if any",
    "SecurityLevel": "The security level configured at the time of this request",
    "SecurityRuleDescription": "The description of the security rule that triggered a terminating action",
    "SecurityRuleID": "The security rule ID that triggered a terminating action, if any",
    "SecurityRuleIDs": "Array of security rule IDs that matched the request",
    "SecuritySources": "Array of security sources that matched the request",
    "WAFAction": "Action taken by the WAF, if triggered (deprecated)",
    "WAFFlags": "Additional configuration flags (deprecated)",
    "WAFMatchedVar": "The full name of the most-recently matched variable (deprecated)",
    "WAFProfile": "WAF profile (deprecated)",
    "WAFRuleID": "ID of the applied WAF rule (deprecated)",
    "WAFRuleMessage": "Rule message associated with the triggered rule (deprecated)",
    "WorkerCPUTime": "Amount of time in microseconds spent executing a worker, if any",
    "WorkerStatus": "Status returned from worker daemon",
    "WorkerSubrequest": "Whether or not this request was a worker subrequest",
    "WorkerSubrequestCount": "Number of subrequests issued by a worker when handling this request",
    "ZoneID": "Internal zone ID",
}
DEFAULT_LOGPULL_FIELDS = ["ClientIP", "ClientRequestHost", "ClientRequestMethod", "ClientRequestURI",
                          "EdgeEndTimestamp", "EdgeResponseBytes", "EdgeResponseStatus", "EdgeStartTimestamp",
                          "RayID"]
BOT_FIELDS = {"BotScore", "BotScoreSrc"}
TIMESTAMP_FIELDS = {"EdgeStartTimestamp", "EdgeEndTimestamp"}
_GEO = {"89.160.20.128": ("se", 29518), "89.160.20.112": ("se", 29518), "81.2.69.142": ("gb", 0),
        "216.160.83.56": ("us", 209), "2a02:cf40::1": ("no", 0)}
_COLOS = [("ARN", 80), ("LHR", 11), ("SEA", 35), ("FRA", 14), ("AMS", 8), ("NRT", 21)]
_PATHS = ["/", "/index.html", "/assets/app.css", "/assets/app.js", "/api/v1/orders", "/api/v1/login",
          "/wp-login.php", "/.env", "/search", "/images/logo.png", "/robots.txt", "/favicon.ico"]
_CONTENT = {"css": "text/css", "js": "application/javascript", "png": "image/png", "html": "text/html",
            "txt": "text/plain", "ico": "image/x-icon"}


def logpull(rng: random.Random, end_ns: int, ctx: dict[str, Any]) -> dict[str, Any]:
    """One Logpull record with every catalogued field; handlers project `fields` and convert timestamps."""
    zone = _zone(rng, ctx)
    hosts = ctx.get("hosts") or [f"www.{zone['name']}", zone["name"], f"api.{zone['name']}"]
    ip = rng.choice(CLIENT_IPS)
    country, asn = _GEO.get(ip, ("xx", rng.choice([64496, 64500, 65550])))
    path = rng.choice(_PATHS)
    query = f"?q={rng.randrange(1000)}" if path in ("/search", "/api/v1/orders") and rng.random() < 0.7 else ""
    method = "POST" if path in ("/api/v1/login",) else rng.choices(["GET", "HEAD", "POST", "PUT"], [85, 5, 8, 2])[0]
    attack = path in ("/wp-login.php", "/.env")
    blocked = attack and rng.random() < 0.8
    if blocked:
        status = 403
    elif path == "/api/v1/login":
        status = rng.choices([200, 401, 429], [80, 15, 5])[0]
    else:
        status = rng.choices([200, 304, 404, 500, 502, 301], [80, 6, 6, 2, 1, 5])[0]
    cache = "dynamic" if path.startswith("/api") or blocked else rng.choice(["hit", "hit", "miss", "expired",
                                                                            "revalidated"])
    duration = rng.randrange(2, 900) * 1_000_000
    start_ns = end_ns - duration
    ext = path.rsplit(".", 1)[-1] if "." in path else ("json" if path.startswith("/api") else "html")
    colo, colo_id = rng.choice(_COLOS)
    edge_bytes = rng.randrange(150, 900) if method == "HEAD" or status in (304, 301, 403) or status >= 400 \
        else rng.randrange(900, 250_000)
    rule_id = _hex(rng) if blocked else ""
    origin_status = 0 if cache == "hit" or blocked else status
    return {
        "Action": "block" if blocked else "",
        "BotScore": rng.randrange(1, 100), "BotScoreSrc": rng.choice(["Machine Learning", "Heuristics",
                                                                       "Verified Bot", "JS Fingerprinting"]),
        "CacheCacheStatus": cache, "CacheResponseBytes": edge_bytes if cache != "dynamic" else 0,
        "CacheResponseStatus": status if cache != "dynamic" else 0, "CacheTieredFill": rng.random() < 0.1,
        "ClientASN": asn, "ClientCountry": country,
        "ClientDeviceType": rng.choice(["desktop", "desktop", "mobile", "tablet"]),
        "ClientIP": ip, "ClientIPClass": "badHost" if attack else rng.choice(["noRecord", "clean", "searchEngine"]),
        "ClientRequestBytes": rng.randrange(300, 4000), "ClientRequestHost": rng.choice(hosts),
        "ClientRequestMethod": method, "ClientRequestPath": path,
        "ClientRequestProtocol": rng.choice(["HTTP/1.1", "HTTP/2", "HTTP/3"]),
        "ClientRequestReferer": rng.choice(["", f"https://www.{zone['name']}/", "https://search.example.net/"]),
        "ClientRequestURI": path + query, "ClientRequestUserAgent": rng.choice(USER_AGENTS),
        "ClientSSLCipher": rng.choice(["AEAD-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256", "NONE"]),
        "ClientSSLProtocol": rng.choice(["TLSv1.3", "TLSv1.2", "none"]),
        "ClientSrcPort": rng.randrange(1024, 65535), "ClientXRequestedWith": "",
        "EdgeColoCode": colo, "EdgeColoID": colo_id, "EdgeEndTimestamp": end_ns,
        "EdgePathingOp": "ban" if blocked else "wl", "EdgePathingSrc": "filterBasedFirewall" if blocked else "macro",
        "EdgePathingStatus": "nr" if not blocked else "unknown",
        "EdgeRateLimitAction": "", "EdgeRateLimitID": 0, "EdgeRequestHost": rng.choice(hosts),
        "EdgeResponseBytes": edge_bytes, "EdgeResponseCompressionRatio": round(rng.uniform(1, 4), 2),
        "EdgeResponseContentType": _CONTENT.get(ext, "application/json"), "EdgeResponseStatus": status,
        "EdgeServerIP": "" if cache == "hit" else f"203.0.113.{rng.randrange(1, 255)}",
        "EdgeStartTimestamp": start_ns,
        "FirewallMatchesActions": ["block"] if blocked else [],
        "FirewallMatchesRuleIDs": [rule_id] if blocked else [],
        "FirewallMatchesSources": ["firewallCustom"] if blocked else [],
        "OriginIP": "" if not origin_status else f"192.0.2.{rng.randrange(1, 255)}",
        "OriginResponseBytes": 0, "OriginResponseHTTPExpires": "", "OriginResponseHTTPLastModified": "",
        "OriginResponseStatus": origin_status,
        "OriginResponseTime": rng.randrange(1, 400) * 1_000_000 if origin_status else 0,
        "OriginSSLProtocol": "TLSv1.3" if origin_status else "unknown",
        "ParentRayID": "00", "RayID": _hex(rng, 16),
        "SecurityAction": "block" if blocked else "", "SecurityLevel": rng.choice(["med", "high", "low"]),
        "SecurityRuleDescription": "Block scanners" if blocked else "", "SecurityRuleID": rule_id,
        "SecurityRuleIDs": [rule_id] if blocked else [], "SecuritySources": ["firewallCustom"] if blocked else [],
        "WAFAction": "unknown", "WAFFlags": "0", "WAFMatchedVar": "", "WAFProfile": "unknown", "WAFRuleID": "",
        "WAFRuleMessage": "",
        "WorkerCPUTime": 0, "WorkerStatus": "unknown", "WorkerSubrequest": False, "WorkerSubrequestCount": 0,
        "ZoneID": int(zone["id"][:8], 16),
    }


BUILDERS = {"audit_v1": audit_v1, "audit_v2": audit_v2, "logpull": logpull}
assert all(name in LOGPULL_FIELDS for name in DEFAULT_LOGPULL_FIELDS)
