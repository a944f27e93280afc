"""The package's data streams on the cluster: per-namespace figures, an event search and field names.

Every call takes an index the package owns: a data stream pattern `<type>-<dataset>-*` or one concrete
data stream `<type>-<dataset>-<namespace>` (a namespace the agent can write, `NAMESPACE_PATTERN`).
Anything else raises `IndexRefused`, so the UI never reads other indices of the cluster.

Only APIs that Elasticsearch 8.x and OpenSearch share are used: `GET _data_stream/<pattern>`,
`GET <pattern>/_stats/store`, `_search` with `query_string`, `range`, `terms` and `max`, `GET _mapping`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intpkg import dotted
from intpkg.agent.policy_schema import NAMESPACE_PATTERN
from intpkg.errors import IntpkgError
from intpkg.package import DataStream, Package
from intpkg.settings import REPO_ROOT
from intpkg.stack.client import ApiCallError, SearchClient

PLAIN_WORD = re.compile(r"\w[\w@.\-]*")
OPERATORS = {"AND", "OR", "NOT", "TO"}
MAX_RESULT_WINDOW = 10_000  # index.max_result_window's default on both engines: from + size stays within it
MAX_PAGE_SIZE = 500
# text, not booleans: OpenSearch's client passes parameters as written
SEARCH_PARAMS = {"ignore_unavailable": "true", "allow_no_indices": "true"}
GENERIC_REASON = "all shards failed"  # the search phase's summary: the shards' own reasons say more
LEAF_SKIP = {"object", "nested", "alias"}  # mapping types that hold no value of their own in _source


class IndexRefused(IntpkgError):
    """The index is not one of the package's data streams (or their pattern)."""


class QueryError(IntpkgError):
    """The engine refused the query or the time range; `reason` is the engine's own words."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"The search failed: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class DataStreamStats:
    """One concrete data stream of the package, or (namespace None) a package data stream with no data yet."""

    stream: str  # the package's data stream folder, e.g. "audit"
    title: str
    dataset: str
    pattern: str  # `<type>-<dataset>-*`
    name: str  # the concrete data stream, or the pattern when none exists
    namespace: str | None
    docs_count: int = 0
    last_event: str | None = None  # max @timestamp as the engine formats it (ISO 8601, UTC)
    store_size_bytes: int = 0

    @property
    def has_data(self) -> bool:
        return self.docs_count > 0


@dataclass(frozen=True)
class Event:
    """One hit: its `_id`, `_index`, `_source` and the chosen fields' values (None where absent)."""

    id: str
    index: str
    source: dict[str, Any]
    fields: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"_id": self.id, "_index": self.index, "_source": self.source, "fields": self.fields}


@dataclass(frozen=True)
class EventPage:
    """One page of hits, newest first; `total` counts every match (exactly, `total_relation` "eq")."""

    total: int
    hits: list[Event]
    took_ms: int
    total_relation: str = "eq"


def as_package(package: Package | Path | str | None) -> Package:
    """The given package (or folder); None means the package of this checkout."""
    if isinstance(package, Package):
        return package
    return Package.load(Path(package) if package is not None else REPO_ROOT)


def pattern_of(stream: DataStream) -> str:
    return f"{stream.type}-{stream.dataset}-*"


def check_index(package: Package, index: str) -> DataStream:
    """The package data stream `index` belongs to; IndexRefused unless it is a pattern or data stream of it."""
    for stream in package.data_streams():
        prefix = pattern_of(stream)[:-1]
        if index.startswith(prefix):
            namespace = index[len(prefix):]
            if namespace == "*" or re.fullmatch(NAMESPACE_PATTERN, namespace):
                return stream
    allowed = ", ".join(pattern_of(s) for s in package.data_streams())
    raise IndexRefused(f"{index!r} is not a data stream of the {package.name} package (allowed: {allowed}, "
                       "or one data stream of those patterns).")


