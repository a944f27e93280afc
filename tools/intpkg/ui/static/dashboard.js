// A dashboard: each panel asks the server for its data (the Lens layer run as aggregations on the
// cluster) and draws it with ECharts. The time range, query, filters and controls live in the URL, so
// a view can be shared; a click on a bucket adds a filter, as in Kibana.
"use strict";

const bar = document.getElementById("dashboard-bar");
const grid = document.getElementById("dashboard-grid");
const charts = new Map();

function readState() {
  const params = new URLSearchParams(window.location.search);
  let filters = [];
  try { filters = JSON.parse(params.get("filters") || "[]"); } catch (e) { filters = []; }
  return {start: params.get("start") || bar.dataset.defaultStart, end: params.get("end") || bar.dataset.defaultEnd,
          q: params.get("q") || "", filters};
}

function writeState(state) {
  const params = new URLSearchParams();
  params.set("start", state.start);
  params.set("end", state.end);
  if (state.q) params.set("q", state.q);
  if (state.filters.length) params.set("filters", JSON.stringify(state.filters));
  window.history.pushState(null, "", `${window.location.pathname}?${params}`);
  load();
}

function phraseFilter(field, value, negate = false) {
  return {meta: {type: "phrase", key: field, params: {query: value}, negate, disabled: false},
          query: {match_phrase: {[field]: value}}};
}

function addFilters(filters) {
  // the filters a click stands for, as the server built them (phrase, Other, missing, date range, ...)
  if (!filters || !filters.length) return;
  const state = readState();
  for (const filter of filters) {
    if (!state.filters.some((f) => JSON.stringify(f) === JSON.stringify(filter))) state.filters.push(filter);
  }
  writeState(state);
}

function describeFilter(filter) {
  const meta = filter.meta || {};
  const not = meta.negate ? "NOT " : "";
  if (meta.alias) return not + meta.alias;
  if (meta.type === "phrase") return `${not}${meta.key}: ${meta.params.query}`;
  if (meta.type === "phrases") return `${not}${meta.key} is one of ${meta.params.join(", ")}`;
  if (meta.type === "exists") return `${not}${meta.key} exists`;
  if (meta.type === "range") return `${meta.key}: ${Object.entries(meta.params).map(([k, v]) => `${k} ${v}`).join(", ")}`;
  return not + JSON.stringify(filter.query);
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== "") node.textContent = text;
  return node;
}

function showBar(state) {
  bar.elements.q.value = state.q;
  const quick = [...bar.elements.range.options].map((o) => o.value);
  const isQuick = state.end === "now" && quick.includes(state.start);
  bar.elements.range.value = isQuick ? state.start : "custom";
  bar.elements.start.value = state.start;
  bar.elements.end.value = state.end;
  for (const label of bar.querySelectorAll(".custom-range")) label.hidden = isQuick;
  const holder = document.getElementById("filters");
  holder.replaceChildren();
  state.filters.forEach((filter, i) => {
    const pill = el("span", {class: "filter-pill", "data-filter": filter.meta.key || ""});
    pill.append(el("span", {}, describeFilter(filter)));
    const remove = el("button", {type: "button", class: "pill-remove", "aria-label": `Remove filter ${describeFilter(filter)}`}, "×");
    remove.addEventListener("click", () => { const s = readState(); s.filters.splice(i, 1); writeState(s); });
    pill.append(remove);
    holder.append(pill);
  });
}

function query(state) {
  const params = new URLSearchParams({start: state.start, end: state.end, q: state.q, filters: JSON.stringify(state.filters)});
  return params.toString();
}

function chartFor(body) {
  let chart = charts.get(body);
  if (!chart) {
    body.replaceChildren();
    chart = echarts.init(body, null, {renderer: "canvas"});
    charts.set(body, chart);
  }
  return chart;
}

function formatKey(key, type) {
  if (type === "date") return new Date(key).toISOString().replace("T", " ").slice(0, 16);
  return String(key);
}

