"""The JSON API: the subset of Kibana Fleet's API these pages need (so Fleet automation works), plus
the calls the pages make while a form is edited (`/api/ui/...`).

Fleet's shapes: `{"items": [...]}` / `{"item": {...}}`, errors `{"statusCode", "error", "message"}`;
policies in Fleet's simplified format, secrets as `{"isSecretRef": true, "id": ...}`.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from intpkg.agent.policy import PolicyError
from intpkg.assets.inventory import asset_inventory
from intpkg.errors import IntpkgError
from intpkg.ui.catalog import PackageEntry
from intpkg.ui.forms import build_form, field_name, policy_from_form
from intpkg.ui.readme import render_markdown
from intpkg.ui.service import Integrations, NotFound, keep_unsent_secrets
from intpkg.ui.store import NAME_TAKEN
from intpkg.validation import dotted

blueprint = Blueprint("api", __name__, url_prefix="/api")


def core() -> Integrations:
    return current_app.extensions["integrations"]


def _error(status: int, message: str, **attributes: Any):
    names = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 503: "Service Unavailable"}
    body: dict[str, Any] = {"statusCode": status, "error": names.get(status, "Error"), "message": message}
    if attributes:
        body["attributes"] = attributes
    return jsonify(body), status


@blueprint.errorhandler(NotFound)
def _not_found(exc: NotFound):
    return _error(404, str(exc))


@blueprint.errorhandler(PolicyError)
def _invalid(exc: PolicyError):
    problems = [{"path": dotted(p.path), "keys": list(p.path), "message": p.message} for p in exc.problems]
    message = "; ".join(f"{p['path']}: {p['message']}" if p["path"] else p["message"] for p in problems)
    taken = all(p.path == ("name",) and p.message.startswith(NAME_TAKEN) for p in exc.problems)
    return _error(409 if taken else 400, message, problems=problems)  # Fleet answers a taken name with 409


@blueprint.errorhandler(IntpkgError)
def _unavailable(exc: IntpkgError):
    return _error(503, str(exc))


def _package_item(entry: PackageEntry, *, full: bool = False) -> dict[str, Any]:
    installed = core().installed(entry)
    item: dict[str, Any] = {
        "name": entry.name, "title": entry.title, "version": entry.version, "description": entry.description,
        "type": entry.type, "categories": entry.categories, "icons": entry.icons,
        "status": "installed" if installed else "not_installed",
        "installationInfo": {"version": installed} if installed else None,
    }
    if full:
        item.update(readme=entry.readme(), versions=entry.versions, policy_templates=entry.manifest.get(
            "policy_templates"), changelog=entry.changelog())
    return item


# ---- packages --------------------------------------------------------------------------------------

@blueprint.get("/fleet/epm/packages")
def packages():
    return jsonify(items=[_package_item(e) for e in core().catalog.entries()])


@blueprint.get("/fleet/epm/packages/<name>")
@blueprint.get("/fleet/epm/packages/<name>/<version>")
def package(name: str, version: str | None = None):
    return jsonify(item=_package_item(core().entry(name, version), full=True))


def _asset_items(lines: list[str]) -> list[dict[str, str]]:
    """Install reports ("index template logs-x") as Fleet's asset references ({"id", "type": "index_template"})."""
    return [{"id": line.rsplit(" ", 1)[-1], "type": line.rsplit(" ", 1)[0].replace(" ", "_")} for line in lines]


@blueprint.post("/fleet/epm/packages/<name>/<version>")
def install(name: str, version: str):
    return jsonify(items=_asset_items(core().install(name, version)))


@blueprint.delete("/fleet/epm/packages/<name>/<version>")
def uninstall(name: str, version: str):
    core().entry(name, version)
    in_use = [policy["name"] for package, policy in core().all_policies() if package == name]
    if in_use:
        return _error(400, f"Unable to remove package with existing package policy(s) in use: {', '.join(in_use)}")
    return jsonify(items=_asset_items(core().uninstall(name)))


@blueprint.get("/ui/packages/<name>/assets")
def assets(name: str):
    found = asset_inventory(core().client(), core().package(name).path)
    return jsonify(items=[{"kind": a.kind, "name": a.name, "service": a.service, "installed": a.installed}
                          for a in found])


# ---- package policies ------------------------------------------------------------------------------

def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise PolicyError("the request body must be a JSON object (Fleet's simplified package policy)")
    return body


def _package_name(body: dict[str, Any]) -> str:
    name = (body.get("package") or {}).get("name") if isinstance(body.get("package"), dict) else None
    if not name:
        raise PolicyError("package.name is required")
    core().entry(name)
    return name


def _fleet_body(body: dict[str, Any]) -> dict[str, Any]:
    """Fleet's simplified body as the store keeps it (agent policy ids and unknown extras dropped)."""
    keep = ("name", "description", "namespace", "package", "vars", "inputs")
    return {k: body[k] for k in keep if k in body}


@blueprint.get("/fleet/package_policies")
def list_policies():
    items = [policy for _, policy in core().all_policies()]
    page, per_page = request.args.get("page", 1, type=int), request.args.get("perPage", 20, type=int)
    page, per_page = max(page, 1), min(max(per_page, 1), 10_000)
    return jsonify(items=items[(page - 1) * per_page: page * per_page], total=len(items), page=page,
                   perPage=per_page)


