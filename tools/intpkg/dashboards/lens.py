"""A Lens panel as search requests (one per data layer), and their responses as rows.

`panel_request` builds, for each layer, a `_search` body of `size: 0` whose query joins the time range
(on `@timestamp`), the dashboard's query and filters (what the caller passes), and the layer's own
`state.query` and `state.filters`; and whose aggregations follow the layer's `columnOrder`: bucketed
columns nest outer → inner, metric columns are the leaves.

- `terms` → `terms`: size; order by a metric column, `_count` or `_key`; include/exclude; `missing`
  for `missingBucket`; `otherBucket` from `sum_other_doc_count` (see below);
- `date_histogram` → `date_histogram` in UTC with `fixed_interval` (`interval: auto` as Kibana computes it),
  `min_doc_count: 0` + `extended_bounds` for `includeEmptyRows`; partial buckets dropped for
  `dropPartials`;
- `filters` → `filters`, one bucket per KQL/Lucene input; `range` (explicit ranges) → `range`;
- `count` → the bucket's `doc_count` (`value_count` when it counts a field); `unique_count` →
  `cardinality`; `sum` (+ `value_count`, to tell no value from 0), `average`, `min`, `max` → the same;
  `standard_deviation` → `extended_stats`; `median`, `percentile` → `percentiles`; `percentile_rank`
  → `percentile_ranks`; `last_value` → `top_hits` (size 1, newest first by `sortField`, `_source` of
  the field; `top_metrics` does not exist in OpenSearch);
- a column `filter` → a `filter` aggregation around the metric; a metric `timeScale` → the value
  scaled from the bucket's length (or the range's) to the unit.

Not supported (`UnsupportedPanel` names the operation): `formula` and `math`, the calculations over
other columns (`differences`, `cumulative_sum`, `moving_average`, `counter_rate`, `overall_*`),
`range` in histogram mode, `terms` over several fields, time shifts and reduced time ranges, ES|QL
(text-based) layers. A layer's `sampling` is ignored (OpenSearch has no `random_sampler`).

An "Other" bucket: at the innermost bucket level it is `sum_other_doc_count` (counts only: other
metrics are None there); for an outermost `terms` column with inner buckets, `other_request` builds
the second request Kibana also sends, for documents outside the shown terms.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from intpkg import dotted
from intpkg.dashboards import DashboardError
from intpkg.dashboards.filters import (
    exists_filter,
    filters_to_dsl,
    phrase_filter,
    phrases_filter,
    query_filter,
    range_filter,
)
from intpkg.dashboards.kql import MATCH_ALL, KqlError, query_to_dsl
from intpkg.dashboards.saved_objects import Panel, lens_layers
from intpkg.dashboards.timerange import UNIT_MS, TimeRange, add_units, interval_param, iso, time_range

TIME_FIELD = "@timestamp"
RECORDS = "___records___"
MISSING_KEY = "__missing__"
OTHER_KEY = "__other__"
MISSING_LABEL = "(missing value)"
OTHER_LABEL = "Other"
REFERENCE_OPERATIONS = {"differences", "cumulative_sum", "moving_average", "counter_rate", "overall_sum",
                        "overall_min", "overall_max", "overall_average", "normalize_by_unit"}
SIMPLE_METRICS = {"unique_count": "cardinality", "cardinality": "cardinality", "average": "avg", "avg": "avg",
                  "min": "min", "max": "max"}
LENS_CHARTS = ("lnsXY", "lnsPie", "lnsDatatable", "lnsMetric", "lnsLegacyMetric")


class UnsupportedPanel(DashboardError):
    """A panel (or one of its columns) this renderer cannot turn into a query; the message names it."""


@dataclass
class Column:
    """One Lens column of a layer, with the name of its aggregation (`c<position>`)."""

    id: str
    name: str
    operation: str
    field: str | None
    label: str
    bucketed: bool
    data_type: str
    params: dict[str, Any]
    filter: dict[str, Any] | None
    raw: dict[str, Any]


@dataclass
class Bucket:
    """The key of a bucket column in a row: what to show and what a click on it filters on."""

    column: str
    field: str | None
    key: Any  # raw: a term, epoch ms for a date, "__other__" / "__missing__", a filter's label
    label: str
    filters: list[dict[str, Any]]
    kind: str = "term"  # term | other | missing | date | filters | range


@dataclass
class Row:
    """One row of a layer's table: a key per bucket column, a value per metric column."""

    buckets: dict[str, Bucket] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # how many values stand behind each metric
    doc_count: int = 0

    @property
    def has_data(self) -> bool:
        if self.counts:
            return any(n > 0 for n in self.counts.values())
        return self.doc_count > 0


