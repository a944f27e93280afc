"""Dashboards and saved searches of a package folder, as plain data ready to render.

Reads `kibana/dashboard/*.json` and `kibana/search/*.json` in both forms: decoded (objects, as the
repository stores them) and encoded (JSON strings, as a built package and a Kibana export hold
`panelsJSON`, `optionsJSON`, `kibanaSavedObjectMeta.searchSourceJSON`, `controlGroupInput.panelsJSON`,
`visState`).

References are resolved: a search panel's `panelRefName` (`<panelIndex>:<name>` in the dashboard's
references) gives `Panel.search_id`; a link's `destinationRefName` its `dashboard_id`; a Lens layer's
`indexpattern-datasource-layer-<layerId>` its index pattern (`Panel.layer_indices`, ad hoc data views
by their title). Panels stored by reference (`kibana/lens`, `kibana/visualization`, `kibana/links`) are
read from those folders when the package has them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intpkg import yamlpos
from intpkg.dashboards import DashboardError

DEFAULT_INDEX = "logs-*"
ENCODED = ("panelsJSON", "optionsJSON", "visState", "uiStateJSON", "controlGroupInput")
LAYER_REF = "indexpattern-datasource-layer-"


class SavedObjectError(DashboardError):
    """A saved object file that cannot be read; the message names the file."""


@dataclass
class Panel:
    """One panel of a dashboard.

    `type`: `lens`, `visualization` (legacy, by value: markdown), `links`, `search`, or another
    Kibana panel type left unrendered. `visualization`: the Lens chart (`lnsXY`, `lnsPie`,
    `lnsDatatable`, `lnsMetric`) or None. `attributes`: the Lens attributes (`state`, `references`…)
    or, for other panels, the embeddable's own. `grid`: `{x, y, w, h}` on Kibana's 48-column grid.
    """

    index: str
    title: str
    type: str
    grid: dict[str, int]
    visualization: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    markdown: str | None = None
    links: list[dict[str, Any]] = field(default_factory=list)
    search_id: str | None = None
    layer_indices: dict[str, str] = field(default_factory=dict)  # Lens layer id → index pattern
    hide_title: bool = False
    legacy_type: str | None = None  # `savedVis.type` of a legacy visualization panel


@dataclass
class Control:
    """A control of the dashboard's control group: a dropdown (`kind` `optionsList`) or a range slider."""

    field: str
    title: str
    kind: str
    id: str = ""
    index: str = DEFAULT_INDEX


@dataclass
class Dashboard:
    id: str
    title: str
    description: str
    query: dict[str, Any]  # {"language": "kuery"|"lucene", "query": text}
    filters: list[dict[str, Any]]
    panels: list[Panel]
    controls: list[Control]
    time_from: str | None = None  # the stored time range when the dashboard restores one
    time_to: str | None = None
    path: Path | None = None

    def panel(self, index: str) -> Panel:
        """The panel whose `index` (Kibana's panelIndex) is `index`; KeyError when none."""
        for panel in self.panels:
            if panel.index == index:
                return panel
        raise KeyError(index)


@dataclass
class SavedSearch:
    id: str
    title: str
    columns: list[str]
    sort: list[list[str]]  # [[field, "asc"|"desc"], …]
    query: dict[str, Any]
    filters: list[dict[str, Any]]
    index: str = DEFAULT_INDEX


def load_dashboards(package_dir: Path) -> list[Dashboard]:
    """Every `kibana/dashboard/*.json` of the package, sorted by title; links labelled by target title."""
    package_dir = Path(package_dir)
    library = _Library(package_dir)
    dashboards = [_dashboard(path, library) for path in sorted((package_dir / "kibana/dashboard").glob("*.json"))]
    titles = {d.id: d.title for d in dashboards}
    for dashboard in dashboards:
        for panel in dashboard.panels:
            for link in panel.links:
                if not link["label"]:
                    link["label"] = titles.get(link.get("dashboard_id") or "", link.get("dashboard_id") or "")
    return sorted(dashboards, key=lambda d: (d.title.lower(), d.id))


def load_dashboard(path: Path, package_dir: Path | None = None) -> Dashboard:
    """One dashboard file (by-reference panels looked up in `package_dir`, default: the file's package)."""
    path = Path(path)
    return _dashboard(path, _Library(Path(package_dir) if package_dir else path.parents[2]))


def load_searches(package_dir: Path) -> dict[str, SavedSearch]:
    """Every `kibana/search/*.json` of the package, by id."""
    found = {}
    for path in sorted((Path(package_dir) / "kibana/search").glob("*.json")):
        search = _search(path)
        found[search.id] = search
    return found