@blueprint.post("/fleet/package_policies")
def create_policy():
    body = _body()
    saved = core().save_policy(_package_name(body), _fleet_body(body))
    return jsonify(item=saved)


@blueprint.get("/fleet/package_policies/<policy_id>")
def get_policy(policy_id: str):
    return jsonify(item=core().find_policy(policy_id)[1])


@blueprint.put("/fleet/package_policies/<policy_id>")
def update_policy(policy_id: str):
    name, _ = core().find_policy(policy_id)
    body = _body()
    body.setdefault("package", {"name": name})
    if _package_name(body) != name:
        raise PolicyError("an integration policy cannot move to another package")
    return jsonify(item=core().save_policy(name, _fleet_body(body), policy_id))


@blueprint.delete("/fleet/package_policies/<policy_id>")
def delete_policy(policy_id: str):
    core().delete_policy(policy_id)
    return jsonify(id=policy_id)


# ---- what the pages ask while a form is edited -------------------------------------------------------

@blueprint.post("/ui/packages/<name>/validate")
def validate(name: str):
    """The problems of the submitted form, by field name (the same checks as saving and `intpkg run`)."""
    package = core().package(name)
    body = policy_from_form(package, request.form)
    policy_id = request.form.get("policy_id") or None
    store = core().store(name)
    if policy_id:
        try:
            body = keep_unsent_secrets(body, core().find_policy(policy_id)[1], store)
        except PolicyError as exc:
            return jsonify(fields={field_name(p.path): [p.message] for p in exc.problems}, sections={}, policy={},
                           count=len(exc.problems))
    form = build_form(package, body, store.problems(body, policy_id=policy_id))
    fields = {f.name: f.errors for f in form.all_fields() if f.errors}
    sections = {field_name(s.path): s.errors for s in form.sections() if s.errors}
    return jsonify(fields=fields, sections=sections, policy=form.errors, count=form.error_count)


@blueprint.post("/ui/packages/<name>/verify")
def verify(name: str):
    """Check the form's credentials against the Cloudflare API, per enabled stream."""
    package = core().package(name)
    body = policy_from_form(package, request.form)
    results = core().verify(name, body, request.form.get("policy_id") or None)
    return jsonify(items=[{"dataset": r.dataset, "ok": r.ok, "findings": r.findings, "warnings": r.warnings}
                          for r in results])


def _view() -> dict[str, Any]:
    """The dashboard view a panel request names: time range, KQL query and filters (Kibana filter objects)."""
    try:
        filters = json.loads(request.args.get("filters") or "[]")
    except ValueError:
        filters = None
    if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
        raise BadView("filters must be a JSON list of filter objects")
    return {"start": request.args.get("start") or "now-30d", "end": request.args.get("end") or "now",
            "query": request.args.get("q", ""), "filters": filters}


class BadView(ValueError):
    pass


@blueprint.errorhandler(BadView)
def _bad_view(exc: BadView):
    return _error(400, str(exc))


@blueprint.get("/ui/dashboards/<dashboard_id>/panels/<index>")
def dashboard_panel(dashboard_id: str, index: str):
    from intpkg.dashboards.kql import KqlError

    try:
        data = core().render_panel(dashboard_id, index, **_view())
    except KqlError as exc:
        return _error(400, f"query: {exc}")
    if data.get("kind") == "markdown":
        data["html"] = render_markdown(data.get("markdown") or "", asset_url=lambda path: path)
    return jsonify(data)


@blueprint.get("/ui/dashboards/<dashboard_id>/controls/<int:number>")
def dashboard_control(dashboard_id: str, number: int):
    return jsonify(options=core().control_options(dashboard_id, number, **_view()))


# ---- detection rules and alerts (the subset of Kibana's detection engine API the pages need) ----------

@blueprint.get("/detection_engine/rules/_find")
def find_rules():
    items = [state for _, state in core().rule_states()]
    page, per_page = max(request.args.get("page", 1, type=int), 1), request.args.get("per_page", 20, type=int)
    per_page = min(max(per_page, 1), 10_000)
    return jsonify(page=page, perPage=per_page, total=len(items), data=items[(page - 1) * per_page: page * per_page])


@blueprint.patch("/detection_engine/rules")
def patch_rule():
    body = request.get_json(silent=True) or {}
    if not isinstance(body.get("rule_id"), str) or not isinstance(body.get("enabled"), bool):
        return _error(400, "expected {\"rule_id\": \"...\", \"enabled\": true|false}")
    return jsonify(core().set_rule_enabled(body["rule_id"], body["enabled"]))


@blueprint.get("/ui/alerts")
def list_alerts():
    size = min(max(request.args.get("size", 100, type=int), 1), 1000)
    return jsonify(items=core().alerts(size=size, rule_id=request.args.get("rule_id") or None))


@blueprint.get("/ui/collector")
def collector_health():
    return jsonify(items=[{"package": name, **core().collector(name).health()} for name in core().with_policies()])


@blueprint.post("/ui/collector/<name>/<action>")
def collector_action(name: str, action: str):
    collector = core().collector(name)
    if action == "start":
        collector.start()
    elif action == "stop":
        collector.stop()
    else:
        return _error(404, f"no action {action}")
    return jsonify(collector.health())