@dataclass
class LayerRequest:
    """The search of one Lens layer: `index` pattern and `_search` `body`, plus what reads the answer."""

    layer_id: str
    index: str
    body: dict[str, Any]
    columns: list[Column]  # columnOrder
    time_range: TimeRange
    intervals: dict[str, tuple[str, str, int | None]] = field(default_factory=dict)  # date column id → interval

    @property
    def buckets(self) -> list[Column]:
        return [c for c in self.columns if c.bucketed]

    @property
    def metrics(self) -> list[Column]:
        return [c for c in self.columns if not c.bucketed]

    def column(self, column_id: str) -> Column:
        for col in self.columns:
            if col.id == column_id:
                return col
        raise KeyError(column_id)


def panel_request(panel: Panel, *, start: str, end: str, query: Any = "", filters: Sequence[dict] = (),
                  index: str | None = None, now: datetime | None = None) -> list[LayerRequest]:
    """One search per data layer of the Lens `panel` over [`start`, `end`].

    `query` (KQL text or `{"language", "query"}`) and `filters` (Kibana filter objects) are the
    dashboard's and the user's; a layer marked `ignoreGlobalFilters` leaves them out. `index`, when
    given, replaces every layer's index pattern. Raise UnsupportedPanel for what cannot be rendered.
    """
    if panel.type != "lens":
        raise UnsupportedPanel(f"Panel {panel.title or panel.index!r} is a {panel.type} panel, not Lens.")
    if panel.visualization not in LENS_CHARTS:
        raise UnsupportedPanel(f"Panel {panel.title or panel.index!r}: Lens chart {panel.visualization!r} is not "
                               f"supported (only {', '.join(LENS_CHARTS)}).")
    state = panel.attributes.get("state") or {}
    text_based = ((state.get("datasourceStates") or {}).get("textBased") or {}).get("layers") or {}
    if text_based:
        raise UnsupportedPanel(f"Panel {panel.title or panel.index!r} uses ES|QL (text-based) layers.")
    rng = time_range(start, end, now=now)
    layers = lens_layers(panel.attributes)
    global_clause = [_query_dsl(query, panel), _filters_dsl(filters, panel)]
    local_clause = [_query_dsl(state.get("query"), panel), _filters_dsl(state.get("filters") or [], panel)]
    requests = []
    for layer_id, ignore_global in data_layers(panel):
        layer = layers.get(layer_id)
        if layer is None:
            raise UnsupportedPanel(f"Panel {panel.title or panel.index!r}: layer {layer_id} has no columns.")
        columns = _columns(layer, panel)
        if not columns or all(c.operation == "static_value" for c in columns):
            continue  # a reference line layer
        pattern = index or panel.layer_indices.get(layer_id)
        if not pattern:
            raise UnsupportedPanel(f"Panel {panel.title or panel.index!r}: layer {layer_id} names no index pattern "
                                   f"(no {('indexpattern-datasource-layer-' + layer_id)!r} reference).")
        clauses = [rng.range_query(TIME_FIELD), *([] if ignore_global else global_clause), *local_clause]
        request = LayerRequest(layer_id=layer_id, index=pattern, body={}, columns=columns, time_range=rng)
        request.body = {
            "size": 0,
            "track_total_hits": True,
            "query": _join(clauses),
            "aggs": _aggregations(request, panel),
        }
        if not request.body["aggs"]:
            del request.body["aggs"]
        requests.append(request)
    if not requests:
        raise UnsupportedPanel(f"Panel {panel.title or panel.index!r} has no data layer.")
    return requests


