"""A dashboard panel as chart-agnostic JSON, from the cluster: what a chart library draws.

Every shape has `kind`, `title`, `panel` (the panel's index), `empty` (no bucket and no value: the
panel would draw nothing) and `took_ms` (the engine's time over the panel's searches). `xy` and
`table` also have `empty_columns`: the labels of metric columns (series) without a single value, as a
misspelled field gives, while other columns of the panel have data.

- `metric`: `value` (a number; the last value of a text field for `last_value`; None when there is
  nothing), `label`, and `breakdown` (`[{key, label, value, field, filters}]`) when the metric is
  broken down.
- `xy`: `series_type` (`line`, `area`, `bar`, `bar_stacked`, `bar_horizontal`, …),
  `x` `{field, type: date|category, label, interval, interval_ms}`, `categories` (the x keys: a
  term as is, ISO 8601 for a date, the label of a filters/range bucket or of `Other`/missing),
  `category_keys` (raw: epoch ms for dates), `category_filters` (per category, the filters a click
  adds), `series` `[{name, type, column, field, key, filters, data}]` with `data` aligned to
  `categories` (None where the series has no bucket), `split_field`, `x_title`, `y_title`.
- `pie`: `shape` (`pie`, `donut`, `treemap`, `mosaic`, `waffle`), `field`, `number_display`,
  `buckets` `[{key, label, value, field, filters}]` (an `Other` bucket with key `__other__` when the
  terms column asks for one).
- `table`: `columns` `[{id, label, field, bucket}]`, `rows` of cells: a bucket column's cell is
  `{key, label, field, filters}`, a metric's is its value; `page_size`. A saved search panel is a
  table too (`search_id`, the latest 20 documents by its sort; cells are the documents' values,
  `documents` `[{_id, _index}]` aligned with `rows`).
- `markdown`: `markdown`; `links`: `links` `[{label, dashboard_id}]` (`url` instead for external links).

A clickable bucket carries `field`, its raw `key` and `filters`: the Kibana filter objects a click
adds (a phrase filter for a term, a negated phrases filter for `Other`, a negated exists filter for a
missing value, a range for a date bucket). `phrase_filter(field, value)` builds the first kind.

`render_dashboard` renders every panel (a panel that cannot render becomes `{"kind": "error",
"error": message}`); `control_options` lists a control's choices.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from intpkg import dotted
from intpkg.dashboards import DashboardError
from intpkg.dashboards.filters import filters_to_dsl, phrase_filter
from intpkg.dashboards.kql import MATCH_ALL, KqlError, query_to_dsl
from intpkg.dashboards.lens import (
    TIME_FIELD,
    Bucket,
    LayerRequest,
    Row,
    UnsupportedPanel,
    other_request,
    panel_request,
    tabify,
    total_hits,
)
from intpkg.dashboards.saved_objects import Control, Dashboard, Panel, SavedSearch, load_searches
from intpkg.dashboards.timerange import TimeRangeError, time_range
from intpkg.stack.client import ApiCallError, SearchClient

__all__ = ["RenderError", "control_options", "phrase_filter", "render_dashboard", "render_panel"]

SEARCH_PARAMS = {"ignore_unavailable": "true", "allow_no_indices": "true"}
SEARCH_SIZE = 20
CONTROL_SIZE = 50


class RenderError(DashboardError):
    """The engine refused a panel's search; `reason` is the engine's own words."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: the search failed: {reason}")
        self.reason = reason