# -- reading


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yamlpos.read_yaml(path)
    except yamlpos.ParseError as exc:
        raise SavedObjectError(str(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("attributes"), dict):
        raise SavedObjectError(f"{path}: not a saved object (no `attributes` object).")
    return data


def _decoded(value: Any, path: Path, where: str) -> Any:
    """`value`, parsed when it is a JSON string (the encoded form)."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise SavedObjectError(f"{path}: {where} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                               f"column {exc.colno}).") from None


def decode_attributes(attributes: dict[str, Any], path: Path) -> dict[str, Any]:
    """A copy of saved object `attributes` with every embedded JSON string parsed."""
    out = dict(attributes)
    for key in ENCODED:
        if key in out:
            out[key] = _decoded(out[key], path, f"attributes.{key}")
    group = out.get("controlGroupInput")
    if isinstance(group, dict):
        group = dict(group)
        for key in ("panelsJSON", "ignoreParentSettingsJSON"):
            if key in group:
                group[key] = _decoded(group[key], path, f"attributes.controlGroupInput.{key}")
        out["controlGroupInput"] = group
    meta = out.get("kibanaSavedObjectMeta")
    if isinstance(meta, dict) and "searchSourceJSON" in meta:
        out["kibanaSavedObjectMeta"] = {**meta, "searchSourceJSON": _decoded(
            meta["searchSourceJSON"], path, "attributes.kibanaSavedObjectMeta.searchSourceJSON")}
    return out


def _search_source(attributes: dict[str, Any]) -> dict[str, Any]:
    source = (attributes.get("kibanaSavedObjectMeta") or {}).get("searchSourceJSON") or {}
    return source if isinstance(source, dict) else {}


def _query(source: dict[str, Any]) -> dict[str, Any]:
    query = source.get("query") or {}
    if not isinstance(query, dict):
        return {"language": "kuery", "query": str(query)}
    return {"language": query.get("language") or "kuery", "query": query.get("query") or ""}


class _Library:
    """Saved objects panels may point to, read on first use: lens, visualization, links."""

    def __init__(self, package_dir: Path) -> None:
        self.package_dir = package_dir
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}

    def get(self, kind: str, object_id: str) -> dict[str, Any] | None:
        key = (kind, object_id)
        if key not in self._cache:
            path = self.package_dir / "kibana" / kind / f"{object_id}.json"
            if path.is_file():
                obj = _read(path)
                obj["attributes"] = decode_attributes(obj["attributes"], path)
                self._cache[key] = obj
            else:
                self._cache[key] = None
        return self._cache[key]


def _dashboard(path: Path, library: _Library) -> Dashboard:
    obj = _read(path)
    attributes = decode_attributes(obj["attributes"], path)
    references = {r.get("name"): r for r in obj.get("references") or [] if isinstance(r, dict)}
    source = _search_source(attributes)
    panels_data = attributes.get("panelsJSON") or []
    if not isinstance(panels_data, list):
        raise SavedObjectError(f"{path}: attributes.panelsJSON is not a list of panels.")
    panels = [_panel(p, n, references, library, path) for n, p in enumerate(panels_data)]
    panels.sort(key=lambda p: (p.grid.get("y", 0), p.grid.get("x", 0)))
    restore = bool(attributes.get("timeRestore"))
    return Dashboard(
        id=str(obj.get("id") or path.stem),
        title=str(attributes.get("title") or ""),
        description=str(attributes.get("description") or ""),
        query=_query(source),
        filters=list(source.get("filter") or []),
        panels=panels,
        controls=_controls(attributes.get("controlGroupInput"), references),
        time_from=attributes.get("timeFrom") if restore else None,
        time_to=attributes.get("timeTo") if restore else None,
        path=path,
    )


def _controls(group: Any, references: dict[str, Any]) -> list[Control]:
    if not isinstance(group, dict) or not isinstance(group.get("panelsJSON"), dict):
        return []
    controls = []
    items = sorted(group["panelsJSON"].items(), key=lambda kv: (kv[1].get("order", 0), kv[0]))
    for control_id, item in items:
        explicit = item.get("explicitInput") or {}
        kind = str(item.get("type") or "")
        kind = kind[: -len("Control")] if kind.endswith("Control") else kind
        index = explicit.get("dataViewId")
        for ref_name in (f"controlGroup_{control_id}:{kind}DataView", f"controlGroup_{control_id}:optionsListDataView",
                         f"controlGroup_{control_id}:rangeSliderDataView"):
            if not index and ref_name in references:
                index = references[ref_name].get("id")
        if explicit.get("fieldName"):
            controls.append(Control(field=explicit["fieldName"], title=explicit.get("title") or explicit["fieldName"],
                                    kind=kind, id=control_id, index=index or DEFAULT_INDEX))
    return controls


def _ref(references: dict[str, Any], panel_index: str, name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    return references.get(f"{panel_index}:{name}") or references.get(name)


def _panel(data: dict[str, Any], position: int, references: dict[str, Any], library: _Library,
           path: Path) -> Panel:
    grid_data = data.get("gridData") or {}
    index = str(data.get("panelIndex") or grid_data.get("i") or position)
    config = data.get("embeddableConfig") or {}
    kind = str(data.get("type") or "")
    ref = _ref(references, index, data.get("panelRefName"))
    ref_id = (ref or {}).get("id") or data.get("id")
    panel = Panel(index=index, title="", type=kind,
                  grid={k: int(grid_data.get(k, 0)) for k in ("x", "y", "w", "h")},
                  hide_title=bool(config.get("hidePanelTitles")))
    titles = [config.get("title"), data.get("title")]
    if kind == "lens":
        attributes, object_refs = config.get("attributes"), None
        if not attributes and ref_id:
            stored = library.get("lens", ref_id)
            if stored:
                attributes, object_refs = stored["attributes"], stored.get("references")
        attributes = dict(attributes or {})
        if object_refs is not None:
            attributes.setdefault("references", object_refs)
        panel.attributes = attributes
        panel.visualization = attributes.get("visualizationType")
        panel.layer_indices = _layer_indices(attributes, references, index)
        titles.append(attributes.get("title"))
    elif kind == "visualization":
        vis = config.get("savedVis")
        if not vis and ref_id:
            stored = library.get("visualization", ref_id)
            if stored:
                vis = stored["attributes"].get("visState") or {}
                titles.append(stored["attributes"].get("title"))
        vis = vis or {}
        panel.attributes = vis
        panel.legacy_type = vis.get("type")
        titles.append(vis.get("title"))
        if vis.get("type") == "markdown":
            panel.markdown = str((vis.get("params") or {}).get("markdown") or "")
    elif kind == "links":
        attributes, object_refs = config.get("attributes"), {}
        if not attributes and ref_id:
            stored = library.get("links", ref_id)
            if stored:
                attributes = stored["attributes"]
                object_refs = {r.get("name"): r for r in stored.get("references") or []}
        attributes = attributes or {}
        panel.attributes = attributes
        panel.links = _links(attributes.get("links") or [], {**references, **object_refs}, index)
        titles.append(attributes.get("title"))
    elif kind == "search":
        panel.search_id = ref_id
        panel.attributes = config
    else:
        panel.attributes = config.get("attributes") or config
        text = panel.attributes.get("text") if isinstance(panel.attributes, dict) else None
        if "markdown" in kind.lower() and isinstance(text, str):
            panel.markdown = text
    panel.title = next((str(t) for t in titles if t), "")
    return panel


def _links(items: list[dict[str, Any]], references: dict[str, Any], panel_index: str) -> list[dict[str, Any]]:
    links = []
    for item in sorted(items, key=lambda i: i.get("order", 0)):
        if item.get("type") == "externalLink":
            links.append({"label": item.get("label") or item.get("destination") or "", "dashboard_id": None,
                          "url": item.get("destination")})
            continue
        target = item.get("destination")
        if not target:
            ref = _ref(references, panel_index, item.get("destinationRefName"))
            target = (ref or {}).get("id")
        links.append({"label": item.get("label") or "", "dashboard_id": target})
    return links


def lens_layers(attributes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The form-based layers of Lens `attributes` by id (`formBased`, or `indexpattern` before 8.6)."""
    states = (attributes.get("state") or {}).get("datasourceStates") or {}
    source = states.get("formBased") or states.get("indexpattern") or {}
    return dict(source.get("layers") or {})


def _layer_indices(attributes: dict[str, Any], references: dict[str, Any], panel_index: str) -> dict[str, str]:
    state = attributes.get("state") or {}
    own = {r.get("name"): r for r in attributes.get("references") or [] if isinstance(r, dict)}
    internal = {r.get("name"): r for r in state.get("internalReferences") or [] if isinstance(r, dict)}
    ad_hoc = state.get("adHocDataViews") or {}
    found = {}
    for layer_id, layer in lens_layers(attributes).items():
        name = LAYER_REF + layer_id
        ref = own.get(name) or internal.get(name) or references.get(f"{panel_index}:{name}") or references.get(name)
        view = (ref or {}).get("id") or layer.get("indexPatternId")
        if not view:
            continue
        found[layer_id] = (ad_hoc.get(view) or {}).get("title") or view
    return found


def _search(path: Path) -> SavedSearch:
    obj = _read(path)
    attributes = decode_attributes(obj["attributes"], path)
    references = {r.get("name"): r for r in obj.get("references") or [] if isinstance(r, dict)}
    source = _search_source(attributes)
    index_ref = references.get(source.get("indexRefName") or "kibanaSavedObjectMeta.searchSourceJSON.index")
    sort = attributes.get("sort") or []
    if sort and isinstance(sort[0], str):  # a single [field, direction] pair
        sort = [sort]
    return SavedSearch(
        id=str(obj.get("id") or path.stem),
        title=str(attributes.get("title") or ""),
        columns=[str(c) for c in attributes.get("columns") or []],
        sort=[[str(s[0]), str(s[1]) if len(s) > 1 else "desc"] for s in sort if s],
        query=_query(source),
        filters=list(source.get("filter") or []),
        index=(index_ref or {}).get("id") or source.get("index") or DEFAULT_INDEX,
    )