function drawXY(body, data) {
  const chart = chartFor(body);
  const stacked = data.series_type.includes("stacked");
  const kind = data.series_type.startsWith("bar") ? "bar" : "line";
  chart.setOption({
    animation: false,
    tooltip: {trigger: "axis"},
    legend: {type: "scroll", bottom: 0},
    grid: {left: 48, right: 16, top: 16, bottom: data.series.length > 1 ? 48 : 28},
    xAxis: {type: "category", data: data.categories.map((c) => formatKey(c, data.x.type)), name: data.x_title || ""},
    yAxis: {type: "value", name: data.y_title || ""},
    series: data.series.map((s) => ({name: String(s.name), type: kind, stack: stacked ? "total" : undefined,
      areaStyle: data.series_type.startsWith("area") ? {} : undefined, symbolSize: 4,
      showSymbol: s.data.filter((v) => v !== null).length < 40, data: s.data})),
  }, true);
  chart.off("click");
  chart.on("click", (params) => {
    // as Kibana: the clicked x bucket (a date range for a histogram) and the series' own split value
    const series = data.series[params.seriesIndex] || {};
    addFilters([...((data.category_filters || [])[params.dataIndex] || []), ...(series.filters || [])]);
  });
}

function drawPie(body, data) {
  const chart = chartFor(body);
  const items = data.buckets.map((b) => ({name: String(b.label ?? b.key), value: b.value, filters: b.filters}));
  const series = data.shape === "treemap"
    ? {type: "treemap", data: items, roam: false, nodeClick: false, breadcrumb: {show: false}}
    : {type: "pie", data: items, radius: data.shape === "donut" ? ["45%", "72%"] : "72%", label: {show: true}};
  chart.setOption({animation: false, tooltip: {trigger: "item"}, series: [series]}, true);
  chart.off("click");
  chart.on("click", (params) => addFilters(params.data.filters));
}

function drawMetric(body, data) {
  const value = data.value === null || data.value === undefined ? "–"
    : (typeof data.value === "number" ? data.value.toLocaleString(undefined, {maximumFractionDigits: 2}) : String(data.value));
  body.replaceChildren(el("div", {class: "metric-value"}, value), el("div", {class: "metric-label"}, data.label || ""));
}

function drawTable(body, data) {
  const table = el("table", {class: "table compact"});
  const head = el("tr");
  for (const column of data.columns) head.append(el("th", {}, column.label));
  const thead = el("thead");
  thead.append(head);
  table.append(thead);
  const rows = el("tbody");
  for (const row of data.rows) {
    const tr = el("tr");
    row.forEach((cell) => {
      const bucket = cell && typeof cell === "object" && !Array.isArray(cell) && "filters" in cell;
      const value = bucket ? (cell.label ?? cell.key) : cell;
      const text = value === null || value === undefined ? "" : (typeof value === "object" ? JSON.stringify(value) : String(value));
      const td = el("td", {}, text);
      if (bucket && cell.filters && cell.filters.length) {
        td.classList.add("clickable");
        td.title = `Filter on ${cell.field}: ${text}`;
        td.addEventListener("click", () => addFilters(cell.filters));
      }
      tr.append(td);
    });
    rows.append(tr);
  }
  table.append(rows);
  body.replaceChildren(table);
}

function drawLinks(body, data) {
  const list = el("ul", {class: "dash-links"});
  for (const link of data.links) {
    const a = el("a", {href: bar.dataset.viewUrl.replace("__ID__", link.dashboard_id) + window.location.search}, link.label);
    if (link.dashboard_id === document.location.pathname.split("/").pop()) a.classList.add("current");
    const item = el("li");
    item.append(a);
    list.append(item);
  }
  body.replaceChildren(list);
}

function drawMarkdown(body, data) {
  const holder = el("div", {class: "markdown-panel"});
  holder.innerHTML = data.html;  // rendered and sanitized by the server (intpkg.ui.readme)
  body.replaceChildren(holder);
}

