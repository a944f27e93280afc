"""`x-intpkg-handler` kinds: the Cloudflare API semantics of reference §2 and §5-§7 over a dataset."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import random
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from intpkg import jsoncodec
from intpkg.cloudflare import envelope
from intpkg.cloudflare.mockapi.auth import HEX32, TOKEN_SHAPE, Credential, authenticate, authorize
from intpkg.cloudflare.mockapi.datasets import Dataset, DatasetFactory
from intpkg.cloudflare.mockapi.generators import BOT_FIELDS, DEFAULT_LOGPULL_FIELDS, LOGPULL_FIELDS, TIMESTAMP_FIELDS
from intpkg.cloudflare.mockapi.ratelimit import RateLimiter
from intpkg.mock.handlerset import Call
from intpkg.mock.reply import Reply
from intpkg.mock.timeutil import NS, format_rfc3339, parse_date_or_rfc3339, parse_duration, parse_logpull_time

MAX_PER_PAGE = 1000
LOGPULL_MAX_AGE = 168 * 3600 * NS
LOGPULL_MAX_WINDOW = 3600 * NS
STREAM_ABOVE_RECORDS = 20_000  # larger Logpull windows are generated while they are sent
GZIP_LEVEL = 1  # the fastest: the mock shares the machine's cores with the collector and the cluster


@dataclass
class ApiState:
    """The mock account shared by all handlers: credentials, accounts, zones, flags, datasets, limits."""

    credentials: list[Credential]
    accounts: dict[str, dict[str, Any]]
    zones: dict[str, dict[str, Any]]
    datasets: DatasetFactory
    logpull_limiter: RateLimiter | None = None
    retention: dict[str, bool] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def retention_flag(self, zone: str) -> bool:
        with self.lock:
            if zone not in self.retention:
                self.retention[zone] = bool((self.zones.get(zone) or {}).get("retention", True))
            return self.retention[zone]


def _bad_query(message: str) -> Reply:
    return envelope.error(400, envelope.LOGPULL_BAD_QUERY, f"bad query: {message}")


def _route_error(call: Call) -> Reply:
    return envelope.error(400, envelope.COULD_NOT_ROUTE,
                          f"Could not route to {call.path}, perhaps your object identifier is invalid?")


def _guard(state: ApiState, call: Call, *, permission: str | None) -> Credential | Reply:
    """Id format, then credentials, then scope (account/zone/permission)."""
    account, zone = call.vars.get("account"), call.vars.get("zone")
    if account is not None and not HEX32.match(account):
        return _route_error(call)
    if zone is not None and not HEX32.match(zone):
        return envelope.error(404, envelope.INVALID_ZONE_ID, "Invalid or missing zone id.")
    cred = authenticate(call.headers, state.credentials, call.now_ns)
    if isinstance(cred, Reply):
        return cred
    denied = envelope.error(403, envelope.AUTHENTICATION_ERROR, "Authentication error")
    if account is not None and state.accounts and account not in state.accounts:
        return denied
    if zone is not None and state.zones and zone not in state.zones:
        return denied
    if account is None and zone is None and cred.owner == "account":
        return denied  # user-level endpoints (e.g. /user/audit_logs) do not take account-owned tokens
    zone_account = (state.zones.get(zone) or {}).get("account") if zone else None
    problem = authorize(cred, account=account, zone=zone, zone_account=zone_account, permission=permission)
    return problem or cred


def _int_arg(call: Call, name: str, default: int, *, minimum: int = 1) -> int | Reply:
    raw = call.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return envelope.bad_parameter(f"{name} must be an integer", name)
    if value < minimum:
        return envelope.bad_parameter(f"{name} must be >= {minimum}", name)
    return value


def _time_arg(call: Call, name: str) -> int | None | Reply:
    raw = call.arg(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_date_or_rfc3339(raw)
    except ValueError:
        return envelope.bad_parameter(f"{name} must be a date (yyyy-mm-dd) or an RFC 3339 timestamp", name)


def _direction(call: Call) -> str | Reply:
    direction = (call.arg("direction") or "desc").lower()
    if direction not in ("asc", "desc"):
        return envelope.bad_parameter("direction must be asc or desc", "direction")
    return direction


def _ordered(dataset: Dataset, i0: int, i1: int, direction: str) -> range:
    return range(i0, i1) if direction == "asc" else range(i1 - 1, i0 - 1, -1)


def _select(dataset: Dataset, indices: range, keep: Callable[[dict], bool] | None, offset: int,
            size: int) -> list[dict[str, Any]]:
    """Records `offset..offset+size` of the ordered, filtered selection."""
    if keep is None:
        return [dataset.record(i) for i in indices[offset:offset + size]]
    out, skipped = [], 0
    for i in indices:
        record = dataset.record(i)
        if not keep(record):
            continue
        if skipped < offset:
            skipped += 1
            continue
        out.append(record)
        if len(out) >= size:
            break
    return out


# --------------------------------------------------------------------------- audit v1

def _ip_matches(value: str, wanted: str) -> bool:
    import ipaddress
    if not value:
        return False
    try:
        if "/" in wanted:
            return ipaddress.ip_address(value) in ipaddress.ip_network(wanted, strict=False)
        return ipaddress.ip_address(value) == ipaddress.ip_address(wanted)
    except ValueError:
        return value == wanted


def _v1_filter(call: Call) -> Callable[[dict], bool] | None:
    tests: list[Callable[[dict], bool]] = []
    if call.arg("id"):
        wanted = call.arg("id")
        tests.append(lambda r: r.get("id") == wanted)
    if call.arg("action.type"):
        wanted_type = call.arg("action.type").lower()
        tests.append(lambda r: str(r.get("action", {}).get("type", "")).lower() == wanted_type)
    if call.arg("actor.ip"):
        wanted_ip = call.arg("actor.ip")
        tests.append(lambda r: _ip_matches(str(r.get("actor", {}).get("ip", "")), wanted_ip))
    if call.arg("actor.email"):
        wanted_email = call.arg("actor.email").lower()
        tests.append(lambda r: str(r.get("actor", {}).get("email", "")).lower() == wanted_email)
    if call.arg("zone.name"):
        wanted_zone = call.arg("zone.name")
        tests.append(lambda r: (r.get("metadata") or {}).get("zone_name") == wanted_zone)
    if (call.arg("hide_user_logs") or "").lower() == "true":
        tests.append(lambda r: r.get("resource", {}).get("type") != "user")
    if not tests:
        return None
    return lambda r: all(t(r) for t in tests)


def audit_v1(state: ApiState, call: Call, spec: dict[str, Any]) -> Reply:
    """GET /accounts/{account}/audit_logs (and /user/audit_logs): page/per_page paging, inclusive since/before."""
    cred = _guard(state, call, permission=spec.get("permission", "account_settings:read"))
    if isinstance(cred, Reply):
        return cred
    page = _int_arg(call, "page", 1)
    per_page = _int_arg(call, "per_page", 100)
    direction = _direction(call)
    since, before = _time_arg(call, "since"), _time_arg(call, "before")
    for value in (page, per_page, direction, since, before):
        if isinstance(value, Reply):
            return value
    if per_page > MAX_PER_PAGE:
        if spec.get("per_page_over_max", "clamp") == "error":
            return envelope.bad_parameter(f"per_page must be <= {MAX_PER_PAGE}", "per_page")
        per_page = MAX_PER_PAGE
    if (call.arg("export") or "").lower() == "true":
        return envelope.bad_parameter("export (CSV) is not supported by the mock", "export")
    dataset = state.datasets.build(spec.get("dataset"), "audit_v1")
    i0, i1 = dataset.index_range(since, before, high_inclusive=True)
    records = _select(dataset, _ordered(dataset, i0, i1, direction), _v1_filter(call), (page - 1) * per_page,
                      per_page)
    info = None
    if spec.get("result_info"):
        info = {"page": page, "per_page": per_page, "count": len(records)}
    return envelope.success(records, result_info=info)


# --------------------------------------------------------------------------- audit v2

def _path(*keys: str) -> Callable[[dict], str]:
    def get(record: dict) -> str:
        value: Any = record
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return "" if value is None else str(value)
    return get


V2_FILTERS: dict[str, Callable[[dict], str]] = {
    "id": _path("id"), "audit_log_id": _path("id"), "account_name": _path("account", "name"),
    "action_result": _path("action", "result"), "action_type": _path("action", "type"),
    "actor_context": _path("actor", "context"), "actor_email": _path("actor", "email"),
    "actor_id": _path("actor", "id"), "actor_ip_address": _path("actor", "ip_address"),
    "actor_token_id": _path("actor", "token_id"), "actor_token_name": _path("actor", "token_name"),
    "actor_type": _path("actor", "type"), "raw_cf_ray_id": _path("raw", "cf_ray_id"),
    "raw_method": _path("raw", "method"), "raw_status_code": _path("raw", "status_code"),
    "raw_uri": _path("raw", "uri"), "resource_id": _path("resource", "id"),
    "resource_product": _path("resource", "product"), "resource_scope": _path("resource", "scope", "type"),
    "resource_type": _path("resource", "type"), "zone_id": _path("zone", "id"), "zone_name": _path("zone", "name"),
}


def _values(call: Call, name: str) -> list[str]:
    """A filter's values: repeated `x=a&x=b` or `x[]=a` (the wire form is unconfirmed; both accepted)."""
    return [v for key in (name, name + "[]") for v in call.query.get(key, []) if v != ""]


