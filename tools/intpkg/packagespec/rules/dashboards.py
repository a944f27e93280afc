"""Kibana dashboards and saved searches against the package's data streams.

* KIB004: every field a dashboard uses (Lens column `sourceField`, layer and dashboard filters, KQL queries,
  control `fieldName`, saved-search columns) is defined in the fields of the data stream the layer (or the
  dashboard, or the search) is filtered to by `data_stream.dataset`, else in some data stream of the package;
* KIB005: a Lens operation gets a field of a type it accepts (terms on keyword, date histogram on date, sums on
  numbers, ...);
* KIB006: names resolve inside the object: each Lens layer has its `indexpattern-datasource-layer-<id>` reference,
  filters their `index` reference, panels their `panelRefName`, links their `destinationRefName`, controls their
  data view, columns and chart accessors the columns of their layer, and each dashboard-level reference that
  names a panel or control names one the dashboard has;
* KIB007: the panel grid: unique `panelIndex` (= `gridData.i`), panels within the 48 columns, none overlapping.

Attributes Kibana stores as JSON strings may be decoded (source) or encoded (built package); both are read, and
a problem inside an encoded one is reported at the string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from intpkg.fields import FieldSet
from intpkg.fields.fieldset import FLOAT_TYPES, INTEGER_TYPES
from intpkg.packagespec.problems import Problem
from intpkg.packagespec.rules.context import LintContext, items

GRID_COLUMNS = 48
RECORDS = "___records___"
META_FIELDS = {"_id", "_index", "_score", "_source", "_ignored"}

STRING = frozenset({"keyword", "constant_keyword", "wildcard", "version", "counted_keyword"})
NUMBER = frozenset(INTEGER_TYPES | FLOAT_TYPES)
DATE = frozenset({"date", "date_nanos"})
AGGREGATABLE = STRING | NUMBER | DATE | {"ip", "boolean"}

#: Lens operation -> field types it accepts (Kibana's form-based operations); operations absent here take no field
ACCEPTS: dict[str, tuple[frozenset, str]] = {
    "terms": (AGGREGATABLE, "a keyword, numeric, ip, boolean or date field"),
    "date_histogram": (DATE, "a date field"),
    "range": (NUMBER, "a numeric field"),
    "sum": (NUMBER, "a numeric field"),
    "average": (NUMBER, "a numeric field"),
    "median": (NUMBER, "a numeric field"),
    "percentile": (NUMBER, "a numeric field"),
    "percentile_rank": (NUMBER, "a numeric field"),
    "standard_deviation": (NUMBER, "a numeric field"),
    "min": (NUMBER | DATE, "a numeric or date field"),
    "max": (NUMBER | DATE, "a numeric or date field"),
    "unique_count": (AGGREGATABLE, "an aggregatable field (not text)"),
    "last_value": (AGGREGATABLE | {"geo_point"}, "a field with doc values (not text)"),
    "count": (AGGREGATABLE, "an aggregatable field (not text), or ___records___"),
}
CONTROL_ACCEPTS: dict[str, tuple[frozenset, str]] = {
    "optionsListControl": (AGGREGATABLE, "a keyword, numeric, ip, boolean or date field"),
    "rangeSliderControl": (NUMBER, "a numeric field"),
}
#: keys of a Lens visualization that name columns of its layer
ACCESSOR_KEYS = {"xAccessor", "splitAccessor", "accessors", "primaryGroups", "secondaryGroups", "metrics",
                 "metric", "columnId", "metricAccessor", "secondaryMetricAccessor", "maxAccessor",
                 "breakdownByAccessor", "accessor", "forAccessor", "valueAccessor", "sizeAccessor",
                 "minAccessor", "goalAccessor", "splitRowAccessor", "splitColumnAccessor"}
REF_TYPE_OF_PANEL = {"search": "search", "visualization": "visualization", "lens": "lens", "map": "map",
                     "links": "links"}


# ----------------------------------------------------------------------------------------- KQL fields

_KQL_TOKEN = re.compile(r'\s+|"(?:[^"\\]|\\.)*"|[(){}]|<=|>=|<|>|:|(?:[^\s(){}:<>"\\]|\\.)+')
_KQL_OPERATORS = {"and", "or", "not"}


def kql_fields(query: str) -> list[str]:
    """Field names of a KQL query (`field:value`, `field:(a or b)`, `field >= 3`, `field:*`), in order."""
    tokens = [t for t in _KQL_TOKEN.findall(query) if t.strip()]
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if following in (":", "<", "<=", ">", ">=") and token not in ("(", ")", "{", "}") and token[0] != '"' \
                and token.lower() not in _KQL_OPERATORS:
            name = token.replace("\\", "")
            if "*" not in name:
                out.append(name)
            i += 2
            if i < len(tokens) and tokens[i] in ("(", "{"):  # a value group field:(a or b), nested field:{...}
                opening, closing, depth = tokens[i], ")" if tokens[i] == "(" else "}", 0
                while i < len(tokens):
                    if tokens[i] == opening:
                        depth += 1
                    elif tokens[i] == closing:
                        depth -= 1
                        if depth == 0:
                            break
                    i += 1
            i += 1
            continue
        i += 1
    return out


# --------------------------------------------------------------------------------------- helpers

def decoded(value: Any) -> Any:
    """A JSON attribute as data: objects as they are, strings parsed (None when they are not JSON)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