const DRAW = {xy: drawXY, pie: drawPie, metric: drawMetric, table: drawTable, links: drawLinks, markdown: drawMarkdown};

async function loadPanel(panel, state) {
  const body = panel.querySelector(".dash-body");
  panel.dataset.state = "loading";
  const url = bar.dataset.panelsUrl.replace("__INDEX__", encodeURIComponent(panel.dataset.index)) + "?" + query(state);
  try {
    const response = await fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"});
    const data = await response.json();
    if (!response.ok) throw new Error(data.message || `HTTP ${response.status}`);
    const chart = charts.get(body);
    if (chart && !["xy", "pie"].includes(data.kind)) { chart.dispose(); charts.delete(body); }
    if (data.empty && !["links", "markdown"].includes(data.kind)) {
      if (chart) { chart.dispose(); charts.delete(body); }
      body.replaceChildren(el("p", {class: "muted empty-panel"}, "No results found"));
      panel.dataset.state = "empty";
      return;
    }
    DRAW[data.kind](body, data);
    panel.dataset.state = "drawn";
    panel.dataset.kind = data.kind;
    panel.dataset.tookMs = data.took_ms ?? "";
  } catch (error) {
    const chart = charts.get(body);
    if (chart) { chart.dispose(); charts.delete(body); }
    body.replaceChildren(el("p", {class: "field-error"}, String(error.message || error)));
    panel.dataset.state = "error";
  }
}

async function loadControls(state) {
  for (const select of bar.querySelectorAll("select[data-control]")) {
    const chosen = state.filters.find((f) => f.meta.key === select.dataset.field && f.meta.type === "phrase");
    const response = await fetch(`${bar.dataset.controlsUrl}${select.dataset.control}?${query(state)}`, {credentials: "same-origin"});
    if (!response.ok) continue;
    const body = await response.json();
    select.replaceChildren(el("option", {value: ""}, "Any"));
    for (const option of body.options) select.append(el("option", {value: option}, option));
    select.value = chosen && chosen.meta.params ? chosen.meta.params.query : "";
  }
}

function load() {
  const state = readState();
  showBar(state);
  const started = performance.now();
  const panels = [...grid.querySelectorAll(".dash-panel")];
  grid.dataset.state = "loading";
  Promise.all(panels.map((panel) => loadPanel(panel, state))).then(() => {
    grid.dataset.state = "done";
    grid.dataset.renderMs = String(Math.round(performance.now() - started));
  });
  loadControls(state);
}

function layout() {
  for (const panel of grid.querySelectorAll(".dash-panel")) {
    const [x, y, w, h] = panel.dataset.grid.split(",").map(Number);
    panel.style.gridColumn = `${x + 1} / span ${w}`;
    panel.style.gridRow = `${y + 1} / span ${h}`;
  }
}

bar.addEventListener("submit", (event) => {
  event.preventDefault();
  const state = readState();
  state.q = bar.elements.q.value.trim();
  if (bar.elements.range.value === "custom") {
    state.start = bar.elements.start.value.trim() || state.start;
    state.end = bar.elements.end.value.trim() || state.end;
  } else {
    state.start = bar.elements.range.value;
    state.end = "now";
  }
  writeState(state);
});
bar.elements.range.addEventListener("change", () => {
  const custom = bar.elements.range.value === "custom";
  for (const label of bar.querySelectorAll(".custom-range")) label.hidden = !custom;
  if (!custom) bar.requestSubmit();
});
for (const select of bar.querySelectorAll("select[data-control]")) {
  select.addEventListener("change", () => {
    const state = readState();
    state.filters = state.filters.filter((f) => f.meta.key !== select.dataset.field);
    if (select.value) state.filters.push(phraseFilter(select.dataset.field, select.value));
    writeState(state);
  });
}
window.addEventListener("popstate", load);
window.addEventListener("resize", () => { for (const chart of charts.values()) chart.resize(); });
layout();
load();