def data_stream_stats(client: SearchClient, package: Package | Path | str | None = None) -> list[DataStreamStats]:
    """Per package data stream, one entry per namespace on the cluster (sorted), or one empty entry when none."""
    package = as_package(package)
    result: list[DataStreamStats] = []
    for stream in package.data_streams():
        pattern = pattern_of(stream)
        base = DataStreamStats(stream=stream.name, title=str(stream.manifest.get("title") or stream.name),
                               dataset=stream.dataset, pattern=pattern, name=pattern, namespace=None)
        backing = _backing_indices(client, stream)
        if not backing:
            result.append(base)
            continue
        sizes = _store_sizes(client, pattern)
        counts = _counts(client, pattern, len(backing))
        for name in sorted(set(backing.values())):
            mine = [i for i, ds in backing.items() if ds == name]
            last = [counts[i][1:] for i in mine if i in counts and counts[i][1] is not None]
            result.append(DataStreamStats(
                stream=stream.name, title=base.title, dataset=stream.dataset, pattern=pattern, name=name,
                namespace=name[len(pattern) - 1:],
                docs_count=sum(counts[i][0] for i in mine if i in counts),
                last_event=max(last)[1] if last else None,
                store_size_bytes=sum(sizes.get(i, 0) for i in mine),
            ))
    return result


def _backing_indices(client: SearchClient, stream: DataStream) -> dict[str, str]:
    """{backing index: data stream} of the stream's data streams whose namespace is one the package accepts."""
    pattern = pattern_of(stream)
    found = client.request("GET", f"/_data_stream/{pattern}", ignore=(404,)) or {}
    backing: dict[str, str] = {}
    for ds in found.get("data_streams") or []:
        if re.fullmatch(NAMESPACE_PATTERN, ds["name"][len(pattern) - 1:]):
            backing.update({i["index_name"]: ds["name"] for i in ds.get("indices") or []})
    return backing


def _store_sizes(client: SearchClient, pattern: str) -> dict[str, int]:
    """{index: total store size in bytes (primaries and replicas)} of the indices behind `pattern`."""
    stats = client.request("GET", f"/{pattern}/_stats/store", ignore=(404,)) or {}
    return {name: int(s.get("total", {}).get("store", {}).get("size_in_bytes") or 0)
            for name, s in (stats.get("indices") or {}).items()}


def _counts(client: SearchClient, pattern: str, indices: int) -> dict[str, tuple[int, float | None, str | None]]:
    """{index: (searchable documents, max @timestamp in epoch ms, and as text)} of the indices behind `pattern`."""
    body = {"size": 0, "track_total_hits": True, "aggs": {"index": {
        "terms": {"field": "_index", "size": max(indices, 10)},
        "aggs": {"last": {"max": {"field": "@timestamp"}}},
    }}}
    found = client.request("POST", f"/{pattern}/_search", body=body,
                           params=SEARCH_PARAMS)
    return {b["key"]: (int(b["doc_count"]), b["last"].get("value"), b["last"].get("value_as_string"))
            for b in found.get("aggregations", {}).get("index", {}).get("buckets", [])}