@dataclass
class Scope:
    """What a field must be defined in: the data streams named (by dataset filters), else any of the package."""

    streams: list[str]
    filtered: bool

    def describe(self) -> str:
        if self.filtered:
            return "data stream " + " or ".join(repr(s) for s in self.streams)
        return "any data stream of the package"


@dataclass
class ObjectCheck:
    """The checks of one saved object, reporting at the node each problem is about."""

    ctx: LintContext
    rel: str
    data: dict
    datasets: dict[str, str]
    problems: list[Problem] = field(default_factory=list)

    @property
    def label(self) -> str:
        title = _dict(self.data.get("attributes")).get("title")
        kind = self.data.get("type", "object")
        return f"{kind} {title!r}" if isinstance(title, str) else f"{kind} {self.data.get('id')!r}"

    def report(self, path: tuple, code: str, message: str, key: bool = False) -> None:
        self.problems.append(self.ctx.pkg.problem(self.rel, path, code, message, key=key))

    def embedded(self, value: Any, path: tuple) -> Any:
        """A JSON attribute as data (decoded when encoded); a string that is not JSON is reported."""
        data = decoded(value)
        if data is None and isinstance(value, str):
            self.report(path, "SCH009", f"{'.'.join(map(str, path))}: a string that is not JSON (an encoded "
                                        "attribute holds the JSON text of an object or a list)")
        return data

    # -- data streams and fields ---------------------------------------------------------------

    def scope_of(self, filters: Any, path: tuple, outer: Scope | None = None) -> Scope:
        """The data streams that `filters` restrict to (phrase/phrases on data_stream.dataset), within `outer`."""
        named: list[str] | None = None
        for i, flt in enumerate(items(filters)):
            for dataset, where in _dataset_values(flt, path + (i,)):
                if dataset not in self.datasets:
                    self.report(where, "KIB004", f"{self.label}: filtered to dataset {dataset!r}, which no data "
                                                 f"stream of the package has (datasets: "
                                                 f"{', '.join(sorted(self.datasets)) or 'none'})")
                    continue
                named = (named or []) + [self.datasets[dataset]]
        if named:
            if outer is not None and outer.filtered:
                named = [s for s in named if s in outer.streams] or named
            return Scope(sorted(set(named)), True)
        return outer or Scope(self.ctx.pkg.data_streams, False)

    def field_type(self, name: str, scope: Scope) -> tuple[bool, str | None]:
        """(defined, type) of field `name` in the first data stream of `scope` that defines it."""
        if name in META_FIELDS:
            return True, None
        for ds in scope.streams:
            found, ftype = _lookup(self.ctx.fieldset(ds), name)
            if found:
                return True, ftype
        return False, None

    def check_field(self, name: Any, scope: Scope, path: tuple, what: str,
                    accepts: tuple[frozenset, str] | None = None, op: str = "") -> None:
        if not isinstance(name, str) or not name:
            return
        defined, ftype = self.field_type(name, scope)
        if not defined:
            hint = _closest(name, self._names(scope))
            self.report(path, "KIB004", f"{what}: field {name!r} is not defined in {scope.describe()}"
                                        + (f" (did you mean {hint!r}?)" if hint else ""))
            return
        if accepts is not None and ftype is not None and ftype not in accepts[0]:
            self.report(path, "KIB005", f"{what}: {op} needs {accepts[1]}, but {name!r} is {ftype}")

    def _names(self, scope: Scope) -> set[str]:
        names: set[str] = set()
        for ds in scope.streams:
            names |= set(self.ctx.fieldset(ds).flat)
        return names

    def check_query(self, query: Any, scope: Scope, path: tuple, what: str) -> None:
        if not isinstance(query, dict) or query.get("language") != "kuery" or not isinstance(query.get("query"), str):
            return
        for name in kql_fields(query["query"]):
            self.check_field(name, scope, path + ("query",), f"{what}: query")

    def check_filters(self, filters: Any, scope: Scope, path: tuple, what: str) -> None:
        for i, flt in enumerate(items(filters)):
            for name, where in _filter_fields(flt, path + (i,)):
                self.check_field(name, scope, where, f"{what}: filter")


