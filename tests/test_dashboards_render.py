"""Dashboard panels rendered from the session's real engine.

Raw audit v2 and Logpull records (the pipeline tests' inputs) go through the installed package's
pipelines into data streams of a namespace of this module's own, carrying `data_stream.*` as the agent
sets it. Every render adds a filter on that namespace, so other tests' documents under `logs-*` do not
count. Expected figures come from the pipeline tests' expected documents.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from intpkg.assets.install import install_package
from intpkg.dashboards.filters import phrase_filter
from intpkg.dashboards.kql import KqlError
from intpkg.dashboards.lens import UnsupportedPanel
from intpkg.dashboards.render import RenderError, control_options, render_dashboard, render_panel
from intpkg.dashboards.saved_objects import Dashboard, load_dashboards
from intpkg.stack.client import SearchClient

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures/dashboards"
AUDIT_CASES = ["test-audit-v2.log"]
LOGPULL_CASES = ["test-logpull-waf.log", "test-logpull-unix.log", "test-logpull-rfc3339.log"]
START, END = "2025-03-14T09:00:00Z", "2025-03-14T12:00:00Z"


def cases(stream: str, names: list[str]) -> tuple[list[str], list[dict]]:
    folder = REPO / "data_stream" / stream / "_dev/test/pipeline"
    raw = [line for n in names for line in (folder / n).read_text().splitlines() if line.strip()]
    expected = [d for n in names for d in json.loads((folder / f"{n}-expected.json").read_text())["expected"]]
    assert len(raw) == len(expected)
    return raw, expected


AUDIT_RAW, AUDIT = cases("audit", AUDIT_CASES)
LOGPULL_RAW, LOGPULL = cases("logpull", LOGPULL_CASES)


def get(doc: dict, path: str):
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


@pytest.fixture(scope="module")
def namespace(search_client: SearchClient) -> Iterator[str]:
    """A namespace holding the audit and Logpull records, indexed through the package and refreshed."""
    install_package(search_client, REPO)
    name = f"dash{uuid.uuid4().hex[:10]}"
    streams = []
    for stream, raw in (("audit", AUDIT_RAW), ("logpull", LOGPULL_RAW)):
        index = f"logs-cloudflare.{stream}-{name}"
        source = {"type": "logs", "dataset": f"cloudflare.{stream}", "namespace": name}
        actions = [{"_op_type": "create", "_index": index, "_source": {"message": line, "data_stream": source}}
                   for line in raw]
        results = list(search_client.streaming_bulk(actions, raise_on_error=False))
        assert all(ok for ok, _ in results), [r for ok, r in results if not ok][:1]
        search_client.request("POST", f"/{index}/_refresh")
        streams.append(index)
    yield name
    for index in streams:
        search_client.request("DELETE", f"/_data_stream/{index}", ignore=(404,))


@pytest.fixture(scope="module")
def dashboards() -> dict[str, Dashboard]:
    return {d.id: d for d in load_dashboards(FIXTURES)}


@pytest.fixture(scope="module")
def audit(dashboards) -> Dashboard:
    return dashboards["intpkg-test-audit-dashboard"]


@pytest.fixture(scope="module")
def http(dashboards) -> Dashboard:
    return dashboards["intpkg-test-http-dashboard"]


@pytest.fixture(scope="module")
def draw(search_client, namespace):
    """render_panel over the test range, limited to this module's namespace (plus any `filters`)."""
    def draw(dashboard: Dashboard, panel_id: str, *, filters=(), **kwargs) -> dict:
        panel = kwargs.pop("panel", None) or dashboard.panel(panel_id)
        mine = [phrase_filter("data_stream.namespace", namespace), *filters]
        return render_panel(search_client, dashboard, panel, start=kwargs.pop("start", START),
                            end=kwargs.pop("end", END), filters=mine, **kwargs)
    return draw


def test_every_panel_of_every_dashboard_draws_data(search_client, namespace, dashboards) -> None:
    mine = [phrase_filter("data_stream.namespace", namespace)]
    kinds = Counter()
    for dashboard in dashboards.values():
        shapes = render_dashboard(search_client, dashboard, start=START, end=END, filters=mine)
        assert list(shapes) == [p.index for p in dashboard.panels]
        for index, shape in shapes.items():
            assert shape["kind"] != "error", shape
            assert not shape["empty"], f"{dashboard.title} / {shape['title']} drew nothing"
            assert shape["took_ms"] >= 0 and shape["panel"] == index
            kinds[shape["kind"]] += 1
    assert kinds == {"metric": 4, "xy": 5, "pie": 3, "table": 3, "markdown": 1, "links": 1}