def search_events(
    client: SearchClient,
    index: str,
    *,
    start: str | None,
    end: str | None,
    query: str = "",
    fields: list[str] | None = None,
    size: int = 50,
    from_: int = 0,
    package: Package | Path | str | None = None,
) -> EventPage:
    """Events of `index` (checked with `check_index`), newest first by @timestamp.

    `start`/`end` bound @timestamp (inclusive; ISO 8601 or date math such as `now-15m`; None is open).
    `query` is Lucene `query_string` syntax (AND between terms, lenient on field types; empty matches
    all). `fields` are dotted paths whose values each hit carries. A refused query, an unparsable date
    or a page past the result window raises QueryError.
    """
    check_index(as_package(package), index)
    if size < 1 or size > MAX_PAGE_SIZE or from_ < 0:
        raise QueryError(f"a page holds 1 to {MAX_PAGE_SIZE} events from a non-negative offset "
                         f"(asked: {size} from {from_}).")
    if from_ + size > MAX_RESULT_WINDOW:
        raise QueryError(f"only the first {MAX_RESULT_WINDOW:,} events can be paged through; "
                         "narrow the time range or the query.")
    body = {
        "size": size,
        "from": from_,
        "track_total_hits": True,
        "sort": [{"@timestamp": {"order": "desc", "unmapped_type": "date"}}],
        "query": {"bool": {"filter": _filters(start, end, query)}},
    }
    try:
        found = client.request("POST", f"/{index}/_search", body=body,
                               params=SEARCH_PARAMS)
    except ApiCallError as exc:
        if exc.status is not None and 400 <= int(exc.status) < 500:
            raise QueryError(engine_reason(exc.body)) from None
        raise
    failures = found.get("_shards", {}).get("failures") or []
    if failures:
        raise QueryError(engine_reason({"error": {"root_cause": [f.get("reason") for f in failures]}}))
    hits = found.get("hits", {})
    total = hits.get("total", 0)
    total_value, relation = (total["value"], total["relation"]) if isinstance(total, dict) else (total, "eq")
    events = [Event(id=h["_id"], index=h["_index"], source=h.get("_source") or {},
                    fields={f: _value(h.get("_source") or {}, f) for f in fields or []})
              for h in hits.get("hits", [])]
    return EventPage(total=int(total_value), hits=events, took_ms=int(found.get("took", 0)), total_relation=relation)


def _filters(start: str | None, end: str | None, query: str) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    bounds = {op: value for op, value in (("gte", start), ("lte", end)) if value and value.strip()}
    if bounds:
        filters.append({"range": {"@timestamp": {k: v.strip() for k, v in bounds.items()}}})
    if query.strip():
        filters.append({"query_string": {"query": all_words(query.strip()), "default_operator": "AND",
                                         "lenient": True, "analyze_wildcard": True}})
    return filters


def all_words(query: str) -> str:
    """Plain words (no fields, quotes or operators) joined by AND, so that each must occur in some field.

    `query_string` does not split on whitespace: `login failure` would be one value per field, which a
    keyword field holding `login` and another holding `failure` both miss. Any other query is as written.
    """
    words = query.split()
    if len(words) > 1 and all(PLAIN_WORD.fullmatch(w) and w not in OPERATORS for w in words):
        return " AND ".join(words)
    return query


def _value(source: dict[str, Any], path: str) -> Any:
    found = dotted.find(source, path)
    return None if found is dotted.MISSING else found


def engine_reason(body: Any) -> str:
    """The engine's reasons for an error body, shortest first-line form of each, joined by "; ".

    Both engines nest the same cause several times (root cause, failed shard, caused_by chain) and a
    parser lists every token it expected; one line per distinct cause is kept.
    """
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return str(body)
    error = body["error"]
    found: list[str] = []
    starts = (error.get("root_cause") or [])[:1] + [s.get("reason") for s in (error.get("failed_shards") or [])[:1]]
    for cause in [*starts, error.get("caused_by"), error]:
        while isinstance(cause, dict):
            reason = str(cause.get("reason") or "").split("\n", 1)[0].strip()
            if reason and reason != GENERIC_REASON and reason not in found:
                found.append(reason)
            cause = cause.get("caused_by")
    kept = [r for r in found if not any(other != r and other in r for other in found)]
    return "; ".join(kept) or str(error.get("reason") or error.get("type") or body)


def field_names(client: SearchClient, index: str, *, package: Package | Path | str | None = None) -> list[str]:
    """Mapped leaf field names (dotted, sorted, no multi-fields) of `index`, over all its backing indices."""
    check_index(as_package(package), index)
    mappings = client.request("GET", f"/{index}/_mapping", params=SEARCH_PARAMS, ignore=(404,)) or {}
    names: set[str] = set()
    for body in mappings.values():
        if isinstance(body, dict):
            _leaves(body.get("mappings", {}).get("properties") or {}, "", names)
    return sorted(names)


def _leaves(properties: dict[str, Any], prefix: str, into: set[str]) -> None:
    for name, mapping in properties.items():
        path = prefix + name
        if "properties" in mapping:
            _leaves(mapping["properties"], path + ".", into)
        elif mapping.get("type") not in LEAF_SKIP:
            into.add(path)