def data_layers(panel: Panel) -> list[tuple[str, bool]]:
    """(layer id, ignoreGlobalFilters) of each data layer the chart draws, in the chart's order."""
    vis = (panel.attributes.get("state") or {}).get("visualization") or {}
    found: list[tuple[str, bool]] = []
    if isinstance(vis.get("layers"), list):
        for layer in vis["layers"]:
            if layer.get("layerType", "data") == "data" and layer.get("layerId"):
                found.append((layer["layerId"], bool(layer.get("ignoreGlobalFilters"))))
    elif vis.get("layerId"):
        found.append((vis["layerId"], bool(vis.get("ignoreGlobalFilters"))))
    if not found:
        found = [(layer_id, False) for layer_id in lens_layers(panel.attributes)]
    return found


# -- query


def _where(panel: Panel) -> str:
    return f"Panel {panel.title or panel.index!r}"


def _query_dsl(query: Any, panel: Panel) -> dict[str, Any]:
    """DSL of a query; a KQL syntax error stays a KqlError (its message shows the query and where)."""
    try:
        return query_to_dsl(query)
    except KqlError:
        raise
    except DashboardError as exc:
        raise DashboardError(f"{_where(panel)}: {exc}") from None


def _filters_dsl(filters: Iterable[dict], panel: Panel) -> dict[str, Any]:
    try:
        return filters_to_dsl(list(filters))
    except DashboardError as exc:
        raise DashboardError(f"{_where(panel)}: {exc}") from None


def _join(clauses: Iterable[dict[str, Any]]) -> dict[str, Any]:
    kept = [c for c in clauses if c and c != MATCH_ALL]
    return {"bool": {"filter": kept}} if kept else dict(MATCH_ALL)


# -- columns


def _columns(layer: dict[str, Any], panel: Panel) -> list[Column]:
    raw_columns = layer.get("columns") or {}
    order = layer.get("columnOrder") or list(raw_columns)
    columns = []
    for position, column_id in enumerate(order):
        raw = raw_columns.get(column_id)
        if raw is None:
            raise UnsupportedPanel(f"{_where(panel)}: columnOrder names {column_id}, which is not a column.")
        operation = str(raw.get("operationType") or "")
        if operation in ("formula", "math") or operation in REFERENCE_OPERATIONS:
            raise UnsupportedPanel(f"{_where(panel)}: the {operation!r} operation ({raw.get('label') or column_id}) "
                                   "is not supported.")
        if raw.get("timeShift"):
            raise UnsupportedPanel(f"{_where(panel)}: time shift ({raw['timeShift']}) is not supported.")
        if raw.get("reducedTimeRange"):
            raise UnsupportedPanel(f"{_where(panel)}: reduced time range is not supported.")
        source = raw.get("sourceField")
        columns.append(Column(
            id=column_id, name=f"c{position}", operation=operation,
            field=None if source in (None, "", RECORDS) else str(source),
            label=str(raw.get("label") or source or operation), bucketed=bool(raw.get("isBucketed")),
            data_type=str(raw.get("dataType") or ""), params=dict(raw.get("params") or {}),
            filter=raw.get("filter") if isinstance(raw.get("filter"), dict) else None, raw=raw,
        ))
    return columns


def _aggregations(request: LayerRequest, panel: Panel) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for col in request.metrics:
        aggs.update(_metric_aggs(col, panel))
    for col in reversed(request.buckets):
        agg = _bucket_agg(col, request, panel, aggs)
        aggs = {col.name: agg}
    return aggs