def _v2_filter(call: Call) -> Callable[[dict], bool] | None:
    tests: list[Callable[[dict], bool]] = []
    for name, get in V2_FILTERS.items():
        include, exclude = set(_values(call, name)), set(_values(call, name + ".not"))
        if include:
            tests.append(lambda r, g=get, s=include: g(r) in s)
        if exclude:
            tests.append(lambda r, g=get, s=exclude: g(r) not in s)
    if not tests:
        return None
    return lambda r: all(t(r) for t in tests)


def _query_digest(call: Call) -> str:
    items = sorted((k, v) for k, vs in call.query.items() if k != "cursor" for v in vs)
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:12]


def _encode_cursor(offset: int, digest: str) -> str:
    raw = json.dumps({"o": offset, "q": digest}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, digest: str) -> int | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError):
        return None
    return offset if data.get("q") == digest and offset >= 0 else None


def audit_v2(state: ApiState, call: Call, spec: dict[str, Any]) -> Reply:
    """GET /accounts/{account}/logs/audit: required since/before (inclusive), limit, opaque cursor, filters."""
    cred = _guard(state, call, permission=spec.get("permission", "account_settings:read"))
    if isinstance(cred, Reply):
        return cred
    for name in ("since", "before"):
        if not call.arg(name):
            return envelope.bad_parameter(f"{name} is required", name)
    since, before = _time_arg(call, "since"), _time_arg(call, "before")
    limit = _int_arg(call, "limit", 100)
    direction = _direction(call)
    for value in (since, before, limit, direction):
        if isinstance(value, Reply):
            return value
    limit = min(limit, int(spec.get("max_limit", MAX_PER_PAGE)))
    digest = _query_digest(call)
    offset = 0
    if call.arg("cursor"):
        decoded = _decode_cursor(call.arg("cursor"), digest)
        if decoded is None:
            return envelope.bad_parameter("invalid cursor (it belongs to a request with other parameters)",
                                          "cursor")
        offset = decoded
    dataset = state.datasets.build(spec.get("dataset"), "audit_v2")
    i0, i1 = dataset.index_range(since, before, high_inclusive=True)
    records = _select(dataset, _ordered(dataset, i0, i1, direction), _v2_filter(call), offset, limit)
    info: dict[str, Any] = {"count": str(len(records))}
    if len(records) == limit:
        info["cursor"] = _encode_cursor(offset + limit, digest)
    return envelope.success(records, result_info=info)