def render_panel(client: SearchClient, dashboard: Dashboard, panel: Panel, *, start: str, end: str,
                 query: Any = "", filters: Sequence[dict] = (), index: str | None = None,
                 searches: dict[str, SavedSearch] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The shape of `panel` over [`start`, `end`] (ISO 8601 or date math).

    The dashboard's stored query and filters always apply; `query` (KQL text, or `{"language",
    "query"}`) and `filters` (Kibana filter objects: what the user typed and clicked) are added to them.
    `index` replaces every index pattern; `searches` are the saved searches (default: the dashboard's
    package's). Raise UnsupportedPanel, KqlError (a bad query, with its position), TimeRangeError or
    RenderError (the engine refused the search).
    """
    base = {"panel": panel.index, "title": panel.title}
    if panel.markdown is not None:
        return {**base, "kind": "markdown", "markdown": panel.markdown, "empty": not panel.markdown.strip(),
                "took_ms": 0}
    if panel.type == "links":
        return {**base, "kind": "links", "links": [dict(link) for link in panel.links], "empty": not panel.links,
                "took_ms": 0}
    all_filters = [*dashboard.filters, *filters]
    if panel.type == "search":
        return _search_panel(client, dashboard, panel, base, start=start, end=end, query=query, filters=all_filters,
                             index=index, searches=searches, now=now)
    if panel.type != "lens":
        what = f"legacy {panel.legacy_type} visualization" if panel.type == "visualization" else f"{panel.type} panel"
        raise UnsupportedPanel(f"Panel {panel.title or panel.index!r}: a {what} is not supported.")
    joined_query = _and_queries(dashboard.query, query)
    requests = panel_request(panel, start=start, end=end, query=joined_query, filters=all_filters, index=index,
                             now=now)
    results, took = [], 0
    for request in requests:
        response = _search(client, request.index, request.body, panel)
        took += int(response.get("took") or 0)
        other = None
        other_body = other_request(request, response)
        if other_body is not None:
            other = _search(client, request.index, other_body, panel)
            took += int(other.get("took") or 0)
        results.append((request, tabify(request, response, other), total_hits(response)))
    vis = (panel.attributes.get("state") or {}).get("visualization") or {}
    shape = {"lnsMetric": _metric, "lnsLegacyMetric": _metric, "lnsXY": _xy, "lnsPie": _pie,
             "lnsDatatable": _table}[str(panel.visualization)]
    return {**base, **shape(vis, results), "took_ms": took}


def render_dashboard(client: SearchClient, dashboard: Dashboard, *, start: str, end: str, query: Any = "",
                     filters: Sequence[dict] = (), index: str | None = None,
                     searches: dict[str, SavedSearch] | None = None,
                     now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """Every panel's shape by panel index; a panel that cannot render is `{"kind": "error", "error": …}`.

    A bad `query` or time range still raises (it concerns every panel alike).
    """
    query_to_dsl(query)
    time_range(start, end, now=now)
    if searches is None:
        searches = _package_searches(dashboard)
    shapes = {}
    for panel in dashboard.panels:
        try:
            shapes[panel.index] = render_panel(client, dashboard, panel, start=start, end=end, query=query,
                                               filters=filters, index=index, searches=searches, now=now)
        except (KqlError, TimeRangeError):
            raise
        except DashboardError as exc:
            shapes[panel.index] = {"panel": panel.index, "title": panel.title, "kind": "error", "error": str(exc),
                                   "empty": True, "took_ms": 0}
    return shapes


def control_options(client: SearchClient, dashboard: Dashboard, control: Control, *, start: str, end: str,
                    query: Any = "", filters: Sequence[dict] = (), index: str | None = None,
                    size: int = CONTROL_SIZE, now: datetime | None = None) -> list[str]:
    """The `size` most frequent values of the control's field (as text) under the dashboard's query,
    its filters and the user's, over [`start`, `end`].

    Filters on the control's own field are left out, so the dropdown keeps offering the other values.
    """
    rng = time_range(start, end, now=now)
    own = [f for f in [*dashboard.filters, *filters] if (f.get("meta") or {}).get("key") != control.field]
    clauses = [rng.range_query(TIME_FIELD), query_to_dsl(dashboard.query), query_to_dsl(query), filters_to_dsl(own)]
    body = {"size": 0, "query": _join(clauses),
            "aggs": {"options": {"terms": {"field": control.field, "size": size, "order": {"_count": "desc"}}}}}
    response = _search(client, index or control.index, body, None, where=f"Control {control.title!r}")
    buckets = ((response.get("aggregations") or {}).get("options") or {}).get("buckets") or []
    return [str(b.get("key_as_string", b.get("key"))) for b in buckets]


# -- searching


def _search(client: SearchClient, index: str, body: dict[str, Any], panel: Panel | None,
            where: str | None = None) -> dict[str, Any]:
    if where is None:
        where = f"Panel {panel.title or panel.index!r}" if panel else "A search"
    try:
        response = client.request("POST", f"/{index}/_search", body=body, params=SEARCH_PARAMS)
    except ApiCallError as exc:
        if exc.status is not None and 400 <= int(exc.status) < 500:
            raise RenderError(where, _reason(exc.body)) from None
        raise
    failures = (response.get("_shards") or {}).get("failures") or []
    if failures:
        raise RenderError(where, _reason({"error": {"root_cause": [f.get("reason") for f in failures]}}))
    return response


def _reason(body: Any) -> str:
    """The deepest distinct reasons of an engine error body, one line each."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return str(body)
    found: list[str] = []
    error = body["error"]
    for cause in [*(error.get("root_cause") or [])[:1], error.get("caused_by"), error]:
        while isinstance(cause, dict):
            reason = str(cause.get("reason") or "").split("\n", 1)[0].strip()
            if reason and reason != "all shards failed" and reason not in found:
                found.append(reason)
            cause = cause.get("caused_by")
    return "; ".join(found) or str(error.get("type") or body)


def _join(clauses: Sequence[dict[str, Any]]) -> dict[str, Any]:
    kept = [c for c in clauses if c and c != MATCH_ALL]
    return {"bool": {"filter": kept}} if kept else dict(MATCH_ALL)


def _and_queries(stored: dict[str, Any], extra: Any) -> Any:
    """The dashboard's query and the user's as one query object (DSL when both are set)."""
    first, second = query_to_dsl(stored), query_to_dsl(extra)
    if second == MATCH_ALL:
        return stored
    if first == MATCH_ALL:
        return extra
    return {"language": "dsl", "query": {"bool": {"filter": [first, second]}}}


def _package_searches(dashboard: Dashboard) -> dict[str, SavedSearch]:
    if dashboard.path is None:
        return {}
    return load_searches(dashboard.path.parents[2])


# -- shapes


def _label(request: LayerRequest, column_id: str | None) -> str:
    if not column_id:
        return ""
    try:
        return request.column(column_id).label
    except KeyError:
        return column_id


def _field(request: LayerRequest, column_id: str | None) -> str | None:
    if not column_id:
        return None
    try:
        col = request.column(column_id)
    except KeyError:
        return None
    return col.field or (TIME_FIELD if col.operation == "date_histogram" else None)


def _bucket_dict(bucket: Bucket) -> dict[str, Any]:
    return {"key": bucket.key, "label": bucket.label, "field": bucket.field, "filters": bucket.filters}


def _has_data(rows: Sequence[Row], column_ids: Sequence[str] | None = None) -> bool:
    for row in rows:
        if column_ids:
            if any(row.counts.get(c, 0) > 0 for c in column_ids):
                return True
        elif row.has_data:
            return True
    return False


def _layer(results: list, layer_id: str | None) -> tuple[LayerRequest, list[Row], int]:
    for result in results:
        if result[0].layer_id == layer_id:
            return result
    return results[0]


def _metric(vis: dict[str, Any], results: list) -> dict[str, Any]:
    request, rows, total = _layer(results, vis.get("layerId"))
    accessor = vis.get("metricAccessor") or vis.get("accessor") or (request.metrics[0].id if request.metrics else None)
    breakdown_id = vis.get("breakdownByAccessor")
    first = rows[0] if rows else None
    value = first.values.get(accessor) if first else None
    shape: dict[str, Any] = {
        "kind": "metric",
        "value": _shown(request, accessor, value) if accessor else value,
        "label": vis.get("subtitle") or _label(request, accessor),
        "empty": total == 0 or not _has_data(rows, [accessor] if accessor else None) or value is None,
    }
    if breakdown_id:
        shape["breakdown"] = [{**_bucket_dict(r.buckets[breakdown_id]), "value": r.values.get(accessor)}
                              for r in rows if breakdown_id in r.buckets]
    secondary = vis.get("secondaryMetricAccessor")
    if secondary and first:
        shape["secondary"] = {"label": _label(request, secondary), "value": first.values.get(secondary)}
    return shape


def _xy(vis: dict[str, Any], results: list) -> dict[str, Any]:
    data_layers = [layer for layer in vis.get("layers") or [] if layer.get("layerType", "data") == "data"]
    by_id = {r[0].layer_id: r for r in results}
    x_info: dict[str, Any] | None = None
    categories: dict[Any, tuple[Any, list[dict]]] = {}  # raw key → (shown key, filters)
    series: dict[tuple, dict[str, Any]] = {}
    points: list[tuple[tuple, Any, Any]] = []  # (series id, raw x key, value)
    split_field = None
    any_data = False
    empty_columns: list[str] = []
    for layer in data_layers:
        if layer.get("layerId") not in by_id:
            continue
        request, rows, _ = by_id[layer["layerId"]]
        x_id, split_id = layer.get("xAccessor"), layer.get("splitAccessor")
        accessors = [a for a in layer.get("accessors") or [] if a]
        if x_info is None:
            x_info = _x_info(request, x_id)
        if split_id and split_field is None:
            split_field = _field(request, split_id)
        any_data = any_data or _has_data(rows, accessors)
        for accessor in accessors:
            label = _label(request, accessor)
            if not _has_data(rows, [accessor]) and label not in empty_columns:
                empty_columns.append(label)
        for row in rows:
            x_bucket = row.buckets.get(x_id) if x_id else None
            raw_x = x_bucket.key if x_bucket else None
            if raw_x not in categories:
                shown = raw_x if x_bucket and x_bucket.kind == "term" else (x_bucket.label if x_bucket else "")
                categories[raw_x] = (shown, x_bucket.filters if x_bucket else [])
            split = row.buckets.get(split_id) if split_id else None
            for accessor in accessors:
                sid = (layer["layerId"], split.key if split else None, accessor)
                if sid not in series:
                    metric_label = _label(request, accessor)
                    if split is None:
                        name = metric_label
                    else:
                        name = split.label if len(accessors) == 1 else f"{split.label} - {metric_label}"
                    series[sid] = {"name": name, "type": layer.get("seriesType") or vis.get("preferredSeriesType"),
                                   "column": accessor, "field": split.field if split else None,
                                   "key": split.key if split else None, "filters": split.filters if split else []}
                points.append((sid, raw_x, row.values.get(accessor)))
    keys = list(categories)
    if x_info and x_info["type"] == "date":
        keys.sort(key=lambda k: (k is None, k))
    position = {k: i for i, k in enumerate(keys)}
    for item in series.values():
        item["data"] = [None] * len(keys)
    for sid, raw_x, value in points:
        series[sid]["data"][position[raw_x]] = value
    first_type = data_layers[0].get("seriesType") if data_layers else None
    return {
        "kind": "xy",
        "series_type": vis.get("preferredSeriesType") or first_type or "bar",
        "x": x_info or {"field": None, "type": "category", "label": "", "interval": None, "interval_ms": None},
        "categories": [categories[k][0] for k in keys],
        "category_keys": keys,
        "category_filters": [categories[k][1] for k in keys],
        "series": list(series.values()),
        "split_field": split_field,
        "x_title": vis.get("xTitle"),
        "y_title": vis.get("yTitle"),
        "empty": not any_data,
        "empty_columns": empty_columns,
    }


def _x_info(request: LayerRequest, x_id: str | None) -> dict[str, Any]:
    if not x_id:
        return {"field": None, "type": "category", "label": "", "interval": None, "interval_ms": None}
    col = request.column(x_id)
    interval = request.intervals.get(x_id)
    return {"field": _field(request, x_id), "type": "date" if col.operation == "date_histogram" else "category",
            "label": col.label, "interval": interval[1] if interval else None,
            "interval_ms": interval[2] if interval else None}


def _pie(vis: dict[str, Any], results: list) -> dict[str, Any]:
    layer = (vis.get("layers") or [{}])[0]
    request, rows, _ = _layer(results, layer.get("layerId"))
    groups = [g for g in [*(layer.get("primaryGroups") or layer.get("groups") or []),
                          *(layer.get("secondaryGroups") or [])] if g]
    metrics = layer.get("metrics") or ([layer["metric"]] if layer.get("metric") else [])
    metric = metrics[0] if metrics else (request.metrics[0].id if request.metrics else None)
    buckets = []
    for row in rows:
        value = row.values.get(metric)
        if value is None:
            continue
        keys = [row.buckets[g] for g in groups if g in row.buckets]
        if not keys:
            buckets.append({"key": None, "label": _label(request, metric), "value": value, "field": None,
                            "filters": []})
            continue
        inner = keys[-1]
        item = {"key": inner.key, "label": " › ".join(k.label for k in keys), "value": value, "field": inner.field,
                "filters": [f for k in keys for f in k.filters]}
        if len(keys) > 1:
            item["path"] = [_bucket_dict(k) for k in keys]
        buckets.append(item)
    return {
        "kind": "pie",
        "shape": vis.get("shape") or "pie",
        "field": _field(request, groups[0]) if groups else None,
        "metric_label": _label(request, metric),
        "number_display": layer.get("numberDisplay"),
        "buckets": buckets,
        "empty": not _has_data(rows, [metric] if metric else None) or not buckets,
    }


def _table(vis: dict[str, Any], results: list) -> dict[str, Any]:
    request, rows, _ = _layer(results, vis.get("layerId"))
    configured = [c for c in vis.get("columns") or [] if c.get("columnId")]
    ids = [c["columnId"] for c in configured if not c.get("hidden")] or [c.id for c in request.columns]
    ids = [i for i in ids if any(c.id == i for c in request.columns)]
    columns = []
    for col_id in ids:
        col = request.column(col_id)
        columns.append({"id": col_id, "label": col.label, "field": _field(request, col_id), "bucket": col.bucketed})
    ordered = _sorted_rows(rows, vis.get("sorting") or {}, ids)
    table_rows = []
    for row in ordered:
        cells = []
        for column in columns:
            if column["bucket"]:
                bucket = row.buckets.get(column["id"])
                cells.append(_bucket_dict(bucket) if bucket else None)
            else:
                cells.append(_shown(request, column["id"], row.values.get(column["id"])))
        table_rows.append(cells)
    paging = vis.get("paging") or {}
    metric_ids = [c["id"] for c in columns if not c["bucket"]]
    return {
        "kind": "table",
        "columns": columns,
        "rows": table_rows,
        "page_size": paging.get("size") if paging.get("enabled") else None,
        "empty": not rows or not _has_data(rows, metric_ids or None),
        "empty_columns": [c["label"] for c in columns if not c["bucket"] and not _has_data(rows, [c["id"]])],
    }


def _shown(request: LayerRequest, column_id: str, value: Any) -> Any:
    """A metric's value as a table shows it: a date column's epoch milliseconds (max of @timestamp) as ISO 8601."""
    if request.column(column_id).data_type == "date" and isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return value


def _sorted_rows(rows: list[Row], sorting: dict[str, Any], ids: list[str]) -> list[Row]:
    """Rows in the table's sort order (`visualization.sorting`); rows without a value last."""
    sort_id, direction = sorting.get("columnId"), sorting.get("direction")
    if sort_id not in ids or direction not in ("asc", "desc"):
        return list(rows)

    def value(row: Row) -> Any:
        return row.buckets[sort_id].key if sort_id in row.buckets else row.values.get(sort_id)

    present = [r for r in rows if value(r) is not None]
    try:
        present.sort(key=value, reverse=direction == "desc")
    except TypeError:  # keys of mixed types (an Other bucket among numbers): the engine's order
        return list(rows)
    return present + [r for r in rows if value(r) is None]


def _search_panel(client: SearchClient, dashboard: Dashboard, panel: Panel, base: dict[str, Any], *, start: str,
                  end: str, query: Any, filters: list[dict], index: str | None,
                  searches: dict[str, SavedSearch] | None, now: datetime | None) -> dict[str, Any]:
    if searches is None:
        searches = _package_searches(dashboard)
    search = searches.get(panel.search_id or "")
    if search is None:
        raise UnsupportedPanel(f"Panel {panel.title or panel.index!r}: saved search {panel.search_id!r} is not in "
                               "the package's kibana/search.")
    rng = time_range(start, end, now=now)
    clauses = [rng.range_query(TIME_FIELD), query_to_dsl(dashboard.query), query_to_dsl(query),
               filters_to_dsl(filters), query_to_dsl(search.query), filters_to_dsl(search.filters)]
    sort = search.sort or [[TIME_FIELD, "desc"]]
    body = {
        "size": SEARCH_SIZE,
        "track_total_hits": True,
        "query": _join(clauses),
        "sort": [{f: {"order": d, "unmapped_type": "date" if f == TIME_FIELD else "keyword"}} for f, d in sort],
    }
    response = _search(client, index or search.index, body, panel)
    names = [c for c in search.columns if c != "_source"]
    names = [TIME_FIELD, *[c for c in names if c != TIME_FIELD]]
    hits = (response.get("hits") or {}).get("hits") or []
    rows = []
    for hit in hits:
        source = hit.get("_source") or {}
        if len(names) == 1:  # no chosen columns: the document as Discover shows it
            rows.append([_cell(source, TIME_FIELD), json.dumps(source, sort_keys=True, default=str)])
        else:
            rows.append([_cell(source, name) for name in names])
    columns = [{"id": name, "label": name, "field": name, "bucket": False} for name in names]
    if len(names) == 1:
        columns.append({"id": "_source", "label": "Document", "field": None, "bucket": False})
    return {
        **base,
        "kind": "table",
        "search_id": search.id,
        "columns": columns,
        "rows": rows,
        "documents": [{"_id": h.get("_id"), "_index": h.get("_index")} for h in hits],
        "total": total_hits(response),
        "page_size": None,
        "empty": not hits,
        "empty_columns": [c["label"] for i, c in enumerate(columns) if hits and all(r[i] is None for r in rows)],
        "took_ms": int(response.get("took") or 0),
    }


def _cell(source: dict[str, Any], name: str) -> Any:
    found = dotted.find(source, name)
    return None if found is dotted.MISSING else found