def _bucket_agg(col: Column, request: LayerRequest, panel: Panel, inner: dict[str, Any]) -> dict[str, Any]:
    params = col.params
    if col.operation == "terms":
        if params.get("secondaryFields"):
            raise UnsupportedPanel(f"{_where(panel)}: terms over several fields ({col.label}) is not supported.")
        if not col.field:
            raise UnsupportedPanel(f"{_where(panel)}: terms column {col.label!r} has no field.")
        terms: dict[str, Any] = {"field": col.field, "size": int(params.get("size") or 5)}
        sub = dict(inner)
        terms["order"] = _terms_order(col, request, panel, sub)
        if params.get("missingBucket") and col.data_type in ("string", ""):
            terms["missing"] = MISSING_KEY
        for key in ("include", "exclude"):
            values = [v for v in params.get(key) or [] if v not in (None, "")]
            if values:
                terms[key] = values[0] if params.get(f"{key}IsRegex") else values
        return {"terms": terms, **({"aggs": sub} if sub else {})}
    if col.operation == "date_histogram":
        kind, value, length = interval_param(str(params.get("interval") or "auto"), request.time_range)
        request.intervals[col.id] = (kind, value, length)
        histogram: dict[str, Any] = {"field": col.field or TIME_FIELD, kind: value, "time_zone": "UTC"}
        if params.get("includeEmptyRows"):
            histogram["min_doc_count"] = 0
            histogram["extended_bounds"] = {"min": request.time_range.start_ms, "max": request.time_range.end_ms}
        else:
            histogram["min_doc_count"] = 1
        return {"date_histogram": histogram, **({"aggs": inner} if inner else {})}
    if col.operation == "filters":
        entries = params.get("filters") or []
        keyed = {str(i): _input_dsl(f.get("input"), panel) for i, f in enumerate(entries)}
        return {"filters": {"filters": keyed}, **({"aggs": inner} if inner else {})}
    if col.operation == "range":
        if params.get("type") != "range":
            raise UnsupportedPanel(f"{_where(panel)}: range column {col.label!r} in histogram mode (automatic "
                                   "intervals) is not supported; use explicit ranges.")
        ranges = [{k: r[k] for k in ("from", "to") if r.get(k) is not None} for r in params.get("ranges") or []]
        return {"range": {"field": col.field, "ranges": ranges, "keyed": False}, **({"aggs": inner} if inner else {})}
    raise UnsupportedPanel(f"{_where(panel)}: the bucket operation {col.operation!r} ({col.label}) is not supported.")


def _input_dsl(value: Any, panel: Panel) -> dict[str, Any]:
    return _query_dsl(value or {"language": "kuery", "query": ""}, panel)


def _terms_order(col: Column, request: LayerRequest, panel: Panel, sub: dict[str, Any]) -> dict[str, str]:
    params = col.params
    direction = str(params.get("orderDirection") or "desc")
    order_by = params.get("orderBy") or {"type": "alphabetical"}
    kind = order_by.get("type")
    if kind == "alphabetical":
        return {"_key": direction}
    if kind == "rare":
        return {"_count": "asc"}
    if kind == "column":
        try:
            target = request.column(str(order_by.get("columnId")))
        except KeyError:
            return {"_count": direction}
        if target.bucketed:
            return {"_count": direction}
        if target.operation == "count" and not target.field and not target.filter:
            return {"_count": direction}
        path = _order_path(target, sub)
        return {path: direction} if path else {"_count": direction}
    if kind == "custom":
        raise UnsupportedPanel(f"{_where(panel)}: terms {col.label!r} ordered by a custom metric is not supported.")
    return {"_count": direction}


def _order_path(target: Column, sub: dict[str, Any]) -> str | None:
    """Put the ordering metric right under the terms aggregation and return the order path to it."""
    if target.operation == "last_value":
        return None
    name = "o" + target.name
    inner = _metric_aggs(target, None)
    if target.name not in inner:  # a plain count has no aggregation
        return None
    sub[name] = inner[target.name]
    path = name
    if target.filter:
        if target.operation == "count" and not target.field:
            return path  # a single-bucket aggregation orders by its doc count
        path += ">v"
    if target.operation in ("median", "percentile"):
        return f"{path}[{float(_percent(target))}]"  # the engines' keys: 95.0, 99.9
    if target.operation == "percentile_rank":
        return f"{path}[{float(target.params.get('value', 0))}]"
    if target.operation == "standard_deviation":
        return f"{path}.std_deviation"
    return path