# --------------------------------------------------------------------------- logpull

def _format_ts(value: Any, form: str) -> Any:
    if not isinstance(value, int):
        return value
    ns = value if value > 10**15 else value * NS
    if form == "unix":
        return ns // NS
    if form == "rfc3339":
        return format_rfc3339(ns, fraction="none")
    return ns


def logpull(state: ApiState, call: Call, spec: dict[str, Any]) -> Reply:
    """GET /zones/{zone}/logs/received: NDJSON of [start, end), window rules, fields/timestamps/count/sample."""
    cred = _guard(state, call, permission="logs:read")
    if isinstance(cred, Reply):
        return cred
    zone = call.vars.get("zone", "")
    if state.logpull_limiter is not None:
        decision = state.logpull_limiter.check("zone:" + zone)
        if not decision.allowed:
            reply = envelope.error(429, envelope.RATE_LIMITED, "Rate limited: too many Logpull requests for this zone")
            reply.set_header("Retry-After", str(decision.retry_after))
            return reply
    if not state.retention_flag(zone):
        return _bad_query("log retention is disabled for this zone; enable it with "
                          "POST /zones/{zone_id}/logs/control/retention/flag")
    bounds = {}
    for name in ("start", "end"):
        raw = call.arg(name)
        if not raw:
            return _bad_query(f"error parsing time: missing {name}")
        try:
            bounds[name] = parse_logpull_time(raw)
        except ValueError:
            return _bad_query(f"error parsing time: invalid {name} {raw!r}")
    start, end, now = bounds["start"], bounds["end"], call.now_ns
    lag = parse_duration(str(spec.get("end_lag", "1m")))
    if start < now - LOGPULL_MAX_AGE:
        return _bad_query("error parsing time: invalid time range: too early: logs older than 168h0m0s "
                          "are not available")
    if end > now - lag:
        return _bad_query(f"error parsing time: invalid time range: too late: end must be at least "
                          f"{_go_duration(lag)} in the past")
    if start >= end:
        return _bad_query("error parsing time: invalid time range: start must be earlier than end")
    if end - start > LOGPULL_MAX_WINDOW:
        return _bad_query("error parsing time: invalid time range: the time range must be 1h0m0s or less")
    fields = DEFAULT_LOGPULL_FIELDS
    if call.arg("fields") is not None:
        fields = call.arg("fields").split(",")
        for name in fields:
            if name not in LOGPULL_FIELDS:
                return _bad_query(f"unknown field: {name!r}")
    if set(fields) & BOT_FIELDS and not (state.zones.get(zone) or {}).get("bot_management", False):
        return envelope.error(403, envelope.AUTHENTICATION_ERROR,
                              "BotScore and BotScoreSrc require Bot Management for this zone")
    form = call.arg("timestamps") or "unixnano"
    if form not in ("unixnano", "unix", "rfc3339"):
        return _bad_query("timestamps must be one of unixnano, unix, rfc3339")
    count, sample = call.arg("count"), call.arg("sample")
    try:
        max_count = int(count) if count else None
        fraction = float(sample) if sample else None
    except ValueError:
        return _bad_query("count must be an integer and sample a number")
    if max_count is not None and max_count <= 0:
        return _bad_query("count must be greater than 0")
    if fraction is not None and not 0 < fraction <= 1:
        return _bad_query("sample must be in (0, 1]")
    dataset = state.datasets.build(spec.get("dataset"), "logpull")
    i0, i1 = dataset.index_range(start, end, high_inclusive=False)
    rng = random.Random(f"{spec.get('seed', 0)}:{call.req_num}")
    escape = (call.arg("CVE-2021-44228") or "").lower() == "true"

    def lines() -> Iterator[str]:
        sent = 0
        for i in range(i0, i1):
            if fraction is not None and rng.random() >= fraction:
                continue
            record = dataset.record(i)
            out = {name: _format_ts(record.get(name), form) if name in TIMESTAMP_FIELDS else record.get(name)
                   for name in fields}
            line = jsoncodec.dumps(out) + "\n"
            yield line.replace("${", "x{") if escape else line
            sent += 1
            if max_count is not None and sent >= max_count:
                return

    headers = [("Content-Type", "application/x-ndjson")]
    gzipped = "gzip" in call.headers.get("accept-encoding", "").lower()
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    if i1 - i0 > STREAM_ABOVE_RECORDS:  # a busy zone's window: produced while it is sent, as Cloudflare does
        return Reply(200, headers=headers, stream=_ndjson_chunks(lines(), gzipped))
    body = "".join(lines())
    if not body:
        return Reply(200, b"", [("Content-Type", "application/x-ndjson")])
    data = gzip.compress(body.encode(), compresslevel=GZIP_LEVEL, mtime=0) if gzipped else body.encode()
    return Reply(200, data, headers, chunked=True)


