"""Run one detection rule against the cluster at an execution time `now`, as Kibana's detection engine does.

The window is Kibana's: `[resolve(from, now), resolve(to, now)]`, so `from: now-6m` with `to: now` looks
back six minutes (the rule's interval, usually 5m, plus a minute of overlap for late events). Every
search is restricted to the rule's index patterns, its query (Lucene `query_string`, or KQL through
`intpkg.dashboards.kql`), its filters, the window on `@timestamp` and, when given, one
`data_stream.namespace` (how `intpkg test rules` keeps each test's events apart).

- **query**: every document in the window, oldest first, at most `max_signals`; one `Match` each.
- **threshold**: documents grouped by `threshold.field` (a composite aggregation over the fields; no
  field: one group of all documents); a group matches when its count is at least `threshold.value` and
  each `threshold.cardinality` field has at least that many distinct values. Its source events (at most
  `MAX_EVENTS`, oldest first) are fetched by a second search per matching group. As Kibana's threshold
  signal history does, events of a group at or before the last event an earlier alert counted
  (`threshold_history`) are left out, so a burst alerts once and only new events can alert again.
- **new_terms**: the combinations of `new_terms_fields` values (each value of a multi-valued field on
  its own, the combinations being their product, as a composite aggregation yields them) seen in the
  window and not in the history window `[resolve(history_window_start, now), window start)`. One `Match`
  per new combination; its events are the window's documents having it, oldest first; an alert names
  the first (Kibana alerts on the first document of each new term).

Only query_string, term, range, composite, cardinality, min/max and sorting are used: the same on
Elasticsearch 8.x and OpenSearch. (OpenSearch's `query_string` misses wildcards on `wildcard` fields,
which `intpkg.assets.engines` maps as `keyword` there.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from intpkg.dashboards import DashboardError
from intpkg.dashboards.timerange import resolve
from intpkg.detection import DetectionError
from intpkg.detection.rules import Rule
from intpkg.errors import IntpkgError
from intpkg.stack.client import SearchClient

MAX_EVENTS = 100  # source events kept per threshold group / new-terms combination
PAGE = 1000  # composite aggregation page size
MAX_WINDOW_TERMS = 10_000  # new-terms combinations read from the window (Kibana pages to 10,000 too)
SOURCE_EXCLUDES = ["event.original", "message"]  # large and never needed in an alert
_FRACTION = re.compile(r"(\.\d+)")


@dataclass(frozen=True)
class EventRef:
    """One source event: its `_id`, backing `_index` and `@timestamp`."""

    id: str
    index: str
    timestamp: str | None = None


@dataclass
class Match:
    """What one alert stands for: `key` identifies it within its rule (the same events give the same key).

    query: one event. threshold: the group's events, `terms` its values ([{"field", "value"}]), `count`
    its size, `cardinality` [{"field", "value"}]. new_terms: the events having the new combination, `new_terms`
    its values in `new_terms_fields` order. `source` is the first event's `_source` (less event.original)."""

    key: str
    events: list[EventRef]
    source: dict[str, Any]
    count: int = 1
    terms: list[dict[str, Any]] = field(default_factory=list)
    cardinality: list[dict[str, Any]] = field(default_factory=list)
    new_terms: list[Any] = field(default_factory=list)
    first_time: str | None = None
    last_time: str | None = None

    @property
    def original_time(self) -> str | None:
        return self.first_time or (self.events[0].timestamp if self.events else None)


@dataclass
class Execution:
    rule: Rule
    now: datetime
    start: datetime
    end: datetime
    matches: list[Match]
    truncated: bool = False  # more matched than max_signals: the rest were left out, as Kibana does

    @property
    def event_ids(self) -> set[str]:
        return {e.id for m in self.matches for e in m.events}


def execute(client: SearchClient, rule: Rule, now: datetime | None = None, *, namespace: str | None = None,
            threshold_history: Sequence[Mapping[str, Any]] = (),
            extra_lookback: timedelta = timedelta(0)) -> Execution:
    """Run `rule` once with execution time `now` (default: the current time).

    `threshold_history`: for threshold rules, `[{"terms": [{"field", "value"}], "last": ISO time}]` of
    earlier alerts (see the module docstring). `extra_lookback` moves the window's start earlier (for
    events that reach the cluster later than the rule's own overlap, `from` minus `interval`, allows).
    Raises DetectionError naming the rule when the query cannot be built or the cluster refuses it."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    begin = resolve(rule.from_, now=now) - extra_lookback
    end = resolve(rule.to, now=now)
    base = _base_filters(rule, namespace)
    window = base + [_range(rule, gte=begin, lte=end)]
    try:
        if rule.type == "query":
            matches, truncated = _query_matches(client, rule, window)
        elif rule.type == "threshold":
            matches, truncated = _threshold_matches(client, rule, window, threshold_history)
        else:
            history_start = resolve(rule.history_window_start or "now-7d", now=now)
            history = base + [_range(gte=history_start, lt=begin)]
            matches, truncated = _new_terms_matches(client, rule, window, history)
    except DetectionError:
        raise
    except IntpkgError as exc:
        raise DetectionError(f"rule {rule.rule_id} ({rule.path or rule.name}): the search failed: {exc}") from None
    return Execution(rule, now, begin, end, matches, truncated)


# -- the query a rule runs


def rule_query(rule: Rule) -> dict[str, Any]:
    """The rule's query and filters as one DSL query."""
    from intpkg.dashboards.kql import filters_to_dsl, query_to_dsl

    where = f"rule {rule.rule_id} ({rule.path or rule.name})"
    try:
        clauses = [query_to_dsl({"language": rule.language, "query": rule.query})]
        if rule.filters:
            clauses.append(filters_to_dsl(rule.filters))
    except DashboardError as exc:
        raise DetectionError(f"{where}: {exc}") from None
    clauses = [c for c in clauses if c != {"match_all": {}}]
    if not clauses:
        return {"match_all": {}}
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}}