def _percent(col: Column) -> float:
    return 50.0 if col.operation == "median" else float(col.params.get("percentile", 95))


def _metric_aggs(col: Column, panel: Panel | None) -> dict[str, Any]:
    """The aggregations one metric column needs, under its name (none for a plain record count)."""
    op, fld = col.operation, col.field
    inner: dict[str, Any] | None
    extra: dict[str, Any] = {}
    if op == "count":
        inner = {"value_count": {"field": fld}} if fld else None
    elif op in SIMPLE_METRICS:
        inner = {SIMPLE_METRICS[op]: {"field": fld}}
    elif op == "sum":
        inner = {"sum": {"field": fld}}
        extra = {"n": {"value_count": {"field": fld}}}
    elif op in ("median", "percentile"):
        inner = {"percentiles": {"field": fld, "percents": [_percent(col)], "keyed": True}}
    elif op == "percentile_rank":
        inner = {"percentile_ranks": {"field": fld, "values": [float(col.params.get("value", 0))], "keyed": True}}
    elif op == "standard_deviation":
        inner = {"extended_stats": {"field": fld}}
    elif op == "last_value":
        sort_field = col.params.get("sortField") or TIME_FIELD
        inner = {"top_hits": {"size": 1, "sort": [{sort_field: {"order": "desc", "unmapped_type": "date"}}],
                              "_source": {"includes": [fld]}}}
    else:
        where = _where(panel) if panel else "A panel"
        raise UnsupportedPanel(f"{where}: the {op!r} operation ({col.label}) is not supported.")
    if op != "count" and not fld:
        where = _where(panel) if panel else "A panel"
        raise UnsupportedPanel(f"{where}: the {op} column {col.label!r} has no field.")
    if col.filter:
        dsl = query_to_dsl(col.filter)
        wrapped: dict[str, Any] = {"filter": dsl}
        sub = {**({"v": inner} if inner else {}), **extra}
        if sub:
            wrapped["aggs"] = sub
        return {col.name: wrapped}
    found: dict[str, Any] = {}
    if inner:
        found[col.name] = inner
    for key, agg in extra.items():
        found[f"{col.name}_{key}"] = agg
    return found


# -- reading the answer


def total_hits(response: dict[str, Any]) -> int:
    total = (response.get("hits") or {}).get("total", 0)
    return int(total.get("value", 0) if isinstance(total, dict) else total or 0)


def tabify(request: LayerRequest, response: dict[str, Any], other: dict[str, Any] | None = None) -> list[Row]:
    """Rows of the layer's answer (plus the answer to `other_request`, if sent), in bucket order."""
    rows: list[Row] = []
    root = dict(response.get("aggregations") or {})
    root["doc_count"] = total_hits(response)
    _walk(request, root, 0, {}, rows)
    if other is not None and request.buckets:
        first = request.buckets[0]
        bucket = _other_bucket(first, root.get(first.name) or {})
        node = dict(other.get("aggregations") or {})
        node["doc_count"] = total_hits(other)
        if node["doc_count"]:
            _walk(request, node, 1, {first.id: bucket}, rows)
    return rows


def other_request(request: LayerRequest, response: dict[str, Any]) -> dict[str, Any] | None:
    """The body of the second search for an outermost `terms` column's "Other" bucket, or None.

    Needed only when that column asks for `otherBucket`, has inner bucket columns and left documents
    out (`sum_other_doc_count` > 0): the documents outside its shown terms, aggregated the same way below it.
    """
    buckets = request.buckets
    if len(buckets) < 2 or buckets[0].operation != "terms" or not buckets[0].params.get("otherBucket"):
        return None
    first = buckets[0]
    agg = (response.get("aggregations") or {}).get(first.name) or {}
    if not agg.get("sum_other_doc_count"):
        return None
    shown = _shown_keys(agg)
    excluded: list[dict[str, Any]] = [{"terms": {first.field: shown}}] if shown else []
    if _missing_excluded(first, agg):  # documents without the field are not "Other"
        query = {"bool": {"filter": [request.body["query"], {"exists": {"field": first.field}}],
                          "must_not": excluded}}
    else:
        query = {"bool": {"filter": [request.body["query"]], "must_not": excluded}}
    body = {"size": 0, "track_total_hits": True, "query": query}
    inner = (request.body.get("aggs") or {}).get(first.name, {}).get("aggs")
    if inner:
        body["aggs"] = {k: v for k, v in inner.items() if not k.startswith("o")}
    return body