def test_metrics(draw, audit, http) -> None:
    events = draw(audit, "p-events")
    assert (events["kind"], events["title"], events["label"], events["value"]) == ("metric", "Events", "Events",
                                                                                   len(AUDIT))
    assert draw(audit, "p-actors")["value"] == len({get(d, "user.email") for d in AUDIT} - {None})
    newest = max((d for d in AUDIT if get(d, "event.action")), key=lambda d: d["@timestamp"])
    assert draw(audit, "p-last")["value"] == newest["event"]["action"]  # last_value through top_hits
    times = sorted(get(d, "cloudflare.logpull.origin.response.time") for d in LOGPULL
                   if get(d, "cloudflare.logpull.origin.response.time") is not None)
    assert draw(http, "h-origin")["value"] == pytest.approx(times[-1], rel=0.01)


def test_xy_over_time_split_by_terms(draw, audit) -> None:
    shape = draw(audit, "p-over-time")
    assert shape["series_type"] == "bar_stacked" and shape["split_field"] == "event.outcome"
    assert shape["x"] == {"field": "@timestamp", "type": "date", "label": "@timestamp", "interval": "5m",
                          "interval_ms": 300_000}
    assert len(shape["categories"]) == 37  # empty rows from 09:00 through 12:00, 5 minutes apart
    assert shape["categories"][:2] == ["2025-03-14T09:00:00.000Z", "2025-03-14T09:05:00.000Z"]
    assert shape["category_keys"][1] - shape["category_keys"][0] == 300_000
    outcomes = Counter(d["event"]["outcome"] for d in AUDIT)
    by_name = {s["name"]: s for s in shape["series"]}
    assert {name: sum(v or 0 for v in s["data"]) for name, s in by_name.items()} == dict(outcomes)
    assert all(len(s["data"]) == len(shape["categories"]) for s in shape["series"])
    failure = by_name["failure"]
    assert (failure["field"], failure["key"]) == ("event.outcome", "failure")
    assert failure["filters"] == [phrase_filter("event.outcome", "failure")]


def test_xy_with_column_filter_and_layer_query(draw, audit) -> None:
    shape = draw(audit, "p-failed")
    (series,) = shape["series"]
    failed_logins = [d for d in AUDIT if d["event"].get("action") == "login" and d["event"]["outcome"] == "failure"]
    assert series["name"] == "Failed sign-ins" and sum(v or 0 for v in series["data"]) == len(failed_logins) == 1


def test_xy_other_series_from_the_second_request(draw, http) -> None:
    shape = draw(http, "h-cache")
    statuses = Counter(get(d, "cloudflare.logpull.cache.status") for d in LOGPULL)
    totals = {s["key"]: sum(v or 0 for v in s["data"]) for s in shape["series"]}
    shown = [k for k in totals if k not in ("__other__", "__missing__")]
    assert totals["__missing__"] == statuses[None]
    assert totals["__other__"] == sum(n for k, n in statuses.items() if k is not None and k not in shown) > 0
    assert sum(totals.values()) == len(LOGPULL)
    horizontal = draw(http, "h-actions")
    assert horizontal["series_type"] == "bar_horizontal_stacked" and horizontal["categories"] == ["GET", "POST"]


def test_pie_with_other_bucket_and_click_filters(draw, audit) -> None:
    shape = draw(audit, "p-actions")
    actions = Counter(d["event"]["action"] for d in AUDIT)
    top = sorted(actions.items(), key=lambda kv: (-kv[1], kv[0]))[:3]  # ties: the engine orders by term
    assert (shape["kind"], shape["shape"], shape["field"]) == ("pie", "donut", "event.action")
    assert [(b["key"], b["value"]) for b in shape["buckets"]] == [
        *top, ("__other__", len(AUDIT) - sum(n for _, n in top))]
    assert shape["buckets"][-1]["label"] == "Other"
    # a click on a slice narrows every panel to it; a click on Other to the rest
    first = shape["buckets"][0]
    assert first["filters"] == [phrase_filter("event.action", top[0][0])]
    assert draw(audit, "p-events", filters=first["filters"])["value"] == top[0][1]
    assert draw(audit, "p-events", filters=shape["buckets"][-1]["filters"])["value"] == \
        len(AUDIT) - sum(n for _, n in top)