def _base_filters(rule: Rule, namespace: str | None) -> list[dict[str, Any]]:
    filters = [rule_query(rule)]
    if namespace:
        filters.append({"term": {"data_stream.namespace": namespace}})
    return filters


def _range(rule: Rule | None = None, **bounds: datetime) -> dict[str, Any]:
    """The window on `@timestamp`, or on the rule's `timestamp_override` with Kibana's fallback to
    `@timestamp` for documents that lack the override field."""
    def on(field: str) -> dict[str, Any]:
        return {"range": {field: {**{k: iso_time(v) for k, v in bounds.items()},
                                  "format": "strict_date_optional_time"}}}

    override = rule.timestamp_override if rule is not None else None
    if not override or override == "@timestamp":
        return on("@timestamp")
    return {"bool": {"minimum_should_match": 1, "should": [
        on(override), {"bool": {"must_not": [{"exists": {"field": override}}], "filter": [on("@timestamp")]}}]}}


def parse_time(text: str) -> datetime:
    """An ISO 8601 `@timestamp` as an aware UTC datetime (nanoseconds cut to microseconds)."""
    value = str(text).strip()
    value = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    value = _FRACTION.sub(lambda m: m.group(1)[:7], value)
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def iso_time(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _search(client: SearchClient, rule: Rule, body: dict[str, Any]) -> dict[str, Any]:
    path = "/" + quote(",".join(rule.index), safe=",*") + "/_search"
    return client.request("POST", path, body=body, params={"ignore_unavailable": "true", "allow_no_indices": "true"})


def _bool(filters: list[dict[str, Any]], must_not: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {"filter": filters}
    if must_not:
        query["must_not"] = must_not
    return {"bool": query}


SORT = [{"@timestamp": {"order": "asc", "unmapped_type": "date"}}]


def _events(client: SearchClient, rule: Rule, filters: list[dict[str, Any]], size: int,
            must_not: list[dict[str, Any]] | None = None) -> tuple[list[dict[str, Any]], int]:
    body = {"size": size, "query": _bool(filters, must_not), "sort": SORT, "track_total_hits": True,
            "_source": {"excludes": SOURCE_EXCLUDES}}
    answer = _search(client, rule, body)
    hits = answer.get("hits") or {}
    total = hits.get("total")
    total = total.get("value", 0) if isinstance(total, dict) else int(total or 0)
    return hits.get("hits") or [], total


def _ref(hit: dict[str, Any]) -> EventRef:
    source = hit.get("_source") or {}
    stamp = source.get("@timestamp")
    return EventRef(id=hit["_id"], index=hit["_index"], timestamp=str(stamp) if stamp is not None else None)


# -- query rules


def _query_matches(client: SearchClient, rule: Rule, window: list[dict[str, Any]]) -> tuple[list[Match], bool]:
    hits, total = _events(client, rule, window, rule.max_signals)
    matches = [Match(key=hit["_id"], events=[_ref(hit)], source=hit.get("_source") or {}) for hit in hits]
    return matches, total > len(hits)


# -- threshold rules


def _terms_filters(terms: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"term": {t["field"]: t["value"]}} for t in terms]


def history_clauses(history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`must_not` clauses leaving out the events earlier alerts of each group counted."""
    clauses = []
    for entry in history:
        last = entry.get("last")
        if not last:
            continue
        clauses.append(_bool(_terms_filters(entry.get("terms") or []) +
                             [{"range": {"@timestamp": {"lte": last, "format": "strict_date_optional_time"}}}]))
    return clauses


def _threshold_matches(client: SearchClient, rule: Rule, window: list[dict[str, Any]],
                       history: Sequence[Mapping[str, Any]]) -> tuple[list[Match], bool]:
    threshold = rule.threshold
    assert threshold is not None
    must_not = history_clauses(history)
    stats: dict[str, Any] = {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}}
    for i, (card_field, _) in enumerate(threshold.cardinality):
        stats[f"card{i}"] = {"cardinality": {"field": card_field}}
    groups: list[tuple[list[dict[str, Any]], int, dict[str, Any]]] = []  # (terms, count, aggregations)
    if not threshold.fields:
        body = {"size": 0, "track_total_hits": True, "query": _bool(window, must_not), "aggs": stats}
        answer = _search(client, rule, body)
        total = (answer.get("hits") or {}).get("total")
        count = total.get("value", 0) if isinstance(total, dict) else int(total or 0)
        groups.append(([], count, answer.get("aggregations") or {}))
    else:
        sources = [{f"t{i}": {"terms": {"field": f}}} for i, f in enumerate(threshold.fields)]
        for bucket in _composite(client, rule, _bool(window, must_not), sources, stats):
            terms = [{"field": f, "value": bucket["key"][f"t{i}"]} for i, f in enumerate(threshold.fields)]
            groups.append((terms, int(bucket["doc_count"]), bucket))
    matches: list[Match] = []
    truncated = False
    for terms, count, aggs in groups:
        cardinality = [{"field": f, "value": int((aggs.get(f"card{i}") or {}).get("value") or 0)}
                       for i, (f, _) in enumerate(threshold.cardinality)]
        if count < threshold.value or any(c["value"] < need for c, (_, need) in
                                          zip(cardinality, threshold.cardinality, strict=True)):
            continue
        if len(matches) >= rule.max_signals:
            truncated = True
            break
        hits, _ = _events(client, rule, window + _terms_filters(terms), MAX_EVENTS, must_not)
        first = _agg_time(aggs.get("first"))
        key = json.dumps([[t["field"], t["value"]] for t in terms] + [first], sort_keys=True, default=str)
        matches.append(Match(key=key, events=[_ref(h) for h in hits], source=(hits[0].get("_source") or {})
                             if hits else {}, count=count, terms=terms, cardinality=cardinality,
                             first_time=first, last_time=_agg_time(aggs.get("last"))))
    return matches, truncated


def _agg_time(agg: Any) -> str | None:
    if not isinstance(agg, dict) or agg.get("value") is None:
        return None
    text = agg.get("value_as_string")
    if text:
        return str(text)
    return iso_time(datetime.fromtimestamp(float(agg["value"]) / 1000, tz=UTC))


def _composite(client: SearchClient, rule: Rule, query: dict[str, Any], sources: list[dict[str, Any]],
               sub_aggs: dict[str, Any] | None = None, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Every bucket of a composite aggregation, page by page (at most `limit`)."""
    after = None
    seen = 0
    while True:
        composite: dict[str, Any] = {"sources": sources, "size": PAGE}
        if after is not None:
            composite["after"] = after
        agg: dict[str, Any] = {"composite": composite}
        if sub_aggs:
            agg["aggs"] = sub_aggs
        answer = _search(client, rule, {"size": 0, "query": query, "aggs": {"groups": agg}})
        result = (answer.get("aggregations") or {}).get("groups") or {}
        buckets = result.get("buckets") or []
        for bucket in buckets:
            yield bucket
            seen += 1
            if limit is not None and seen >= limit:
                return
        after = result.get("after_key")
        if not buckets or after is None:
            return


# -- new terms rules


def _new_terms_matches(client: SearchClient, rule: Rule, window: list[dict[str, Any]],
                       history: list[dict[str, Any]]) -> tuple[list[Match], bool]:
    fields = rule.new_terms_fields
    sources = [{f"t{i}": {"terms": {"field": f}}} for i, f in enumerate(fields)]
    seen: dict[tuple, str | None] = {}  # combination -> first time in the window
    stats = {"first": {"min": {"field": "@timestamp"}}}
    for bucket in _composite(client, rule, _bool(window), sources, stats, limit=MAX_WINDOW_TERMS):
        combo = tuple(bucket["key"][f"t{i}"] for i in range(len(fields)))
        seen[combo] = _agg_time(bucket.get("first"))
    if not seen:
        return [], False
    # The history, read only for the window's values of each field.
    restrict = [{"terms": {f: sorted({c[i] for c in seen}, key=str)}} for i, f in enumerate(fields)]
    known = {tuple(b["key"][f"t{i}"] for i in range(len(fields)))
             for b in _composite(client, rule, _bool(history + restrict), sources)}
    new = sorted((c for c in seen if c not in known), key=lambda c: (seen[c] or "", json.dumps(c, default=str)))
    truncated = len(new) > rule.max_signals
    matches = []
    for combo in new[:rule.max_signals]:
        terms = [{"field": f, "value": v} for f, v in zip(fields, combo, strict=True)]
        hits, total = _events(client, rule, window + _terms_filters(terms), MAX_EVENTS)
        if not hits:
            continue
        key = json.dumps([list(combo), hits[0]["_id"]], default=str)
        matches.append(Match(key=key, events=[_ref(h) for h in hits], source=hits[0].get("_source") or {},
                             count=total, terms=terms, new_terms=list(combo), first_time=seen[combo],
                             last_time=_ref(hits[-1]).timestamp))
    return matches, truncated