def _shown_keys(agg: dict[str, Any]) -> list[Any]:
    """The keys of a terms aggregation's buckets as filters name them (booleans as `true`/`false`)."""
    keys = []
    for bucket in agg.get("buckets") or []:
        key = bucket.get("key")
        if bucket.get("key_as_string") in ("true", "false"):
            key = bucket["key_as_string"]
        if key != MISSING_KEY:
            keys.append(key)
    return keys


def _walk(request: LayerRequest, node: dict[str, Any], level: int, keys: dict[str, Bucket], rows: list[Row]) -> None:
    buckets = request.buckets
    if level == len(buckets):
        rows.append(_row(request, node, keys))
        return
    col = buckets[level]
    agg = node.get(col.name) or {}
    raw_buckets = agg.get("buckets") or []
    if isinstance(raw_buckets, dict):
        raw_buckets = [{**b, "_name": k} for k, b in raw_buckets.items()]
    for position, raw in enumerate(raw_buckets):
        bucket = _bucket(col, raw, position, request)
        if bucket is None:
            continue
        _walk(request, raw, level + 1, {**keys, col.id: bucket}, rows)
    if col.operation == "terms" and col.params.get("otherBucket") and level == len(buckets) - 1:
        rest = int(agg.get("sum_other_doc_count") or 0)
        if rest > 0:
            rows.append(_other_row(request, {**keys, col.id: _other_bucket(col, agg)}, rest))


def _other_bucket(col: Column, agg: dict[str, Any]) -> Bucket:
    """The "Other" bucket of terms column `col`: documents with a value outside the shown terms (and
    without one, when missing values have no bucket of their own among the shown)."""
    field_name = col.field or ""
    filters = [phrases_filter(field_name, _shown_keys(agg), negate=True)]
    if _missing_excluded(col, agg):
        filters.append(exists_filter(field_name))
    return Bucket(col.id, col.field, OTHER_KEY, OTHER_LABEL, filters, "other")


def _missing_excluded(col: Column, agg: dict[str, Any]) -> bool:
    shown = any(b.get("key") == MISSING_KEY for b in agg.get("buckets") or [])
    return not col.params.get("missingBucket") or shown


def _bucket(col: Column, raw: dict[str, Any], position: int, request: LayerRequest) -> Bucket | None:
    key = raw.get("key")
    if col.operation == "terms":
        if key == MISSING_KEY:
            return Bucket(col.id, col.field, MISSING_KEY, MISSING_LABEL, [exists_filter(col.field or "", negate=True)],
                          "missing")
        value = key
        if "key_as_string" in raw and (raw["key_as_string"] in ("true", "false") or col.data_type == "date"):
            value = raw["key_as_string"]
        return Bucket(col.id, col.field, value, str(value), [phrase_filter(col.field or "", value)])
    if col.operation == "date_histogram":
        kind, value, length = request.intervals[col.id]
        start = int(key)
        if length is None:
            following = add_units(datetime.fromtimestamp(start / 1000, tz=UTC), 1, value[-1])
            end = int(following.timestamp() * 1000)
        else:
            end = start + length
        rng = request.time_range
        if col.params.get("dropPartials") and (start < rng.start_ms or end > rng.end_ms + 1):
            return None
        fld = col.field or TIME_FIELD
        return Bucket(col.id, fld, start, iso(start),
                      [range_filter(fld, gte=iso(start), lt=iso(end), format="strict_date_optional_time")], "date")
    if col.operation == "filters":
        entries = col.params.get("filters") or []
        index = int(raw.get("_name", position))
        entry = entries[index] if index < len(entries) else {}
        text = ((entry.get("input") or {}).get("query") or "").strip()
        label = entry.get("label") or text or "*"
        dsl = query_to_dsl(entry.get("input") or "")
        return Bucket(col.id, None, label, label, [query_filter(dsl, label=label)], "filters")
    if col.operation == "range":
        ranges = col.params.get("ranges") or []
        spec = ranges[position] if position < len(ranges) else {}
        low, high = raw.get("from"), raw.get("to")
        label = spec.get("label") or _range_label(low, high)
        return Bucket(col.id, col.field, raw.get("key"), label,
                      [range_filter(col.field or "", gte=low, lt=high)], "range")
    return None