def test_pie_missing_bucket_and_filters_buckets(draw, audit, http) -> None:
    countries = draw(audit, "p-countries")
    assert countries["shape"] == "treemap"
    missing = [b for b in countries["buckets"] if b["key"] == "__missing__"]
    assert missing and missing[0]["value"] == sum(1 for d in AUDIT if not get(d, "source.geo.country_iso_code"))
    assert draw(audit, "p-events", filters=missing[0]["filters"])["value"] == missing[0]["value"]
    classes = draw(http, "h-classes")
    codes = [get(d, "http.response.status_code") for d in LOGPULL]
    assert {b["key"]: b["value"] for b in classes["buckets"]} == {
        "2xx": sum(1 for c in codes if c and 200 <= c < 300), "4xx": sum(1 for c in codes if c and 400 <= c < 500),
        "5xx": sum(1 for c in codes if c and c >= 500)}
    four = next(b for b in classes["buckets"] if b["key"] == "4xx")
    narrowed = draw(http, "h-paths", filters=four["filters"])
    assert sum(row[3] for row in narrowed["rows"]) == four["value"]


def test_tables(draw, audit, http) -> None:
    shape = draw(audit, "p-top-actors")
    assert [c["label"] for c in shape["columns"]] == ["Actor", "Events", "Source IPs", "Last seen"]
    assert shape["columns"][0] == {"id": "t1", "label": "Actor", "field": "user.email", "bucket": True}
    actors = Counter(get(d, "user.email") for d in AUDIT if get(d, "user.email"))
    assert len(shape["rows"]) == len(actors) <= 5  # no Other row: every actor is shown
    assert all(actors[row[0]["key"]] == row[1] for row in shape["rows"])
    assert [row[1] for row in shape["rows"]] == sorted(actors.values(), reverse=True)  # sorted by Events
    first = shape["rows"][0]
    newest = max(d["@timestamp"] for d in AUDIT if get(d, "user.email") == first[0]["key"])
    assert first[3] == newest and shape["page_size"] == 10
    assert draw(audit, "p-events", filters=first[0]["filters"])["value"] == first[1]
    nested = draw(http, "h-paths")
    assert sum(row[3] for row in nested["rows"]) == len(LOGPULL) - sum(1 for d in LOGPULL if not get(d, "url.domain"))
    assert [row[1]["label"] for row in nested["rows"]][-1] == "Other"  # 3 paths shown of more


def test_saved_search_panel_lists_the_latest_documents(draw, audit) -> None:
    shape = draw(audit, "p-search")
    assert (shape["kind"], shape["search_id"], shape["total"]) == ("table", "intpkg-test-audit-search", len(AUDIT))
    assert [c["field"] for c in shape["columns"]] == ["@timestamp", "event.action", "event.outcome", "user.email",
                                                      "source.ip"]
    newest = sorted(AUDIT, key=lambda d: d["@timestamp"], reverse=True)[:20]
    assert [row[0] for row in shape["rows"]] == [d["@timestamp"] for d in newest]
    assert shape["rows"][0][1:] == [get(newest[0], f) for f in ("event.action", "event.outcome", "user.email",
                                                                  "source.ip")]
    assert len(shape["documents"]) == 20 and shape["documents"][0]["_index"].startswith(".ds-logs-cloudflare.audit")


def test_markdown_and_links(draw, audit) -> None:
    assert draw(audit, "p-markdown")["markdown"].startswith("**Audit** events.")
    assert draw(audit, "p-links")["links"][0] == {"label": "HTTP traffic", "dashboard_id": "intpkg-test-http-dashboard"}


def misspelled(dashboard: Dashboard, panel_id: str, column: str, field: str):
    panel = copy.deepcopy(dashboard.panel(panel_id))
    (layer,) = panel.attributes["state"]["datasourceStates"]["formBased"]["layers"].values()
    layer["columns"][column]["sourceField"] = field
    return panel


@pytest.mark.parametrize(("dashboard_id", "panel_id", "column", "field"), [
    ("intpkg-test-audit-dashboard", "p-actions", "t1", "event.actoin"),  # pie terms
    ("intpkg-test-audit-dashboard", "p-actors", "m1", "user.emial"),  # unique count: 0 values
    ("intpkg-test-audit-dashboard", "p-last", "m1", "event.actoin"),  # last value
    ("intpkg-test-audit-dashboard", "p-over-time", "t1", "event.outcom"),  # xy split
    ("intpkg-test-audit-dashboard", "p-top-actors", "t1", "user.emial"),  # table rows
    ("intpkg-test-http-dashboard", "h-paths", "m1", "http.response.byte"),  # a sum of nothing is no 0
    ("intpkg-test-http-dashboard", "h-origin", "m1", "cloudflare.logpull.origin.response.tme"),
    ("intpkg-test-http-dashboard", "h-sizes", "m1", "cloudflare.logpull.origin.response.byts"),
])
def test_a_misspelled_field_draws_an_empty_panel(draw, dashboards, dashboard_id, panel_id, column, field) -> None:
    dashboard = dashboards[dashboard_id]
    good = draw(dashboard, panel_id)
    assert not good["empty"] and not good.get("empty_columns")
    bad = draw(dashboard, panel_id, panel=misspelled(dashboard, panel_id, column, field))
    if panel_id in ("h-paths", "h-sizes"):  # another column has data: the panel draws, one column is empty
        (layer,) = dashboard.panel(panel_id).attributes["state"]["datasourceStates"]["formBased"]["layers"].values()
        assert not bad["empty"] and bad["empty_columns"] == [layer["columns"][column]["label"]]
    else:
        assert bad["empty"]