def _dataset_values(flt: Any, path: tuple) -> Iterator[tuple[str, tuple]]:
    """Datasets a (non-negated, enabled) filter restricts to, with the node that names each."""
    meta = _dict(_dict(flt).get("meta"))
    if meta.get("disabled") or meta.get("negate"):
        return
    if meta.get("type") == "combined" and meta.get("relation", "AND") == "AND":
        for i, sub in enumerate(items(meta.get("params"))):
            yield from _dataset_values(sub, path + ("meta", "params", i))
        return
    query = _dict(_dict(flt).get("query"))
    phrase = _dict(query.get("match_phrase")).get("data_stream.dataset")
    if isinstance(phrase, dict):
        phrase = phrase.get("query")
    if isinstance(phrase, str):
        yield phrase, path + ("query", "match_phrase", "data_stream.dataset")
        return
    if meta.get("key") == "data_stream.dataset":
        params = meta.get("params")
        if meta.get("type") == "phrase" and isinstance(_dict(params).get("query"), str):
            yield params["query"], path + ("meta", "params", "query")
        elif meta.get("type") == "phrases":
            for i, value in enumerate(items(params)):
                if isinstance(value, str):
                    yield value, path + ("meta", "params", i)


_DSL_FIELD_KEYS = ("match_phrase", "match", "term", "terms", "range", "prefix", "wildcard", "regexp", "fuzzy")


def _filter_fields(flt: Any, path: tuple) -> Iterator[tuple[str, tuple]]:
    """Fields a filter tests: its meta.key and the fields of its query DSL."""
    flt = _dict(flt)
    meta = _dict(flt.get("meta"))
    if meta.get("type") == "combined":
        for i, sub in enumerate(items(meta.get("params"))):
            yield from _filter_fields(sub, path + ("meta", "params", i))
        return
    if isinstance(meta.get("key"), str) and meta.get("type") not in ("custom", "query_string", "spatial_filter"):
        yield meta["key"], path + ("meta", "key")
    yield from _dsl_fields(flt.get("query"), path + ("query",))