def _range_label(low: Any, high: Any) -> str:
    def num(v: Any) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    if low is None:
        return f"< {num(high)}"
    if high is None:
        return f"≥ {num(low)}"
    return f"{num(low)} → {num(high)}"


def _row(request: LayerRequest, node: dict[str, Any], keys: dict[str, Bucket]) -> Row:
    row = Row(buckets=dict(keys), doc_count=int(node.get("doc_count") or 0))
    for col in request.metrics:
        value, count = _metric_value(col, node)
        row.values[col.id] = _scaled(col, value, request, keys)
        row.counts[col.id] = count
    return row


def _other_row(request: LayerRequest, keys: dict[str, Bucket], rest: int) -> Row:
    row = Row(buckets=dict(keys), doc_count=rest)
    for col in request.metrics:
        exact = col.operation == "count" and not col.field and not col.filter
        row.values[col.id] = _scaled(col, rest, request, keys) if exact else None
        row.counts[col.id] = rest if exact else 0
    return row


def _metric_value(col: Column, node: dict[str, Any]) -> tuple[Any, int]:
    """(value, how many values stand behind it) of metric `col` in bucket `node`."""
    op = col.operation
    empty_as_null = bool(col.params.get("emptyAsNull"))
    holder = node
    if col.filter:
        holder = node.get(col.name) or {}
        if op == "count" and not col.field:
            n = int(holder.get("doc_count") or 0)
            return (None if empty_as_null and n == 0 else n), n
        holder = {col.name: holder.get("v") or {}, f"{col.name}_n": holder.get("n") or {}}
    if op == "count" and not col.field:
        n = int(node.get("doc_count") or 0)
        return (None if empty_as_null and n == 0 else n), n
    agg = holder.get(col.name) or {}
    if op == "count" or op in ("unique_count", "cardinality"):
        n = int(agg.get("value") or 0)
        return (None if empty_as_null and n == 0 else n), n
    if op == "sum":
        n = int((holder.get(f"{col.name}_n") or {}).get("value") or 0)
        value = agg.get("value")
        return (None if (empty_as_null and n == 0) else value), n
    if op in ("median", "percentile", "percentile_rank"):
        values = agg.get("values") or {}
        value = next(iter(values.values()), None) if isinstance(values, dict) else \
            (values[0].get("value") if values else None)
        return value, int(value is not None)
    if op == "standard_deviation":
        value = agg.get("std_deviation")
        return value, int(value is not None and bool(agg.get("count")))
    if op == "last_value":
        hits = (agg.get("hits") or {}).get("hits") or []
        if not hits:
            return None, 0
        value = dotted.find(hits[0].get("_source") or {}, col.field or "", None)
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        return value, int(value is not None)
    value = agg.get("value")
    return value, int(value is not None)


def _scaled(col: Column, value: Any, request: LayerRequest, keys: dict[str, Bucket]) -> Any:
    unit = col.raw.get("timeScale")
    if not unit or not isinstance(value, (int, float)):
        return value
    length = None
    for col_id in keys:
        interval = request.intervals.get(col_id)
        if interval and interval[2]:
            length = interval[2]
    length = length or max(request.time_range.duration_ms, 1)
    return value * UNIT_MS.get(unit, 1000) / length
