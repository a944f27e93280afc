"""Alerts as ECS documents in `intpkg-alerts-default`, shaped like Kibana's security alerts.

One alert per `Match` of a rule execution, with a deterministic `_id`: sha256 of the rule_id and the
match's key (the source event's `_id` for query rules; the group's terms and first event time for
threshold rules; the new combination and its first event's `_id` for new-terms rules). Alerts are
written with `create`, so running the same window again (a restart, overlapping look-backs) adds
no copy.

    {"@timestamp": <when written>, "event": {"kind": "signal", "action", "outcome", "category", ...},
     "message": "<rule name>: <reason>",
     "kibana": {"alert": {
        "uuid": <_id>, "status": "active", "workflow_status": "open",
        "severity", "risk_score", "reason", "original_time": <first source event's @timestamp>,
        "start", "depth": 1,
        "rule": {"rule_id", "uuid", "name", "description", "type", "severity", "risk_score", "interval",
                 "from", "tags", "threat", "execution": {"timestamp": <the execution's now>}},
        "ancestors": [{"id", "index", "type": "event", "depth": 0}, ...],   # the source events
        "original_event": {<the first source event's event.* fields>},
        "original_data_stream": {"type", "dataset", "namespace"},
        "threshold_result": {"terms": [{"field", "value"}], "count", "from", "cardinality": [...]},
        "new_terms": [<values>]}},
     "user": {"email", ...}, "source": {"ip", "geo": {...}}, "cloudflare": {...}, ...}

Query and new-terms alerts copy `KEY_FIELDS` from the source event; threshold alerts carry the
group's field values only (Kibana's shape: one alert stands for many events).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from intpkg import dotted
from intpkg.detection import DetectionError
from intpkg.detection.execute import Execution, Match, iso_time
from intpkg.detection.rules import Rule
from intpkg.stack.client import SearchClient

ALERTS_INDEX = "intpkg-alerts-default"
ALERTS_TEMPLATE = "intpkg-alerts"
MAX_ANCESTORS = 100

# Source event fields an alert repeats (query and new-terms rules), with their mapping type.
KEY_FIELDS: dict[str, str] = {
    "event.action": "keyword", "event.outcome": "keyword", "event.category": "keyword", "event.type": "keyword",
    "event.dataset": "keyword", "event.id": "keyword", "event.provider": "keyword",
    "user.email": "keyword", "user.name": "keyword", "user.id": "keyword",
    "source.ip": "ip", "source.address": "keyword", "source.geo.country_iso_code": "keyword",
    "source.geo.country_name": "keyword", "source.geo.city_name": "keyword", "source.as.number": "long",
    "source.as.organization.name": "keyword",
    "cloud.account.id": "keyword", "cloud.account.name": "keyword",
    "url.original": "keyword", "url.path": "keyword", "url.domain": "keyword",
    "http.request.method": "keyword", "http.response.status_code": "long", "user_agent.original": "keyword",
    "cloudflare.audit.action.type": "keyword", "cloudflare.audit.action.description": "keyword",
    "cloudflare.audit.resource.type": "keyword", "cloudflare.audit.resource.id": "keyword",
    "cloudflare.audit.resource.product": "keyword", "cloudflare.audit.zone.name": "keyword",
    "cloudflare.audit.actor.type": "keyword", "cloudflare.audit.actor.token.name": "keyword",
    "cloudflare.logpull.ray_id": "keyword", "cloudflare.logpull.client.ip_class": "keyword",
    "cloudflare.logpull.security.action": "keyword", "cloudflare.logpull.waf.action": "keyword",
    "cloudflare.logpull.edge.request.host": "keyword",
}

_ALERT_FIELDS: dict[str, dict[str, Any]] = {
    "@timestamp": {"type": "date"},
    "message": {"type": "text"},
    "event.kind": {"type": "keyword"},
    "kibana.alert.uuid": {"type": "keyword"},
    "kibana.alert.status": {"type": "keyword"},
    "kibana.alert.workflow_status": {"type": "keyword"},
    "kibana.alert.severity": {"type": "keyword"},
    "kibana.alert.risk_score": {"type": "float"},
    "kibana.alert.reason": {"type": "text"},
    "kibana.alert.original_time": {"type": "date"},
    "kibana.alert.start": {"type": "date"},
    "kibana.alert.depth": {"type": "long"},
    "kibana.alert.rule.rule_id": {"type": "keyword"},
    "kibana.alert.rule.uuid": {"type": "keyword"},
    "kibana.alert.rule.name": {"type": "keyword"},
    "kibana.alert.rule.description": {"type": "text"},
    "kibana.alert.rule.type": {"type": "keyword"},
    "kibana.alert.rule.severity": {"type": "keyword"},
    "kibana.alert.rule.risk_score": {"type": "float"},
    "kibana.alert.rule.interval": {"type": "keyword"},
    "kibana.alert.rule.from": {"type": "keyword"},
    "kibana.alert.rule.tags": {"type": "keyword"},
    "kibana.alert.rule.threat": {"type": "object", "enabled": False},
    "kibana.alert.rule.execution.timestamp": {"type": "date"},
    "kibana.alert.ancestors.id": {"type": "keyword"},
    "kibana.alert.ancestors.index": {"type": "keyword"},
    "kibana.alert.ancestors.type": {"type": "keyword"},
    "kibana.alert.ancestors.depth": {"type": "long"},
    "kibana.alert.original_event.action": {"type": "keyword"},
    "kibana.alert.original_event.category": {"type": "keyword"},
    "kibana.alert.original_event.dataset": {"type": "keyword"},
    "kibana.alert.original_event.id": {"type": "keyword"},
    "kibana.alert.original_event.kind": {"type": "keyword"},
    "kibana.alert.original_event.outcome": {"type": "keyword"},
    "kibana.alert.original_event.type": {"type": "keyword"},
    "kibana.alert.original_data_stream.type": {"type": "keyword"},
    "kibana.alert.original_data_stream.dataset": {"type": "keyword"},
    "kibana.alert.original_data_stream.namespace": {"type": "keyword"},
    "kibana.alert.threshold_result.terms.field": {"type": "keyword"},
    "kibana.alert.threshold_result.terms.value": {"type": "keyword"},
    "kibana.alert.threshold_result.count": {"type": "long"},
    "kibana.alert.threshold_result.from": {"type": "date"},
    "kibana.alert.threshold_result.cardinality.field": {"type": "keyword"},
    "kibana.alert.threshold_result.cardinality.value": {"type": "long"},
    "kibana.alert.new_terms": {"type": "keyword"},
}


def alert_mappings() -> dict[str, Any]:
    """Mappings of the alerts index: the fields above and KEY_FIELDS; other fields are kept, not indexed."""
    flat = {**{name: {"type": kind} for name, kind in KEY_FIELDS.items()}, **_ALERT_FIELDS}
    properties: dict[str, Any] = {}
    for name, mapping in sorted(flat.items()):
        node = properties
        parts = name.split(".") if name != "@timestamp" else [name]
        for part in parts[:-1]:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[parts[-1]] = mapping
    return {"dynamic": False, "properties": properties}


def ensure_alerts_index(client: SearchClient, index: str = ALERTS_INDEX) -> None:
    """Install the index template `intpkg-alerts` (pattern `intpkg-alerts-*`) and create `index`;
    an existing index gets any new field mappings."""
    mappings = alert_mappings()
    client.request("PUT", f"/_index_template/{ALERTS_TEMPLATE}", body={
        "index_patterns": [f"{ALERTS_TEMPLATE}-*"],
        "priority": 500,
        "template": {"settings": {"index": {"auto_expand_replicas": "0-1"}}, "mappings": mappings},
        "_meta": {"managed_by": "intpkg", "description": "alerts of intpkg's detection engine"},
    })
    created = client.request("PUT", f"/{index}", body={}, ignore=(400,))
    error = (created or {}).get("error") if isinstance(created, dict) else None
    if error and (error.get("type") if isinstance(error, dict) else "") != "resource_already_exists_exception":
        raise DetectionError(f"cannot create the alerts index {index}: {error}")
    if error:
        client.request("PUT", f"/{index}/_mapping", body=mappings)


def alert_id(rule: Rule, match: Match) -> str:
    """The same rule on the same events gives the same id (a re-run adds no copy). The events' data streams
    are part of it: record ids repeat across namespaces (one record collected twice, or a test's copy)."""
    indices = sorted({_data_stream_of(event.index) for event in match.events})
    return hashlib.sha256(f"{rule.rule_id}\x00{match.key}\x00{','.join(indices)}".encode()).hexdigest()


def _data_stream_of(index: str) -> str:
    """`.ds-logs-x-default-2026.11.26-000001` → `logs-x-default` (a rollover keeps the alert's id)."""
    name = index.removeprefix(".ds-")
    parts = name.rsplit("-", 2)
    if len(parts) == 3 and parts[2].isdigit() and (parts[1].replace(".", "").isdigit()):
        return parts[0]
    parts = name.rsplit("-", 1)
    return parts[0] if len(parts) == 2 and parts[1].isdigit() else name


def build_alert(rule: Rule, execution: Execution, match: Match, created: datetime) -> tuple[str, dict[str, Any]]:
    """`(_id, document)` of the alert for one match (the module docstring shows the shape)."""
    uuid = alert_id(rule, match)
    source = match.source or {}
    doc: dict[str, Any] = {}
    if rule.type == "threshold":
        for term in match.terms:
            if term["field"] in KEY_FIELDS:
                dotted.put(doc, term["field"], term["value"])
    else:
        for name in KEY_FIELDS:
            value = dotted.find(source, name, None)
            if value is not None and value != [] and value != "":
                dotted.put(doc, name, value)
    reason = alert_reason(rule, match)
    alert: dict[str, Any] = {
        "uuid": uuid, "status": "active", "workflow_status": "open",
        "severity": rule.severity, "risk_score": rule.risk_score, "reason": reason,
        "original_time": match.original_time, "start": iso_time(created), "depth": 1,
        "rule": {"rule_id": rule.rule_id, "uuid": rule.uuid, "name": rule.name, "description": rule.description,
                 "type": rule.type, "severity": rule.severity, "risk_score": rule.risk_score,
                 "interval": rule.interval, "from": rule.from_, "tags": list(rule.tags),
                 "threat": [dict(t) for t in rule.threat], "execution": {"timestamp": iso_time(execution.now)}},
        "ancestors": [{"id": e.id, "index": e.index, "type": "event", "depth": 0}
                      for e in match.events[:MAX_ANCESTORS]],
    }
    original_event = source.get("event") if isinstance(source.get("event"), dict) else {}
    if original_event:
        alert["original_event"] = {k: v for k, v in original_event.items() if k not in ("original",)}
    data_stream = source.get("data_stream")
    if isinstance(data_stream, dict):
        alert["original_data_stream"] = {k: data_stream[k] for k in ("type", "dataset", "namespace")
                                         if k in data_stream}
    if rule.type == "threshold":
        alert["threshold_result"] = {
            "terms": [{"field": t["field"], "value": _text(t["value"])} for t in match.terms],
            "count": match.count, "from": match.first_time,
            **({"cardinality": match.cardinality} if match.cardinality else {}),
        }
    if rule.type == "new_terms":
        alert["new_terms"] = [_text(v) for v in match.new_terms]
    event = doc.setdefault("event", {})
    event["kind"] = "signal"
    doc.update({"@timestamp": iso_time(created), "message": f"{rule.name}: {reason}",
                "kibana": {"alert": alert}})
    return uuid, doc


def alert_reason(rule: Rule, match: Match) -> str:
    """One sentence saying what fired."""
    if rule.type == "threshold":
        group = ", ".join(f"{t['field']} {t['value']}" for t in match.terms) or "all events"
        extra = "".join(f", {c['value']} distinct {c['field']}" for c in match.cardinality)
        return f"{match.count} events for {group}{extra} since {match.first_time}"
    source = match.source or {}
    parts = []
    action = dotted.find(source, "event.action", None)
    resource = dotted.find(source, "cloudflare.audit.resource.type", None)
    if action:
        parts.append(f"{action}" + (f" {resource}" if resource else ""))
    url = dotted.find(source, "url.original", None)
    if url and not resource:
        parts.append(f"request {dotted.find(source, 'http.request.method', '') or ''} {url}".replace("  ", " "))
    user = dotted.find(source, "user.email", None) or dotted.find(source, "user.name", None)
    if user:
        parts.append(f"by {user}")
    ip = dotted.find(source, "source.ip", None)
    if ip:
        country = dotted.find(source, "source.geo.country_iso_code", None)
        parts.append(f"from {ip}" + (f" ({country})" if country else ""))
    text = " ".join(parts) or "event"
    if rule.type == "new_terms":
        terms = ", ".join(f"{t['field']} {t['value']}" for t in match.terms)
        text = f"first {terms} in the history window: {text}"
    return f"{text} at {match.original_time}"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def write_alerts(client: SearchClient, alerts: Iterable[tuple[str, dict[str, Any]]],
                 index: str = ALERTS_INDEX) -> tuple[int, int]:
    """Create the alerts; `(created, already there)`. Raises DetectionError when the cluster refuses one."""
    items = list(alerts)
    if not items:
        return 0, 0
    actions = ({"_op_type": "create", "_index": index, "_id": uid, "_source": doc} for uid, doc in items)
    created = existing = 0
    problems = []
    for ok, info in client.streaming_bulk(actions, chunk_size=500, raise_on_error=False, raise_on_exception=False,
                                          max_retries=2, yield_ok=True, refresh="wait_for"):
        detail = next(iter(info.values()), {}) if info else {}
        if ok:
            created += 1
        elif detail.get("status") == 409:
            existing += 1
        else:
            problems.append(f"{detail.get('_id')}: HTTP {detail.get('status')} {detail.get('error')}")
    if problems:
        raise DetectionError(f"the cluster refused {len(problems)} alert(s) for {index}: {problems[0]}")
    return created, existing


def recent_alerts(client: SearchClient, size: int = 50, rule_id: str | None = None, *,
                  index: str = ALERTS_INDEX) -> list[dict[str, Any]]:
    """The newest alerts first (their `_source` plus `_id`), of one rule when `rule_id` is given;
    [] while the alerts index does not exist."""
    query: dict[str, Any] = {"term": {"kibana.alert.rule.rule_id": rule_id}} if rule_id else {"match_all": {}}
    found = client.request("POST", f"/{index}/_search", ignore=(404,), body={
        "size": size, "query": query,
        "sort": [{"@timestamp": {"order": "desc"}}, {"kibana.alert.original_time": {"order": "desc"}}]})
    hits = ((found or {}).get("hits") or {}).get("hits") or []
    return [{"_id": h["_id"], **(h.get("_source") or {})} for h in hits]


def alert_counts(client: SearchClient, *, index: str = ALERTS_INDEX) -> dict[str, int]:
    """Alerts per rule_id ({} while the alerts index does not exist)."""
    found = client.request("POST", f"/{index}/_search", ignore=(404,), body={
        "size": 0, "aggs": {"rules": {"terms": {"field": "kibana.alert.rule.rule_id", "size": 1000}}}})
    buckets = (((found or {}).get("aggregations") or {}).get("rules") or {}).get("buckets") or []
    return {b["key"]: int(b["doc_count"]) for b in buckets}
