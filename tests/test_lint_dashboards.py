"""Lint of the package's dashboards: fields against the data streams, operations against field types, names that
resolve, the panel grid; on the real dashboards (source and built) and on the small ones of tests/fixtures/lint.

Each mutation test fails without its rule: the unmutated copy lints clean (first test), so every problem
asserted comes from the mutation.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from fixtures.lint.pkgcopy import copy_real_package
from intpkg.builder import build_package
from intpkg.packagespec import errors, lint_package
from intpkg.packagespec.rules.dashboards import kql_fields
from intpkg.yamlpos import load_file

AUDIT = "[Cloudflare] Audit overview"
HTTP = "[Cloudflare] HTTP overview"
SECURITY = "[Cloudflare] HTTP security"
SEARCH = "[Cloudflare] Latest audit events"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return copy_real_package(tmp_path_factory.mktemp("dash") / "pkg")


@pytest.fixture
def pkg(base, tmp_path) -> Path:
    root = tmp_path / "pkg"
    shutil.copytree(base, root)
    return root


def object_file(root: Path, title: str) -> Path:
    for path in sorted((root / "kibana").glob("*/*.json")):
        if json.loads(path.read_text(encoding="utf-8"))["attributes"].get("title") == title:
            return path
    raise AssertionError(f"no saved object titled {title!r}")


def change(root: Path, title: str, mutate: Callable[[dict], None]) -> str:
    """Mutate the saved object titled `title` (stored as the repository stores it); its package path."""
    path = object_file(root, title)
    data = json.loads(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
    return path.relative_to(root).as_posix()


def panel(data: dict, title: str) -> dict:
    return next(p for p in data["attributes"]["panelsJSON"] if p.get("title") == title)


def layer(data: dict, title: str) -> dict:
    layers = panel(data, title)["embeddableConfig"]["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    return next(iter(layers.values()))


def column(data: dict, title: str, source_field: str) -> dict:
    return next(c for c in layer(data, title)["columns"].values() if c.get("sourceField") == source_field)


def problems(root: Path, ecs, mode: str = "source") -> list:
    return [p for p in lint_package(root, ecs=ecs, mode=mode) if p.code.startswith(("KIB", "SCH009"))]


def line_of_node(root: Path, rel: str, wanted: Callable[[object], bool], key: str) -> int:
    """Line of `key` in the one mapping of the file for which `wanted(mapping)` holds."""
    loaded = load_file(root / rel)
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            if wanted(node):
                found.append(path + (key,))
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (i,))
    walk(loaded.data, ())
    assert len(found) == 1, found
    return loaded.pos(found[0])[0]


def line_of(root: Path, rel: str, text: str, nth: int = 1) -> int:
    content = (root / rel).read_text(encoding="utf-8")
    at = -1
    for _ in range(nth):
        at = content.index(text, at + 1)
    return content[:at].count("\n") + 1


def test_the_packages_dashboards_lint_clean(base, ecs):
    assert problems(base, ecs) == []
    titles = {json.loads(p.read_text())["attributes"]["title"]
              for folder in ("dashboard", "search") for p in (base / "kibana" / folder).glob("*.json")}
    assert titles == {AUDIT, HTTP, SECURITY, SEARCH}  # (security rules are named, not titled)


def test_misspelled_source_field_names_dashboard_panel_column_and_the_field_meant(pkg, ecs):
    rel = change(pkg, AUDIT, lambda d: column(d, "Top actors", "user.email").update(sourceField="user.emial"))
    found = problems(pkg, ecs)
    assert [(p.code, p.path, p.line) for p in found] == [("KIB004", rel, line_of(pkg, rel, '"user.emial"'))]
    assert found[0].message == ("dashboard '[Cloudflare] Audit overview' panel 'Top actors': column 'Actor': field "
                                "'user.emial' is not defined in data stream 'audit' (did you mean 'user.email'?)")


def test_a_field_of_the_other_data_stream_is_not_defined_for_a_filtered_layer(pkg, ecs):
    def mutate(d):
        column(d, "Outcome", "event.outcome")["sourceField"] = "cloudflare.logpull.cache.status"
    rel = change(pkg, AUDIT, mutate)
    found = problems(pkg, ecs)
    assert [(p.code, p.line) for p in found] == [("KIB004", line_of(pkg, rel, '"cloudflare.logpull.cache.status"'))]
    assert "not defined in data stream 'audit'" in found[0].message

    def unfilter_layer(d):  # the dashboard's own filter still restricts the layer to audit
        panel(d, "Outcome")["embeddableConfig"]["attributes"]["state"]["filters"] = []
    change(pkg, AUDIT, unfilter_layer)
    assert [p.code for p in problems(pkg, ecs)] == ["KIB004"]

    def unfilter_dashboard(d):  # filtered to no data stream, a layer may use the field of any
        d["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]["filter"] = []
    change(pkg, AUDIT, unfilter_dashboard)
    assert problems(pkg, ecs) == []


@pytest.mark.parametrize(("title", "panel_title", "field", "operation", "wrong", "message"), [
    (HTTP, "Top hosts", "http.response.bytes", "sum", "url.domain",
     "column 'Bytes served': sum needs a numeric field, but 'url.domain' is keyword"),
    (AUDIT, "Audit events over time by action", "@timestamp", "date_histogram", "event.created",
     None),  # a date: accepted
    (AUDIT, "Audit events over time by action", "@timestamp", "date_histogram", "event.action",
     "column '@timestamp': date_histogram needs a date field, but 'event.action' is keyword"),
    (AUDIT, "Outcome", "event.outcome", "terms", "message",
     "column 'Outcome': terms needs a keyword, numeric, ip, boolean or date field, but 'message' is match_only_text"),
    (SECURITY, "Top blocked user agents", "user_agent.original", "terms", "user_agent.original.text",
     "terms needs a keyword, numeric, ip, boolean or date field, but 'user_agent.original.text' is match_only_text"),
    (HTTP, "Origin response time", "cloudflare.logpull.origin.response.time", "percentile", "source.ip",
     "percentile needs a numeric field, but 'source.ip' is ip"),
])
def test_operation_on_a_field_of_a_type_it_does_not_take(pkg, ecs, title, panel_title, field, operation, wrong,
                                                         message):
    def mutate(d):
        col = next(c for c in layer(d, panel_title)["columns"].values()
                   if c.get("sourceField") == field and c["operationType"] == operation)
        col["sourceField"] = wrong
    rel = change(pkg, title, mutate)
    found = problems(pkg, ecs)
    if message is None:
        assert found == []
        return
    line = line_of_node(pkg, rel, lambda n: n.get("sourceField") == wrong and n.get("operationType") == operation,
                        "sourceField")
    assert [(p.code, p.path, p.line) for p in found] == [("KIB005", rel, line)]
    assert found[0].message.startswith(f"dashboard {title!r} panel {panel_title!r}: ")
    assert found[0].message.endswith(message)


def test_fields_of_queries_filters_controls_and_search_columns(pkg, ecs):
    def audit(d):
        state = panel(d, "Failed sign-ins over time")["embeddableConfig"]["attributes"]["state"]
        state["query"]["query"] = state["query"]["query"].replace("event.outcome:failure", "event.outcom:failure")
        control = next(iter(d["attributes"]["controlGroupInput"]["panelsJSON"].values()))
        control["explicitInput"]["fieldName"] = "user.mail"
    def http(d):
        classes = next(c for c in layer(d, "Edge status classes")["columns"].values()
                       if c["operationType"] == "filters")
        classes["params"]["filters"][0]["input"]["query"] = "http.response.status >= 100"
        d["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]["filter"][0]["meta"]["key"] = "data_stream.set"
    def search(d):
        d["attributes"]["columns"][2] = "user.emails"
    rels = [change(pkg, AUDIT, audit), change(pkg, HTTP, http), change(pkg, SEARCH, search)]
    found = {(p.path, p.line, p.message.split(": field ")[-1]) for p in problems(pkg, ecs) if p.code == "KIB004"}
    assert found == {
        (rels[0], line_of(pkg, rels[0], "event.outcom:failure"),
         "'event.outcom' is not defined in data stream 'audit' (did you mean 'event.outcome'?)"),
        (rels[0], line_of(pkg, rels[0], '"user.mail"'),
         "'user.mail' is not defined in data stream 'audit' (did you mean 'user.email'?)"),
        (rels[1], line_of(pkg, rels[1], "http.response.status >= 100"),
         "'http.response.status' is not defined in data stream 'logpull' (did you mean 'http.response.status_code'?)"),
        (rels[1], line_of(pkg, rels[1], '"data_stream.set"'),
         "'data_stream.set' is not defined in data stream 'logpull' (did you mean 'data_stream.dataset'?)"),
        (rels[2], line_of(pkg, rels[2], '"user.emails"'),
         "'user.emails' is not defined in data stream 'audit' (did you mean 'user.email'?)"),
    }


def test_dangling_references(pkg, ecs):
    def audit(d):
        links = panel(d, "Cloudflare dashboards")["embeddableConfig"]["attributes"]["links"]
        links[1]["destinationRefName"] = "link_gone_dashboard"
        search = next(r for r in d["references"] if r["type"] == "search")
        search["id"] = "cloudflare-no-such-search"
        layer_ref = next(r for r in panel(d, "Outcome")["embeddableConfig"]["attributes"]["references"]
                         if r["name"].startswith("indexpattern-datasource-layer-"))
        layer_ref["name"] = "indexpattern-datasource-layer-gone"
    rel = change(pkg, AUDIT, audit)
    found = sorted((p.code, p.line) for p in problems(pkg, ecs))
    outcome_layer = next(iter(panel(json.loads((pkg / rel).read_text()), "Outcome")["embeddableConfig"]["attributes"]
                              ["state"]["datasourceStates"]["formBased"]["layers"]))
    assert found == sorted([
        ("KIB006", line_of(pkg, rel, '"link_gone_dashboard"')),
        ("KIB002", line_of(pkg, rel, '"cloudflare-no-such-search"')),
        ("KIB006", line_of(pkg, rel, f'"{outcome_layer}": {{')),
    ])


def test_references_resolve_to_objects_of_their_type(pkg, ecs):
    def audit(d):
        link = next(r for r in d["references"] if r["type"] == "dashboard" and r["id"] != d["id"])
        link["type"] = "search"
    rel = change(pkg, AUDIT, audit)
    data = json.loads((pkg / rel).read_text())
    link = next(r for r in data["references"] if r["type"] == "search" and "link_" in r["name"])
    target = json.loads(object_file(pkg, HTTP).read_text())["id"]
    found = {(p.code, p.line, p.message) for p in problems(pkg, ecs)}
    line = line_of_node(pkg, rel, lambda n: n.get("name") == link["name"], "type")
    assert found == {
        ("KIB002", line, f"reference {link['name']!r} points to search {target!r}, but the package holds "
                         f"{target!r} as a dashboard"),
        ("KIB006", line, f"dashboard {AUDIT!r} panel 'Cloudflare dashboards': link 'HTTP overview' references a "
                         "'search', not a dashboard"),
    }


def test_panel_grid(pkg, ecs):
    def http(d):
        panels = d["attributes"]["panelsJSON"]
        panels[2]["panelIndex"] = panels[1]["panelIndex"]
        panels[4]["gridData"]["x"] = 30  # 30 columns wide: past the 48 of the grid
        panels[5]["gridData"]["y"] = 20  # 14 rows high: into the panel below
    rel = change(pkg, HTTP, http)
    panels = json.loads((pkg / rel).read_text())["attributes"]["panelsJSON"]
    found = {p.message.split(": ", 1)[1] for p in problems(pkg, ecs) if p.code == "KIB007"}
    assert found == {
        f"panelIndex {panels[1]['panelIndex']!r} is not unique (also panelsJSON[1])",
        f"gridData.i {panels[2]['gridData']['i']!r} differs from panelIndex {panels[1]['panelIndex']!r}",
        "gridData x 30 + w 30 ends past the 48 columns of the grid",
        f"overlaps panel {panels[5]['title']!r} (panelsJSON[5])",
    }


def test_import_needs_title_references_and_migration_version(pkg, ecs):
    def audit(d):
        del d["coreMigrationVersion"]
        del d["attributes"]["title"]
    def search(d):
        del d["references"]
    rels = [change(pkg, AUDIT, audit), change(pkg, SEARCH, search)]
    found = {(p.code, p.path, p.message) for p in problems(pkg, ecs) if p.code == "SCH009"}
    assert found == {("SCH009", rels[0], "'coreMigrationVersion' is a required property"),
                     ("SCH009", rels[0], "attributes: 'title' is a required property"),
                     ("SCH009", rels[1], "'references' is a required property")}


def test_the_built_package_is_checked_inside_its_encoded_json(pkg, ecs, tmp_path):
    folder = build_package(pkg, tmp_path / "out", ecs=ecs, make_zip=False, update_source_docs=False).folder
    assert errors(lint_package(folder, ecs=ecs, mode="build")) == []
    path = object_file(folder, AUDIT)
    data = json.loads(path.read_text())
    assert isinstance(data["attributes"]["panelsJSON"], str)
    data["attributes"]["panelsJSON"] = data["attributes"]["panelsJSON"].replace('"user.email"', '"user.emial"')
    path.write_text(json.dumps(data, indent=2))
    found = [p for p in problems(folder, ecs, mode="build") if p.code == "KIB004"]
    rel = path.relative_to(folder).as_posix()
    assert {(p.path, p.line) for p in found} == {(rel, line_of(folder, rel, '"panelsJSON"', nth=2))}
    assert {p.message.split(": ")[0] for p in found} >= {f"dashboard {AUDIT!r} panel 'Top actors'"}


def test_an_encoded_attribute_that_is_not_json(pkg, ecs, tmp_path):
    folder = build_package(pkg, tmp_path / "out", ecs=ecs, make_zip=False, update_source_docs=False).folder
    path = object_file(folder, SEARCH)
    data = json.loads(path.read_text())
    data["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"] = '{"query": '
    path.write_text(json.dumps(data, indent=2))
    rel = path.relative_to(folder).as_posix()
    found = [(p.code, p.path, p.line, p.message) for p in problems(folder, ecs, mode="build")]
    assert found == [("SCH009", rel, line_of(folder, rel, '"searchSourceJSON"'),
                      "attributes.kibanaSavedObjectMeta.searchSourceJSON: a string that is not JSON (an encoded "
                      "attribute holds the JSON text of an object or a list)")]


def test_controls_need_a_data_view_and_references_name_what_the_dashboard_has(pkg, ecs):
    def audit(d):
        control_id = next(iter(d["attributes"]["controlGroupInput"]["panelsJSON"]))
        ref = next(r for r in d["references"] if r["name"] == f"controlGroup_{control_id}:optionsListDataView")
        ref["name"] = "controlGroup_gone:optionsListDataView"
    rel = change(pkg, AUDIT, audit)
    found = {(p.code, p.line, p.message.split(": ", 1)[1]) for p in problems(pkg, ecs)}
    control_id = next(iter(json.loads((pkg / rel).read_text())["attributes"]["controlGroupInput"]["panelsJSON"]))
    assert found == {
        ("KIB006", line_of(pkg, rel, f'"{control_id}": {{'),
         f"no data view: neither explicitInput.dataViewId nor a reference named "
         f"'controlGroup_{control_id}:optionsListDataView'"),
        ("KIB006", line_of(pkg, rel, '"controlGroup_gone:optionsListDataView"'),
         "reference 'controlGroup_gone:optionsListDataView' names control 'gone', which the dashboard does not have"),
    }


@pytest.mark.parametrize(("query", "fields"), [
    ("", []),
    ("event.action:login", ["event.action"]),
    ('user.email:"a b" and not event.outcome:(success or unknown)', ["user.email", "event.outcome"]),
    ("http.response.status_code >= 200 and http.response.status_code<300", ["http.response.status_code"] * 2),
    ("(a.b:* or c:1) and d:(x or (y and z))", ["a.b", "c", "d"]),
    ("free text and more", []),
    ("labels.*:x or url\\:path:y", ["url:path"]),
])
def test_kql_fields(query, fields):
    assert kql_fields(query) == fields


def test_the_dashboards_use_what_the_ui_renders(base):
    """Every Lens layer is filtered to its data stream and uses the operations, charts and panel types the
    integrations UI draws."""
    operations = {"terms", "date_histogram", "count", "unique_count", "sum", "average", "min", "max", "median",
                  "percentile", "last_value", "filters"}
    charts = {"lnsXY", "lnsPie", "lnsDatatable", "lnsMetric"}
    for path in sorted((base / "kibana" / "dashboard").glob("*.json")):
        data = json.loads(path.read_text())
        assert {p["type"] for p in data["attributes"]["panelsJSON"]} <= {"lens", "links", "search"}
        for p in data["attributes"]["panelsJSON"]:
            if p["type"] != "lens":
                continue
            attributes = p["embeddableConfig"]["attributes"]
            assert attributes["visualizationType"] in charts, p["title"]
            filters = attributes["state"]["filters"]
            assert [f["query"]["match_phrase"] for f in filters] in (
                [{"data_stream.dataset": "cloudflare.audit"}], [{"data_stream.dataset": "cloudflare.logpull"}]), \
                p["title"]
            assert attributes["state"]["query"]["language"] == "kuery"
            for col in next(iter(attributes["state"]["datasourceStates"]["formBased"]["layers"].values()))[
                    "columns"].values():
                assert col["operationType"] in operations, (p["title"], col["operationType"])
