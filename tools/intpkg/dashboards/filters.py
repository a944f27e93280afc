"""Kibana filter objects (the pills under the query bar) to Elasticsearch query DSL, and back.

A filter is `{"meta": {"type", "key", "params", "negate", "disabled", …}, "query": {…DSL…}}`. Every
filter but `combined` carries its DSL in `query` (objects older than 8.x may carry `exists`, `range`,
`match_all` or `script` at the top level instead); `combined` nests filters in `meta.params`, joined by
`meta.relation` (`AND`, the default, or `OR`). `negate` puts a filter in `must_not`; `disabled` ones
are left out. A filter with no DSL is rebuilt from `meta` (phrase, phrases, exists, range).

`phrase_filter`, `phrases_filter`, `exists_filter`, `range_filter` and `query_filter` make the filters a
click on a chart adds, in the shape Kibana stores them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from intpkg.dashboards import DashboardError

LEGACY_KEYS = ("exists", "range", "match_all", "script", "geo_bounding_box", "geo_polygon", "geo_distance")


def filters_to_dsl(filters: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One DSL query matching what every enabled filter matches (`match_all` when none is)."""
    positive: list[dict[str, Any]] = []
    negative: list[dict[str, Any]] = []
    for item in filters or ():
        if not isinstance(item, dict):
            raise DashboardError(f"A filter is an object, not {type(item).__name__}: {item!r}")
        meta = item.get("meta") or {}
        if meta.get("disabled"):
            continue
        clause = filter_clause(item)
        if clause is None:
            continue
        (negative if meta.get("negate") else positive).append(clause)
    if not positive and not negative:
        return {"match_all": {}}
    if len(positive) == 1 and not negative:
        return positive[0]
    body: dict[str, Any] = {}
    if positive:
        body["filter"] = positive
    if negative:
        body["must_not"] = negative
    return {"bool": body}


def filter_clause(item: dict[str, Any]) -> dict[str, Any] | None:
    """The DSL of one filter, ignoring its `negate` and `disabled` (None: a combined filter of nothing)."""
    meta = item.get("meta") or {}
    kind = meta.get("type")
    if kind == "combined":
        parts = [p for p in meta.get("params") or [] if not (p.get("meta") or {}).get("disabled")]
        clauses = []
        for part in parts:
            clause = filter_clause(part)
            if clause is None:
                continue
            clauses.append({"bool": {"must_not": [clause]}} if (part.get("meta") or {}).get("negate") else clause)
        if not clauses:
            return None
        if str(meta.get("relation") or "AND").upper() == "OR":
            return {"bool": {"should": clauses, "minimum_should_match": 1}}
        return {"bool": {"filter": clauses}}
    query = item.get("query")
    if isinstance(query, dict) and query:
        return query
    for key in LEGACY_KEYS:
        if key in item:
            return {key: item[key]}
    return _from_meta(meta)


def _from_meta(meta: dict[str, Any]) -> dict[str, Any]:
    kind, key, params = meta.get("type"), meta.get("key"), meta.get("params")
    if kind == "phrase" and key:
        value = params.get("query") if isinstance(params, dict) else params
        return {"match_phrase": {key: value}}
    if kind == "phrases" and key and isinstance(params, list):
        return {"bool": {"should": [{"match_phrase": {key: v}} for v in params], "minimum_should_match": 1}}
    if kind == "exists" and key:
        return {"exists": {"field": key}}
    if kind == "range" and key and isinstance(params, dict):
        return {"range": {key: {k: v for k, v in params.items() if k in ("gt", "gte", "lt", "lte", "format")}}}
    if kind == "custom" and isinstance(meta.get("value"), str):
        return json.loads(meta["value"])
    raise DashboardError(f"A {kind or 'untyped'} filter on {key or 'no field'} carries no query to run.")


def _meta(kind: str, key: str | None, params: Any, negate: bool, alias: str | None = None) -> dict[str, Any]:
    return {"alias": alias, "disabled": False, "negate": negate, "key": key, "type": kind, "params": params}


def phrase_filter(field: str, value: Any, *, negate: bool = False) -> dict[str, Any]:
    """The filter Kibana adds for a click on `value` of `field`: `match_phrase`."""
    return {"meta": _meta("phrase", field, {"query": value}, negate), "query": {"match_phrase": {field: value}}}


def phrases_filter(field: str, values: list[Any], *, negate: bool = False) -> dict[str, Any]:
    """`field` is one of `values` (negated: none of them, as for an "Other" bucket)."""
    should = [{"match_phrase": {field: v}} for v in values]
    return {"meta": _meta("phrases", field, list(values), negate),
            "query": {"bool": {"should": should, "minimum_should_match": 1}}}


def exists_filter(field: str, *, negate: bool = False) -> dict[str, Any]:
    """`field` has a value (negated: is missing, as for a "(missing value)" bucket)."""
    return {"meta": _meta("exists", field, None, negate), "query": {"exists": {"field": field}}}


def range_filter(field: str, *, gte: Any = None, lt: Any = None, lte: Any = None, gt: Any = None,
                 format: str | None = None) -> dict[str, Any]:
    """`field` within bounds, as for a date histogram bucket `[key, key + interval)`."""
    bounds = {k: v for k, v in (("gte", gte), ("gt", gt), ("lt", lt), ("lte", lte)) if v is not None}
    if format:
        bounds["format"] = format
    return {"meta": _meta("range", field, dict(bounds), False), "query": {"range": {field: bounds}}}


def query_filter(query: dict[str, Any], *, label: str | None = None, negate: bool = False) -> dict[str, Any]:
    """A custom filter holding DSL (as for a bucket of a `filters` column), shown as `label`."""
    return {"meta": _meta("custom", None, None, negate, alias=label), "query": query}