def _dsl_fields(node: Any, path: tuple) -> Iterator[tuple[str, tuple]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _DSL_FIELD_KEYS and isinstance(value, dict):
                for name in value:
                    yield name, path + (key, name)
            elif key == "exists" and isinstance(_dict(value).get("field"), str):
                yield value["field"], path + (key, "field")
            else:
                yield from _dsl_fields(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _dsl_fields(value, path + (i,))


def _lookup(fieldset: FieldSet, name: str) -> tuple[bool, str | None]:
    """(defined, type): leaves, ECS multi-fields (`x.text`) and keys under a flattened field (keyword)."""
    definition = fieldset.find(name)
    if definition is not None:
        return True, definition.get("type")
    parent, _, leaf = name.rpartition(".")
    parent_def = fieldset.find(parent) if parent else None
    if parent_def is not None:
        for multi in items(parent_def.get("multi_fields")):
            if isinstance(multi, dict) and multi.get("name") == leaf:
                return True, multi.get("type")
    parts = name.split(".")
    for n in range(len(parts) - 1, 0, -1):
        ancestor = fieldset.find(".".join(parts[:n]))
        if ancestor is not None and ancestor.get("type") == "flattened":
            return True, "keyword"
    return False, None


def _closest(name: str, names: set[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.8)
    return match[0] if match else None


def _references(data: dict) -> dict[str, tuple[int, dict]]:
    out: dict[str, tuple[int, dict]] = {}
    for i, ref in enumerate(items(data.get("references"))):
        if isinstance(ref, dict) and isinstance(ref.get("name"), str):
            out.setdefault(ref["name"], (i, ref))
    return out


# ------------------------------------------------------------------------------------ dashboards

def _check_search_source(check: ObjectCheck, attrs: dict, refs: Any) -> Any:
    """The object's own query and filters (`kibanaSavedObjectMeta.searchSourceJSON`); the data scope they set."""
    meta_path = ("attributes", "kibanaSavedObjectMeta", "searchSourceJSON")
    source = _dict(check.embedded(_dict(attrs.get("kibanaSavedObjectMeta")).get("searchSourceJSON"), meta_path))
    scope = check.scope_of(source.get("filter"), meta_path + ("filter",))
    check.check_filters(source.get("filter"), scope, meta_path + ("filter",), check.label)
    check.check_query(source.get("query"), scope, meta_path + ("query",), check.label)
    _check_index_refs(check, source, meta_path, refs)
    return scope


def check_dashboard(check: ObjectCheck) -> None:
    attrs = _dict(check.data.get("attributes"))
    refs = _references(check.data)
    scope = _check_search_source(check, attrs, refs)

    panels = check.embedded(attrs.get("panelsJSON"), ("attributes", "panelsJSON"))
    panel_indexes: dict[str, tuple] = {}
    boxes: list[tuple[tuple, str, tuple[int, int, int, int]]] = []
    for n, panel in enumerate(items(panels)):
        if not isinstance(panel, dict):
            continue
        path = ("attributes", "panelsJSON", n)
        index = panel.get("panelIndex")
        title = panel.get("title") or _dict(_dict(panel.get("embeddableConfig")).get("attributes")).get("title")
        what = f"{check.label} panel {title or index!r}"
        if isinstance(index, str):
            if index in panel_indexes:
                check.report(path + ("panelIndex",), "KIB007", f"{what}: panelIndex {index!r} is not unique "
                                                               f"(also panelsJSON[{panel_indexes[index][-1]}])")
            panel_indexes.setdefault(index, path)
        grid = _dict(panel.get("gridData"))
        if isinstance(index, str) and isinstance(grid.get("i"), str) and grid["i"] != index:
            check.report(path + ("gridData", "i"), "KIB007", f"{what}: gridData.i {grid['i']!r} differs from "
                                                             f"panelIndex {index!r}")
        box = tuple(grid.get(k) for k in ("x", "y", "w", "h"))
        if all(isinstance(v, int) and not isinstance(v, bool) for v in box):
            x, y, w, h = box
            if x + w > GRID_COLUMNS:
                check.report(path + ("gridData", "x"), "KIB007", f"{what}: gridData x {x} + w {w} ends past the "
                                                             f"{GRID_COLUMNS} columns of the grid")
            for other_path, other_what, (ox, oy, ow, oh) in boxes:
                if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                    check.report(path + ("gridData",), "KIB007", f"{what}: overlaps {other_what} "
                                                                 f"(panelsJSON[{other_path[-1]}])")
                    break
            boxes.append((path, f"panel {title or index!r}", (x, y, w, h)))
        prefix = f"{index}:" if isinstance(index, str) else ""
        _check_panel(check, panel, path, what, scope, refs, prefix)

    controls = check.embedded(_dict(attrs.get("controlGroupInput")).get("panelsJSON"),
                              ("attributes", "controlGroupInput", "panelsJSON"))
    for control_id, control in _dict(controls).items():
        path = ("attributes", "controlGroupInput", "panelsJSON", control_id)
        control = _dict(control)
        explicit = _dict(control.get("explicitInput"))
        what = f"{check.label} control {explicit.get('title') or control_id!r}"
        control_type = control.get("type") if isinstance(control.get("type"), str) else ""
        accepts = CONTROL_ACCEPTS.get(control_type)
        if accepts is not None:
            check.check_field(explicit.get("fieldName"), scope, path + ("explicitInput", "fieldName"), what,
                              accepts, control_type)
            names = [name for name in refs if name.startswith(f"controlGroup_{control_id}:")]
            if not names and not isinstance(explicit.get("dataViewId"), str):
                view = "rangeSliderDataView" if control_type == "rangeSliderControl" else "optionsListDataView"
                check.report(path, "KIB006", f"{what}: no data view: neither explicitInput.dataViewId nor a "
                                             f"reference named 'controlGroup_{control_id}:{view}'")

    for name, (i, _) in refs.items():
        owner, sep, _rest = name.partition(":")
        if sep and owner.startswith("controlGroup_") and owner[len("controlGroup_"):] not in _dict(controls):
            check.report(("references", i, "name"), "KIB006", f"{check.label}: reference {name!r} names control "
                                                              f"{owner[len('controlGroup_'):]!r}, which the "
                                                              "dashboard does not have")
        elif sep and not owner.startswith("controlGroup_") and owner not in panel_indexes and \
                isinstance(panels, list):
            check.report(("references", i, "name"), "KIB006", f"{check.label}: reference {name!r} names panel "
                                                              f"{owner!r}, which the dashboard does not have")


def _check_index_refs(check: ObjectCheck, source: dict, path: tuple, refs: dict) -> None:
    """`indexRefName` of a search source and of its filters resolve to references of the object."""
    wanted = [(source.get("indexRefName"), path + ("indexRefName",))]
    for i, flt in enumerate(items(source.get("filter"))):
        wanted.append((_dict(_dict(flt).get("meta")).get("indexRefName"), path + ("filter", i, "meta",
                                                                                  "indexRefName")))
    for name, where in wanted:
        if isinstance(name, str) and name not in refs:
            check.report(where, "KIB006", f"{check.label}: {name!r} names no reference of the object")


def _check_panel(check: ObjectCheck, panel: dict, path: tuple, what: str, scope: Scope, refs: dict,
                 prefix: str) -> None:
    kind = panel.get("type") if isinstance(panel.get("type"), str) else ""
    ref_name = panel.get("panelRefName")
    if isinstance(ref_name, str):
        name = prefix + ref_name if prefix + ref_name in refs else ref_name
        if name not in refs:
            check.report(path + ("panelRefName",), "KIB006",
                         f"{what}: panelRefName {ref_name!r} has no reference {prefix + ref_name!r}")
        elif kind in REF_TYPE_OF_PANEL and refs[name][1].get("type") != REF_TYPE_OF_PANEL[kind]:
            check.report(("references", refs[name][0], "type"), "KIB006",
                         f"{what}: a {kind} panel references a {refs[name][1].get('type')!r}, not a "
                         f"{REF_TYPE_OF_PANEL[kind]!r}")
        return
    config = _dict(panel.get("embeddableConfig"))
    attrs = config.get("attributes")
    if kind == "lens" and isinstance(attrs, dict):
        _check_lens(check, attrs, path + ("embeddableConfig", "attributes"), what, scope, refs, prefix)
    elif kind == "links" and isinstance(attrs, dict):
        for i, link in enumerate(items(attrs.get("links"))):
            link = _dict(link)
            dest = link.get("destinationRefName")
            if link.get("type") != "dashboardLink" or not isinstance(dest, str):
                continue
            where = path + ("embeddableConfig", "attributes", "links", i, "destinationRefName")
            if prefix + dest not in refs:
                check.report(where, "KIB006", f"{what}: link {link.get('label')!r} has no reference "
                                              f"{prefix + dest!r}")
            elif refs[prefix + dest][1].get("type") != "dashboard":
                check.report(("references", refs[prefix + dest][0], "type"), "KIB006",
                             f"{what}: link {link.get('label')!r} references a "
                             f"{refs[prefix + dest][1].get('type')!r}, not a dashboard")


def _check_lens(check: ObjectCheck, attrs: dict, path: tuple, what: str, outer: Scope, refs: dict,
                prefix: str) -> None:
    state = _dict(attrs.get("state"))
    inner = _references(attrs)
    ad_hoc = set(_dict(state.get("adHocDataViews")))
    scope = check.scope_of(state.get("filters"), path + ("state", "filters"), outer)
    check.check_filters(state.get("filters"), scope, path + ("state", "filters"), what)
    check.check_query(state.get("query"), scope, path + ("state", "query"), what)

    def resolve(name: str, where: tuple, purpose: str) -> None:
        if name in ad_hoc:
            return
        if name not in inner:
            check.report(where, "KIB006", f"{what}: {purpose} has no reference {name!r} in the panel's "
                                          "attributes.references")
        if prefix and prefix + name not in refs:
            check.report(where, "KIB006", f"{what}: {purpose} has no dashboard reference {prefix + name!r}")
        elif prefix and name in inner and refs[prefix + name][1].get("id") != inner[name][1].get("id"):
            check.report(("references", refs[prefix + name][0], "id"), "KIB006",
                         f"{what}: dashboard reference {prefix + name!r} points to "
                         f"{refs[prefix + name][1].get('id')!r}, the panel's own to {inner[name][1].get('id')!r}")

    for i, flt in enumerate(items(state.get("filters"))):
        index = _dict(_dict(flt).get("meta")).get("index")
        if isinstance(index, str):
            resolve(index, path + ("state", "filters", i, "meta", "index"), f"filter {i}")

    states = _dict(state.get("datasourceStates"))
    layers = _dict(_dict(states.get("formBased") or states.get("indexpattern")).get("layers"))
    base = ("state", "datasourceStates", "formBased" if "formBased" in states else "indexpattern", "layers")
    for layer_id, layer in layers.items():
        layer = _dict(layer)
        layer_path = path + base + (layer_id,)
        if not isinstance(layer.get("indexPatternId"), str):
            resolve(f"indexpattern-datasource-layer-{layer_id}", layer_path, f"layer {layer_id!r}")
        columns = _dict(layer.get("columns"))
        for i, col_id in enumerate(items(layer.get("columnOrder"))):
            if isinstance(col_id, str) and col_id not in columns:
                check.report(layer_path + ("columnOrder", i), "KIB006", f"{what}: columnOrder names column "
                                                                        f"{col_id!r}, which layer {layer_id!r} "
                                                                        "does not have")
        for col_id, col in columns.items():
            _check_column(check, _dict(col), layer_path + ("columns", col_id), what, scope, columns)
    _check_accessors(check, state.get("visualization"), path + ("state", "visualization"), what, layers)


def _check_column(check: ObjectCheck, col: dict, path: tuple, what: str, scope: Scope, columns: dict) -> None:
    op = col.get("operationType")
    label = col.get("label")
    col_what = f"{what}: column {label!r}" if isinstance(label, str) else what
    source = col.get("sourceField")
    if isinstance(op, str) and isinstance(source, str) and not (op == "count" and source == RECORDS):
        check.check_field(source, scope, path + ("sourceField",), col_what, ACCEPTS.get(op), op)
    params = _dict(col.get("params"))
    order = _dict(params.get("orderBy"))
    if order.get("type") == "column" and isinstance(order.get("columnId"), str) and order["columnId"] not in columns:
        check.report(path + ("params", "orderBy", "columnId"), "KIB006",
                     f"{col_what}: orders by column {order['columnId']!r}, which the layer does not have")
    for i, ref in enumerate(items(col.get("references"))):
        if isinstance(ref, str) and ref not in columns:
            check.report(path + ("references", i), "KIB006", f"{col_what}: references column {ref!r}, which the "
                                                             "layer does not have")
    if op == "filters":
        for i, item in enumerate(items(params.get("filters"))):
            check.check_query(_dict(item).get("input"), scope, path + ("params", "filters", i, "input"),
                              f"{col_what} filter {_dict(item).get('label')!r}")
    check.check_query(col.get("filter"), scope, path + ("filter",), col_what)


def _check_accessors(check: ObjectCheck, vis: Any, path: tuple, what: str, layers: dict) -> None:
    vis = _dict(vis)
    vis_layers = [(vis, path)] if "layerId" in vis else \
        [(_dict(layer), path + ("layers", i)) for i, layer in enumerate(items(vis.get("layers")))]
    for layer, layer_path in vis_layers:
        layer_id = layer.get("layerId")
        if layer.get("layerType") == "annotations" or not isinstance(layer_id, str):
            continue
        if layer_id not in layers:
            check.report(layer_path + ("layerId",), "KIB006", f"{what}: the chart draws layer {layer_id!r}, which "
                                                              "the datasource does not have")
            continue
        columns = _dict(_dict(layers[layer_id]).get("columns"))
        for name, where in _accessors(layer, layer_path):
            if name not in columns:
                check.report(where, "KIB006", f"{what}: the chart names column {name!r}, which layer "
                                              f"{layer_id!r} does not have")


def _accessors(node: Any, path: tuple) -> Iterator[tuple[str, tuple]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "layers":
                continue
            if key in ACCESSOR_KEYS and isinstance(value, str):
                yield value, path + (key,)
            elif key in ACCESSOR_KEYS and isinstance(value, list) and all(isinstance(v, str) for v in value):
                for i, v in enumerate(value):
                    yield v, path + (key, i)
            elif key not in ("collapseFns", "colorMapping", "palette"):
                yield from _accessors(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _accessors(value, path + (i,))


# ------------------------------------------------------------------------------------ saved searches

def check_search(check: ObjectCheck) -> None:
    attrs = _dict(check.data.get("attributes"))
    scope = _check_search_source(check, attrs, _references(check.data))
    for i, column in enumerate(items(attrs.get("columns"))):
        check.check_field(column, scope, ("attributes", "columns", i), f"{check.label}: column")
    for i, sort in enumerate(items(attrs.get("sort"))):
        if isinstance(sort, list) and sort:
            check.check_field(sort[0], scope, ("attributes", "sort", i, 0), f"{check.label}: sort")


# ------------------------------------------------------------------------------------------ rule

def datasets_of(ctx: LintContext) -> dict[str, str]:
    """dataset -> data stream (a data stream's `dataset`, else `<package>.<data stream>`)."""
    out = {}
    for ds in ctx.pkg.data_streams:
        dataset = ctx.pkg.ds_manifest(ds).get("dataset")
        out[dataset if isinstance(dataset, str) else f"{ctx.pkg.name}.{ds}"] = ds
    return out


def check(ctx: LintContext) -> list[Problem]:
    pkg = ctx.pkg
    problems: list[Problem] = []
    datasets = datasets_of(ctx)
    for folder, checker in (("dashboard", check_dashboard), ("search", check_search)):
        for rel in pkg.files(f"kibana/{folder}", "*.json"):
            data = pkg.data(rel)
            if not isinstance(data, dict):
                continue
            obj = ObjectCheck(ctx, rel, data, datasets)
            checker(obj)
            problems.extend(obj.problems)
    return problems