def test_a_time_range_without_data_is_empty_and_date_buckets_filter(draw, audit) -> None:
    assert draw(audit, "p-over-time", start="2025-03-15T00:00:00Z", end="2025-03-15T01:00:00Z")["empty"]
    events = draw(audit, "p-events", start="now-15m", end="now")
    assert events["value"] == 0 and events["empty"]
    shape = draw(audit, "p-over-time")
    busiest = max(range(len(shape["categories"])), key=lambda i: sum(s["data"][i] or 0 for s in shape["series"]))
    in_bucket = sum(s["data"][busiest] or 0 for s in shape["series"])
    narrowed = draw(audit, "p-events", filters=shape["category_filters"][busiest])
    assert narrowed["value"] == in_bucket > 0


def test_a_query_narrows_and_a_bad_one_names_its_position(draw, audit) -> None:
    failures = sum(1 for d in AUDIT if d["event"]["outcome"] == "failure")
    assert draw(audit, "p-events", query="event.outcome: failure")["value"] == failures
    assert draw(audit, "p-events", query={"language": "lucene", "query": "event.outcome:failure"})["value"] == failures
    assert draw(audit, "p-events", query="not event.outcome: failure and user.email: *")["value"] == \
        sum(1 for d in AUDIT if d["event"]["outcome"] != "failure" and get(d, "user.email"))
    with pytest.raises(KqlError) as bad:
        draw(audit, "p-events", query="event.outcome:(failure")
    assert bad.value.position == 22


def test_the_engine_refusing_a_search_is_a_render_error(draw, audit) -> None:
    panel = misspelled(audit, "p-actions", "t1", "user_agent.original.text")  # terms on a text field
    with pytest.raises(RenderError) as refused:
        draw(audit, "p-actions", panel=panel)
    assert "Panel 'Actions'" in str(refused.value) and refused.value.reason


def test_unsupported_panels_are_errors_in_a_whole_dashboard(search_client, namespace, audit) -> None:
    broken = copy.deepcopy(audit)
    panel = broken.panel("p-events")
    layer = panel.attributes["state"]["datasourceStates"]["formBased"]["layers"]["la-events"]
    layer["columns"]["m1"] = {"operationType": "formula", "label": "Rate", "isBucketed": False,
                              "params": {"formula": "count() / 2"}}
    with pytest.raises(UnsupportedPanel, match="'formula'"):
        render_panel(search_client, broken, panel, start=START, end=END)
    shapes = render_dashboard(search_client, broken, start=START, end=END,
                              filters=[phrase_filter("data_stream.namespace", namespace)])
    assert shapes["p-events"]["kind"] == "error" and "'formula'" in shapes["p-events"]["error"]
    assert shapes["p-actors"]["kind"] == "metric"


def test_control_options(search_client, namespace, audit, http) -> None:
    mine = [phrase_filter("data_stream.namespace", namespace)]
    action, outcome, _ = audit.controls
    options = control_options(search_client, audit, outcome, start=START, end=END, filters=mine)
    assert options == [k for k, _ in Counter(d["event"]["outcome"] for d in AUDIT).most_common()]
    audit_only = [*mine, phrase_filter("data_stream.dataset", "cloudflare.audit")]
    actions = control_options(search_client, audit, action, start=START, end=END, filters=audit_only)
    assert set(actions) == {d["event"]["action"] for d in AUDIT}
    # a value picked in this control does not narrow its own options; a value picked in another does
    picked = [*audit_only, phrase_filter("event.action", "login")]
    assert control_options(search_client, audit, action, start=START, end=END, filters=picked) == actions
    logins = Counter(d["event"]["outcome"] for d in AUDIT if d["event"]["action"] == "login")
    assert control_options(search_client, audit, outcome, start=START, end=END, filters=picked) == \
        [k for k, _ in logins.most_common()]
    (cache,) = http.controls
    statuses = control_options(search_client, http, cache, start=START, end=END, filters=mine, size=2)
    assert len(statuses) == 2 and statuses[0] == "hit"