def _ndjson_chunks(lines: Iterator[str], gzipped: bool, size: int = 1 << 18) -> Iterator[bytes]:
    """NDJSON lines as body chunks of about `size` bytes, gzip-compressed on the fly when asked."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if gzipped else None
    buffer: list[str] = []
    held = 0
    for line in lines:
        buffer.append(line)
        held += len(line)
        if held >= size:
            data = "".join(buffer).encode()
            buffer, held = [], 0
            yield compressor.compress(data) if compressor else data
    data = "".join(buffer).encode()
    if compressor:
        yield compressor.compress(data) + compressor.flush()
    elif data:
        yield data


def _go_duration(ns: int) -> str:
    from intpkg.golang.gotime import format_duration
    return format_duration(ns)


def logpull_fields(state: ApiState, call: Call, spec: dict[str, Any]) -> Reply:
    """GET /zones/{zone}/logs/received/fields: a plain JSON object, no envelope."""
    cred = _guard(state, call, permission="logs:read")
    if isinstance(cred, Reply):
        return cred
    return envelope.json_reply(200, dict(sorted(LOGPULL_FIELDS.items())))


def retention_flag(state: ApiState, call: Call, spec: dict[str, Any]) -> Reply:
    """GET/POST /zones/{zone}/logs/control/retention/flag."""
    writing = call.method == "POST"
    cred = _guard(state, call, permission="logs:edit" if writing else "logs:read")
    if isinstance(cred, Reply):
        return cred
    zone = call.vars.get("zone", "")
    if writing:
        try:
            flag = json.loads(call.body or b"null").get("flag")
        except (ValueError, AttributeError):
            flag = None
        if not isinstance(flag, bool):
            return envelope.bad_parameter('the body must be {"flag": true|false}', "flag")
        with state.lock:
            state.retention[zone] = flag
    return envelope.success({"flag": state.retention_flag(zone)})


# --------------------------------------------------------------------------- token verify

def token_verify(state: ApiState, call: Call, spec: dict[str, Any]) -> Reply:
    """GET /user/tokens/verify or /accounts/{account}/tokens/verify (account-owned tokens only there)."""
    account = call.vars.get("account")
    if account is not None and not HEX32.match(account):
        return _route_error(call)
    auth = call.headers.get("authorization")
    scheme, _, secret = (auth or "").partition(" ")
    if auth is None and "x-auth-key" not in call.headers:
        return envelope.error(400, envelope.MISSING_AUTH, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")
    if scheme != "Bearer" or not TOKEN_SHAPE.match(secret):
        return envelope.error(400, envelope.INVALID_HEADERS, "Invalid request headers",
                              chain=[(envelope.INVALID_AUTHORIZATION, "Invalid format for Authorization header")])
    invalid = envelope.error(401, envelope.INVALID_TOKEN, "Invalid API Token")
    cred = next((c for c in state.credentials if c.token == secret), None)
    if cred is None:
        return invalid
    if account is None and cred.owner != "user":
        return invalid  # the account-token pitfall
    if account is not None and (cred.owner != "account" or cred.account != account):
        return invalid
    status = cred.status
    if status == "active" and cred.expires_on is not None and call.now_ns >= cred.expires_on:
        status = "expired"
    result: dict[str, Any] = {"id": cred.token_id, "status": status}
    for name in ("expires_on", "not_before"):
        value = getattr(cred, name)
        if value is not None:
            result[name] = format_rfc3339(value, fraction="none")
    messages = []
    if status == "active":
        messages.append({"code": envelope.TOKEN_VALID, "message": "This API Token is valid and active", "type": None})
    return envelope.success(result, messages=messages)


HANDLERS: dict[str, Callable[[ApiState, Call, dict[str, Any]], Reply]] = {
    "audit_v1": audit_v1, "audit_v2": audit_v2, "logpull": logpull, "logpull_fields": logpull_fields,
    "retention_flag": retention_flag, "token_verify": token_verify,
}
