"""Lens panels to search requests, answers to rows, time ranges, and loading saved objects (no engine).

The Lens panels here are small hand-written ones in the saved-object shape Kibana exports (and
`elastic/integrations` packages ship): `embeddableConfig.attributes.state.datasourceStates.formBased`.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intpkg.dashboards import DashboardError
from intpkg.dashboards.filters import phrase_filter
from intpkg.dashboards.kql import KqlError
from intpkg.dashboards.lens import UnsupportedPanel, other_request, panel_request, tabify
from intpkg.dashboards.saved_objects import (
    Panel,
    SavedObjectError,
    load_dashboard,
    load_dashboards,
    load_searches,
)
from intpkg.dashboards.timerange import (
    TimeRangeError,
    auto_interval,
    auto_interval_ms,
    interval_param,
    resolve,
    time_range,
)

FIXTURES = Path(__file__).parent / "fixtures/dashboards"
START, END = "2025-03-14T09:00:00Z", "2025-03-14T12:00:00Z"  # 3 hours: Kibana's auto interval is 5 minutes
START_MS = int(datetime(2025, 3, 14, 9, tzinfo=UTC).timestamp() * 1000)
END_MS = int(datetime(2025, 3, 14, 12, tzinfo=UTC).timestamp() * 1000)
DATASET = {"meta": {"alias": None, "disabled": False, "index": "f-ref", "key": "data_stream.dataset",
                    "negate": False, "params": {"query": "cloudflare.audit"}, "type": "phrase"},
           "query": {"match_phrase": {"data_stream.dataset": "cloudflare.audit"}}}
TIME = {"range": {"@timestamp": {"gte": START_MS, "lte": END_MS, "format": "epoch_millis"}}}


# -- hand-written Lens columns and panels


def count(**extra) -> dict:
    return {"dataType": "number", "isBucketed": False, "label": "Count of records", "operationType": "count",
            "params": {"emptyAsNull": True}, "scale": "ratio", "sourceField": "___records___", **extra}


def terms(field: str, size: int = 5, order: str | None = "m", **params) -> dict:
    order_by = {"type": "column", "columnId": order} if order else {"type": "alphabetical", "fallback": True}
    return {"dataType": "string", "isBucketed": True, "label": f"Top {size} values of {field}",
            "operationType": "terms", "scale": "ordinal", "sourceField": field,
            "params": {"size": size, "orderBy": order_by, "orderDirection": "desc", "otherBucket": True,
                       "missingBucket": False, "parentFormat": {"id": "terms"}, "include": [], "exclude": [],
                       **params}}


def histogram(**params) -> dict:
    return {"dataType": "date", "isBucketed": True, "label": "@timestamp", "operationType": "date_histogram",
            "scale": "interval", "sourceField": "@timestamp",
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False, **params}}


def metric(op: str, field: str, **params) -> dict:
    return {"dataType": "number", "isBucketed": False, "label": f"{op} of {field}", "operationType": op,
            "scale": "ratio", "sourceField": field, "params": params}


def lens_panel(columns: dict, order: list[str], vis_type: str = "lnsXY", visualization: dict | None = None,
               query: str = "", filters: list | None = None, layer: str = "L1") -> Panel:
    """A by-value Lens panel as `load_dashboards` returns it (one layer on logs-*)."""
    attributes = {
        "references": [{"id": "logs-*", "name": f"indexpattern-datasource-layer-{layer}", "type": "index-pattern"},
                       {"id": "logs-*", "name": "f-ref", "type": "index-pattern"}],
        "state": {"adHocDataViews": {}, "internalReferences": [],
                  "datasourceStates": {"formBased": {"layers": {layer: {
                      "columnOrder": order, "columns": columns, "incompleteColumns": {}, "sampling": 1}}},
                      "textBased": {"layers": {}}},
                  "filters": [DATASET] if filters is None else filters,
                  "query": {"language": "kuery", "query": query},
                  "visualization": visualization or {"layers": [{"layerId": layer, "layerType": "data",
                                                                 "seriesType": "bar_stacked", "accessors": []}]}},
        "title": "", "type": "lens", "visualizationType": vis_type,
    }
    return Panel(index="p1", title="Test panel", type="lens", grid={"x": 0, "y": 0, "w": 24, "h": 12},
                 visualization=vis_type, attributes=attributes, layer_indices={layer: "logs-*"})


def one_request(panel: Panel, start: str = START, end: str = END, **kwargs):
    (request,) = panel_request(panel, start=start, end=end, **kwargs)
    return request


# -- time ranges and the automatic interval


def test_bounds_take_iso_and_date_math() -> None:
    now = datetime(2025, 3, 14, 10, 37, 12, 345000, tzinfo=UTC)
    assert resolve("2025-03-14T10:00:00Z") == datetime(2025, 3, 14, 10, tzinfo=UTC)
    assert resolve("2025-03-14T11:00:00+01:00") == datetime(2025, 3, 14, 10, tzinfo=UTC)
    assert resolve("2025-03-14") == datetime(2025, 3, 14, tzinfo=UTC)
    assert resolve("now", now=now) == now
    assert resolve("now-15m", now=now) == datetime(2025, 3, 14, 10, 22, 12, 345000, tzinfo=UTC)
    assert resolve("now-1d/d", now=now) == datetime(2025, 3, 13, tzinfo=UTC)
    assert resolve("now/d", now=now, round_up=True) == datetime(2025, 3, 14, 23, 59, 59, 999000, tzinfo=UTC)
    assert resolve("now-1M/M", now=now) == datetime(2025, 2, 1, tzinfo=UTC)
    assert resolve("now/w", now=now) == datetime(2025, 3, 10, tzinfo=UTC)  # a Monday
    assert resolve("2025-01-31||+1M", now=now) == datetime(2025, 2, 28, tzinfo=UTC)
    assert resolve("now-1y+2h/h", now=now) == datetime(2024, 3, 14, 12, tzinfo=UTC)
    rng = time_range("now-15m", "now", now=now)
    assert rng.duration_ms == 15 * 60 * 1000


@pytest.mark.parametrize(("start", "end", "words"), [
    ("yesterday", "now", "Cannot read the time 'yesterday'"),
    ("now-15x", "now", "Cannot read the date math in 'now-15x' at '-15x'"),
    ("", "now", "bound is empty"),
    ("now", "now-1h", "ends (now-1h) before it starts (now)"),
])
def test_bad_bounds_are_time_range_errors(start, end, words) -> None:
    with pytest.raises(TimeRangeError, match=words.replace("(", r"\(").replace(")", r"\)")):
        time_range(start, end)


@pytest.mark.parametrize(("minutes", "interval"), [
    (15, "30s"),  # Kibana's "Last 15 minutes": 30 buckets
    (60, "1m"),
    (180, "5m"),
    (24 * 60, "30m"),
    (7 * 24 * 60, "3h"),
    (30 * 24 * 60, "12h"),
    (365 * 24 * 60, "7d"),
    (1, "1s"),
    (1 / 60, "20ms"),  # one second: below every rounding rule, the plain fiftieth
])
def test_auto_interval_is_kibanas(minutes, interval) -> None:
    rng = time_range("2025-01-01T00:00:00Z", f"2025-01-01T00:00:00Z||+{int(minutes * 60_000)}ms")
    assert auto_interval(rng) == interval
    buckets = rng.duration_ms / auto_interval_ms(rng.duration_ms)
    assert buckets <= 100


def test_explicit_intervals() -> None:
    rng = time_range(START, END)
    assert interval_param("1h", rng) == ("fixed_interval", "1h", 3_600_000)
    assert interval_param("90s", rng) == ("fixed_interval", "90s", 90_000)
    assert interval_param("1d", rng) == ("fixed_interval", "1d", 86_400_000)
    assert interval_param("1M", rng) == ("calendar_interval", "1M", None)
    assert interval_param("2w", rng) == ("fixed_interval", "14d", 14 * 86_400_000)
    with pytest.raises(DashboardError, match="Unknown date histogram interval 'often'"):
        interval_param("often", rng)


# -- requests


def test_time_range_dashboard_query_filters_and_layer_query_are_joined() -> None:
    panel = lens_panel({"m": count()}, ["m"], query="event.action: login")
    clicked = phrase_filter("event.outcome", "failure")
    off = {**phrase_filter("user.email", "x"), "meta": {**phrase_filter("user.email", "x")["meta"], "disabled": True}}
    negated = phrase_filter("source.ip", "10.0.0.1", negate=True)
    request = one_request(panel, query="cloud.account.name: Example*", filters=[clicked, off, negated])
    assert request.index == "logs-*" and request.layer_id == "L1"
    assert request.body["size"] == 0 and "aggs" not in request.body  # a plain count is the hit total
    assert request.body["query"] == {"bool": {"filter": [
        TIME,
        {"wildcard": {"cloud.account.name": {"value": "Example*"}}},
        {"bool": {"filter": [clicked["query"]], "must_not": [negated["query"]]}},
        {"match": {"event.action": "login"}},
        DATASET["query"],
    ]}}


def test_ignore_global_filters_keeps_only_the_layers_own() -> None:
    vis = {"layers": [{"layerId": "L1", "layerType": "data", "seriesType": "line", "accessors": ["m"],
                       "ignoreGlobalFilters": True}]}
    request = one_request(lens_panel({"m": count()}, ["m"], visualization=vis), query="a:1",
                          filters=[phrase_filter("b", "2")])
    assert request.body["query"] == {"bool": {"filter": [TIME, DATASET["query"]]}}


def test_index_override_and_a_layer_without_index_pattern() -> None:
    panel = lens_panel({"m": count()}, ["m"])
    assert one_request(panel, index="logs-cloudflare.audit-*").index == "logs-cloudflare.audit-*"
    panel.layer_indices = {}
    with pytest.raises(UnsupportedPanel, match="layer L1 names no index pattern"):
        one_request(panel)


def test_bucket_columns_nest_outer_to_inner_with_metrics_as_leaves() -> None:
    columns = {"t": terms("event.outcome", 3), "h": histogram(), "m": count(),
               "s": metric("sum", "http.response.bytes", emptyAsNull=True)}
    request = one_request(lens_panel(columns, ["t", "h", "m", "s"]))
    assert [c.id for c in request.buckets] == ["t", "h"] and [c.id for c in request.metrics] == ["m", "s"]
    assert request.body["aggs"] == {"c0": {
        "terms": {"field": "event.outcome", "size": 3, "order": {"_count": "desc"}},
        "aggs": {"c1": {
            "date_histogram": {"field": "@timestamp", "fixed_interval": "5m", "time_zone": "UTC", "min_doc_count": 0,
                               "extended_bounds": {"min": START_MS, "max": END_MS}},
            "aggs": {"c3": {"sum": {"field": "http.response.bytes"}},
                     "c3_n": {"value_count": {"field": "http.response.bytes"}}},
        }},
    }}
    assert request.intervals == {"h": ("fixed_interval", "5m", 300_000)}


def test_terms_order_by_a_metric_puts_that_metric_under_the_terms() -> None:
    columns = {"t": terms("user.email", 10, order="u"), "u": metric("unique_count", "source.ip")}
    request = one_request(lens_panel(columns, ["t", "u"]))
    assert request.body["aggs"]["c0"] == {
        "terms": {"field": "user.email", "size": 10, "order": {"oc1": "desc"}},
        "aggs": {"c1": {"cardinality": {"field": "source.ip"}}, "oc1": {"cardinality": {"field": "source.ip"}}}}
    for percent, path in ((99, "oc1[99.0]"), (99.95, "oc1[99.95]")):
        pct = {"t": terms("url.path", order="p"), "p": metric("percentile", "event.duration", percentile=percent)}
        assert one_request(lens_panel(pct, ["t", "p"])).body["aggs"]["c0"]["terms"]["order"] == {path: "desc"}
    filtered = {"t": terms("url.path", order="c"), "c": count(filter={"language": "kuery", "query": "a:1"})}
    assert one_request(lens_panel(filtered, ["t", "c"])).body["aggs"]["c0"]["terms"]["order"] == {"oc1": "desc"}
    alphabetical = {"t": terms("url.path", order=None), "m": count()}
    order = one_request(lens_panel(alphabetical, ["t", "m"])).body["aggs"]["c0"]["terms"]["order"]
    assert order == {"_key": "desc"}


def test_terms_missing_include_and_exclude() -> None:
    col = terms("source.geo.country_iso_code", missingBucket=True, include=["SE", "NO"], exclude=[])
    request = one_request(lens_panel({"t": col, "m": count()}, ["t", "m"]))
    assert request.body["aggs"]["c0"]["terms"] == {"field": "source.geo.country_iso_code", "size": 5,
                                                   "order": {"_count": "desc"}, "missing": "__missing__",
                                                   "include": ["SE", "NO"]}
    regex = terms("url.path", exclude=["/static/.*"], excludeIsRegex=True)
    assert one_request(lens_panel({"t": regex, "m": count()}, ["t", "m"])).body["aggs"]["c0"]["terms"]["exclude"] \
        == "/static/.*"


def test_date_histogram_without_empty_rows_and_fixed_intervals() -> None:
    request = one_request(lens_panel({"h": histogram(includeEmptyRows=False, interval="1h"), "m": count()},
                                     ["h", "m"]))
    assert request.body["aggs"]["c0"]["date_histogram"] == {"field": "@timestamp", "fixed_interval": "1h",
                                                            "time_zone": "UTC", "min_doc_count": 1}
    monthly = one_request(lens_panel({"h": histogram(interval="1M"), "m": count()}, ["h", "m"]))
    assert monthly.body["aggs"]["c0"]["date_histogram"]["calendar_interval"] == "1M"
    day = one_request(lens_panel({"h": histogram(), "m": count()}, ["h", "m"]), start="now-24h", end="now")
    assert day.body["aggs"]["c0"]["date_histogram"]["fixed_interval"] == "30m"


def test_filters_and_range_bucket_columns() -> None:
    classes = {"dataType": "string", "isBucketed": True, "label": "Status class", "operationType": "filters",
               "params": {"filters": [{"input": {"language": "kuery", "query": "http.response.status_code >= 500"},
                                       "label": "5xx"},
                                      {"input": {"language": "lucene", "query": "event.outcome:failure"},
                                       "label": ""}]}}
    request = one_request(lens_panel({"f": classes, "m": count()}, ["f", "m"]))
    assert request.body["aggs"]["c0"] == {"filters": {"filters": {
        "0": {"range": {"http.response.status_code": {"gte": "500"}}},
        "1": {"query_string": {"query": "event.outcome:failure", "analyze_wildcard": True, "lenient": True}}}}}
    sizes = {"dataType": "number", "isBucketed": True, "label": "Size", "operationType": "range",
             "sourceField": "http.response.bytes",
             "params": {"type": "range", "ranges": [{"from": 0, "to": 1000, "label": "small"},
                                                    {"from": 1000, "to": None, "label": ""}]}}
    request = one_request(lens_panel({"r": sizes, "m": count()}, ["r", "m"]))
    assert request.body["aggs"]["c0"] == {"range": {"field": "http.response.bytes", "keyed": False,
                                                    "ranges": [{"from": 0, "to": 1000}, {"from": 1000}]}}


def test_metric_operations() -> None:
    last = metric("last_value", "event.action", sortField="@timestamp")
    columns = {"a": metric("average", "n"), "b": metric("min", "n"), "c": metric("max", "n"),
               "d": metric("median", "n"), "e": metric("unique_count", "user.email"), "f": last,
               "g": metric("standard_deviation", "n"), "h": metric("percentile_rank", "n", value=100),
               "i": metric("count", "user.email")}
    aggs = one_request(lens_panel(columns, list(columns))).body["aggs"]
    assert aggs == {
        "c0": {"avg": {"field": "n"}},
        "c1": {"min": {"field": "n"}},
        "c2": {"max": {"field": "n"}},
        "c3": {"percentiles": {"field": "n", "percents": [50.0], "keyed": True}},
        "c4": {"cardinality": {"field": "user.email"}},
        "c5": {"top_hits": {"size": 1, "sort": [{"@timestamp": {"order": "desc", "unmapped_type": "date"}}],
                            "_source": {"includes": ["event.action"]}}},
        "c6": {"extended_stats": {"field": "n"}},
        "c7": {"percentile_ranks": {"field": "n", "values": [100.0], "keyed": True}},
        "c8": {"value_count": {"field": "user.email"}},
    }


def test_a_column_filter_wraps_the_metric_in_a_filter_aggregation() -> None:
    failed = count(filter={"language": "kuery", "query": "event.outcome: failure"})
    last = metric("last_value", "event.action", sortField="@timestamp")
    last["filter"] = {"language": "kuery", "query": "event.action: *"}
    request = one_request(lens_panel({"h": histogram(), "c": failed, "l": last}, ["h", "c", "l"]))
    assert request.body["aggs"]["c0"]["aggs"] == {
        "c1": {"filter": {"match": {"event.outcome": "failure"}}},
        "c2": {"filter": {"exists": {"field": "event.action"}}, "aggs": {"v": {"top_hits": {
            "size": 1, "sort": [{"@timestamp": {"order": "desc", "unmapped_type": "date"}}],
            "_source": {"includes": ["event.action"]}}}}},
    }


@pytest.mark.parametrize(("column", "words"), [
    ({"operationType": "formula", "label": "Error rate", "isBucketed": False,
      "params": {"formula": "count(kql='event.outcome:failure') / count()"}}, "the 'formula' operation (Error rate)"),
    ({"operationType": "cumulative_sum", "label": "Running total", "isBucketed": False, "references": ["x"]},
     "the 'cumulative_sum' operation"),
    ({"operationType": "moving_average", "label": "m", "isBucketed": False}, "the 'moving_average' operation"),
    ({"operationType": "count", "label": "Last week", "isBucketed": False, "sourceField": "___records___",
      "timeShift": "1w"}, "time shift (1w)"),
    (terms("url.path", secondaryFields=["url.domain"]), "terms over several fields"),
    ({"operationType": "range", "label": "Bytes", "isBucketed": True, "sourceField": "n",
      "params": {"type": "histogram", "maxBars": "auto"}}, "histogram mode"),
    ({"operationType": "geo_grid", "label": "Where", "isBucketed": True, "sourceField": "g"},
     "the bucket operation 'geo_grid'"),
    ({"operationType": "magic", "label": "?", "isBucketed": False, "sourceField": "n"}, "the 'magic' operation"),
])
def test_unsupported_operations_are_named(column, words) -> None:
    with pytest.raises(UnsupportedPanel, match=r"Panel 'Test panel': .*" + words.replace("(", r"\(").replace(
            ")", r"\)")):
        one_request(lens_panel({"x": column, "m": count()}, ["x", "m"]))


def test_unsupported_panels() -> None:
    panel = lens_panel({"m": count()}, ["m"])
    panel.attributes["state"]["datasourceStates"]["textBased"]["layers"] = {"L2": {"query": {"esql": "FROM x"}}}
    with pytest.raises(UnsupportedPanel, match="ES|QL"):
        one_request(panel)
    heatmap = lens_panel({"m": count()}, ["m"], vis_type="lnsHeatmap")
    with pytest.raises(UnsupportedPanel, match="Lens chart 'lnsHeatmap' is not supported"):
        one_request(heatmap)
    with pytest.raises(UnsupportedPanel, match="is a search panel, not Lens"):
        panel_request(Panel("p", "Search", "search", {}), start=START, end=END)


def test_a_layer_query_syntax_error_is_a_kql_error() -> None:
    with pytest.raises(KqlError) as caught:
        one_request(lens_panel({"m": count()}, ["m"], query="event.action:(login"))
    assert caught.value.position == 19


def test_reference_line_layers_are_skipped_and_each_data_layer_is_one_request() -> None:
    panel = lens_panel({"h": histogram(), "m": count()}, ["h", "m"])
    layers = panel.attributes["state"]["datasourceStates"]["formBased"]["layers"]
    layers["L2"] = {"columnOrder": ["s"], "columns": {"s": {"operationType": "static_value", "isBucketed": False,
                                                              "label": "Limit", "params": {"value": "10"}}}}
    layers["L3"] = copy.deepcopy(layers["L1"])
    panel.layer_indices.update(L2="logs-*", L3="logs-cloudflare.logpull-*")
    panel.attributes["state"]["visualization"]["layers"] = [
        {"layerId": "L1", "layerType": "data", "seriesType": "line", "accessors": ["m"], "xAccessor": "h"},
        {"layerId": "L2", "layerType": "referenceLine", "accessors": ["s"]},
        {"layerId": "L3", "layerType": "data", "seriesType": "line", "accessors": ["m"], "xAccessor": "h"},
    ]
    requests = panel_request(panel, start=START, end=END)
    assert [(r.layer_id, r.index) for r in requests] == [("L1", "logs-*"), ("L3", "logs-cloudflare.logpull-*")]


# -- reading answers


def date_bucket(minute: int, count_: int, **aggs) -> dict:
    key = START_MS + minute * 60_000
    return {"key": key, "key_as_string": "x", "doc_count": count_, **aggs}


def test_tabify_rows_other_and_missing_buckets_and_click_filters() -> None:
    columns = {"t": terms("event.action", 2, missingBucket=True), "m": count(), "u": metric("unique_count", "user.id")}
    request = one_request(lens_panel(columns, ["t", "m", "u"]))
    response = {"took": 3, "hits": {"total": {"value": 30, "relation": "eq"}}, "aggregations": {"c0": {
        "sum_other_doc_count": 9,
        "buckets": [{"key": "update", "doc_count": 13, "c2": {"value": 4}},
                    {"key": "__missing__", "doc_count": 8, "c2": {"value": 0}}]}}}
    rows = tabify(request, response)
    assert [(r.buckets["t"].label, r.values["m"], r.values["u"]) for r in rows] == [
        ("update", 13, 4), ("(missing value)", 8, 0), ("Other", 9, None)]
    update, missing, other = (r.buckets["t"] for r in rows)
    assert update.filters == [phrase_filter("event.action", "update")]
    assert missing.key == "__missing__" and missing.filters[0]["meta"] == {
        "alias": None, "disabled": False, "negate": True, "key": "event.action", "type": "exists", "params": None}
    assert other.key == "__other__" and other.kind == "other"
    assert [f["meta"]["type"] for f in other.filters] == ["phrases", "exists"]  # a shown missing bucket is not Other
    assert other.filters[0]["meta"]["params"] == ["update"] and other.filters[0]["meta"]["negate"]
    assert rows[1].has_data and rows[1].counts == {"m": 8, "u": 0}
    assert rows[2].counts == {"m": 9, "u": 0}  # the Other row knows only its count


def test_tabify_dates_drop_partial_buckets_and_build_range_filters() -> None:
    columns = {"h": histogram(dropPartials=True, interval="1h"), "m": count()}
    request = one_request(lens_panel(columns, ["h", "m"]), start="2025-03-14T09:30:00Z", end=END)
    response = {"hits": {"total": 5}, "aggregations": {"c0": {"buckets": [
        date_bucket(0, 1), date_bucket(60, 2), date_bucket(120, 2)]}}}
    rows = tabify(request, response)
    # 09:00-10:00 starts before the range: partial, dropped; 11:00-12:00 ends with it: kept
    assert [(r.buckets["h"].label, r.values["m"]) for r in rows] == [("2025-03-14T10:00:00.000Z", 2),
                                                                     ("2025-03-14T11:00:00.000Z", 2)]
    assert rows[0].buckets["h"].filters[0]["query"] == {"range": {"@timestamp": {
        "gte": "2025-03-14T10:00:00.000Z", "lt": "2025-03-14T11:00:00.000Z", "format": "strict_date_optional_time"}}}


def test_other_request_for_an_outer_terms_column_with_inner_buckets() -> None:
    columns = {"t": terms("event.outcome", 1), "h": histogram(), "m": count()}
    request = one_request(lens_panel(columns, ["t", "h", "m"]))
    response = {"hits": {"total": 30}, "aggregations": {"c0": {"sum_other_doc_count": 3, "buckets": [
        {"key": "success", "doc_count": 27, "c1": {"buckets": [date_bucket(0, 27)]}}]}}}
    body = other_request(request, response)
    assert body == {"size": 0, "track_total_hits": True,
                    "query": {"bool": {"filter": [request.body["query"], {"exists": {"field": "event.outcome"}}],
                                       "must_not": [{"terms": {"event.outcome": ["success"]}}]}},
                    "aggs": {"c1": request.body["aggs"]["c0"]["aggs"]["c1"]}}
    other = {"hits": {"total": 3}, "aggregations": {"c1": {"buckets": [date_bucket(5, 3)]}}}
    rows = tabify(request, response, other)
    assert [(r.buckets["t"].label, r.buckets["h"].label, r.values["m"]) for r in rows] == [
        ("success", "2025-03-14T09:00:00.000Z", 27), ("Other", "2025-03-14T09:05:00.000Z", 3)]
    assert other_request(request, {"aggregations": {"c0": {"sum_other_doc_count": 0, "buckets": []}}}) is None


def test_time_scale_turns_counts_into_rates() -> None:
    per_second = count(timeScale="s")
    request = one_request(lens_panel({"h": histogram(interval="1m"), "m": per_second}, ["h", "m"]))
    rows = tabify(request, {"hits": {"total": 120}, "aggregations": {"c0": {"buckets": [date_bucket(0, 120)]}}})
    assert rows[0].values["m"] == 2.0


# -- saved objects


def test_fixture_dashboards_load_in_both_forms() -> None:
    dashboards = {d.id: d for d in load_dashboards(FIXTURES)}
    audit, http = dashboards["intpkg-test-audit-dashboard"], dashboards["intpkg-test-http-dashboard"]
    assert isinstance(json.loads(FIXTURES.joinpath("kibana/dashboard/intpkg-test-http-dashboard.json").read_text())
                      ["attributes"]["panelsJSON"], str)  # the encoded form, as a built package holds it
    assert (audit.title, http.title) == ("[Test] Audit", "[Test] HTTP")
    assert http.query == {"language": "kuery", "query": ""}
    assert http.filters[0]["query"] == {"match_phrase": {"data_stream.dataset": "cloudflare.logpull"}}
    assert (http.time_from, http.time_to) == ("2025-03-14T09:00:00.000Z", "2025-03-14T12:00:00.000Z")
    assert (audit.time_from, audit.time_to) == (None, None)
    assert [(c.field, c.title, c.kind, c.index) for c in audit.controls] == [
        ("event.action", "Action", "optionsList", "logs-*"), ("event.outcome", "Outcome", "optionsList", "logs-*"),
        ("user.email", "Actor", "optionsList", "logs-*")]
    assert [(c.field, c.title) for c in http.controls] == [("cloudflare.logpull.cache.status", "Cache status")]
    kinds = {p.index: (p.type, p.visualization) for p in audit.panels}
    assert kinds["p-markdown"] == ("visualization", None) and kinds["p-actions"] == ("lens", "lnsPie")
    assert audit.panels[0].index == "p-markdown"  # panels in reading order (top to bottom, left to right)
    assert audit.panel("p-markdown").markdown.startswith("**Audit** events.")
    assert audit.panel("p-links").links == [
        {"label": "HTTP traffic", "dashboard_id": "intpkg-test-http-dashboard"},
        {"label": "[Test] Audit", "dashboard_id": "intpkg-test-audit-dashboard"}]  # an empty label: the title
    assert audit.panel("p-search").search_id == "intpkg-test-audit-search"
    assert audit.panel("p-events").grid == {"x": 8, "y": 0, "w": 8, "h": 6}
    # the encoded dashboard's Lens panels carry no references of their own: the dashboard's resolve them
    assert "references" not in http.panel("h-cache").attributes
    assert http.panel("h-cache").layer_indices == {"lh-cache": "logs-*"}
    for dashboard in dashboards.values():
        for panel in dashboard.panels:
            if panel.type == "lens":
                assert panel_request(panel, start=START, end=END), panel.title


def test_saved_searches_load() -> None:
    (search,) = load_searches(FIXTURES).values()
    assert (search.id, search.title, search.index) == ("intpkg-test-audit-search", "Latest audit events", "logs-*")
    assert search.columns == ["event.action", "event.outcome", "user.email", "source.ip"]
    assert search.sort == [["@timestamp", "desc"]]
    assert search.filters[0]["meta"]["params"] == {"query": "cloudflare.audit"}


def test_by_reference_panels_and_ad_hoc_data_views(tmp_path) -> None:
    lens_id = "lens-by-ref"
    panel = lens_panel({"m": count()}, ["m"], vis_type="lnsMetric",
                       visualization={"layerId": "L1", "layerType": "data", "metricAccessor": "m"})
    attributes = {k: v for k, v in panel.attributes.items() if k != "references"}
    attributes["title"] = "Stored Lens"
    attributes["state"]["adHocDataViews"] = {"adhoc-1": {"title": "logs-cloudflare.audit-*",
                                                         "timeFieldName": "@timestamp"}}
    (tmp_path / "kibana/lens").mkdir(parents=True)
    (tmp_path / "kibana/lens" / f"{lens_id}.json").write_text(json.dumps({
        "id": lens_id, "type": "lens", "attributes": attributes,
        "references": [{"id": "adhoc-1", "name": "indexpattern-datasource-layer-L1", "type": "index-pattern"}]}))
    (tmp_path / "kibana/dashboard").mkdir(parents=True)
    path = tmp_path / "kibana/dashboard/d.json"
    path.write_text(json.dumps({"id": "d", "type": "dashboard", "attributes": {
        "title": "By reference", "panelsJSON": json.dumps([{
            "type": "lens", "panelIndex": "1", "gridData": {"x": 0, "y": 0, "w": 10, "h": 5, "i": "1"},
            "panelRefName": "panel_1", "embeddableConfig": {}}])},
        "references": [{"id": lens_id, "name": "1:panel_1", "type": "lens"}]}))
    (loaded,) = load_dashboard(path).panels
    assert (loaded.title, loaded.visualization) == ("Stored Lens", "lnsMetric")
    assert loaded.layer_indices == {"L1": "logs-cloudflare.audit-*"}


def test_unreadable_saved_objects_name_the_file(tmp_path) -> None:
    folder = tmp_path / "kibana/dashboard"
    folder.mkdir(parents=True)
    (folder / "bad.json").write_text(json.dumps({"id": "bad", "attributes": {"title": "Bad", "panelsJSON": "[{"}}))
    with pytest.raises(SavedObjectError, match=r"bad\.json: attributes\.panelsJSON is not valid JSON"):
        load_dashboards(tmp_path)
    (folder / "bad.json").write_text("{not json")
    with pytest.raises(SavedObjectError, match=r"bad\.json"):
        load_dashboards(tmp_path)
    (folder / "bad.json").write_text("[]")
    with pytest.raises(SavedObjectError, match="not a saved object"):
        load_dashboards(tmp_path)
    assert load_dashboards(tmp_path / "nothing-here") == [] and load_searches(tmp_path) == {}
