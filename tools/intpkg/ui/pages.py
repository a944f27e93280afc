"""The UI's HTML pages: catalog, integration (overview, policies, assets, changelog), the policy form,
the collector's health and the data streams. Each view asks `Integrations` and renders a template."""

from __future__ import annotations

import hmac
import mimetypes
import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)

from intpkg.agent.policy import PolicyError
from intpkg.assets.inventory import asset_inventory
from intpkg.errors import IntpkgError
from intpkg.ui import datastreams
from intpkg.ui.catalog import install_state
from intpkg.ui.forms import build_form, default_policy, policy_from_form
from intpkg.ui.readme import render_markdown
from intpkg.ui.service import Integrations, NotFound, keep_unsent_secrets
from intpkg.ui.vendor import ASSETS

blueprint = Blueprint("pages", __name__)


def core() -> Integrations:
    return current_app.extensions["integrations"]


def _entry_or_404(name: str, version: str | None = None):
    try:
        return core().entry(name, version)
    except NotFound:
        abort(404, f"no package {name}")


@blueprint.errorhandler(IntpkgError)
def _cluster_error(exc: IntpkgError):
    return render_template("error.html", message=str(exc)), 503


@blueprint.route("/")
def home():
    return redirect(url_for("pages.catalog"))


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    token = current_app.extensions["token"]
    error = None
    if request.method == "POST":
        if token and hmac.compare_digest(request.form.get("token", "").encode(), token.encode()):
            session.clear()
            session["authorized"] = True
            return redirect(_local_path(request.args.get("next", "")) or url_for("pages.catalog"))
        time.sleep(1.0)  # guessing the token costs a second per try
        error = "That is not the access token."
    return render_template("login.html", error=error)


def _local_path(target: str) -> str | None:
    """`target` when it is a path on this server (no scheme, host, backslash or control character), else None."""
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc
            or any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in target)):
        return None
    return target


# ---- catalog and integration -------------------------------------------------------------------

@blueprint.route("/app/integrations")
def catalog():
    q, category = request.args.get("q", ""), request.args.get("category") or None
    entries = core().catalog.search(q, category)
    cards = [{"entry": e, "state": core().state(e)} for e in entries]
    return render_template("catalog.html", cards=cards, q=q, category=category,
                           categories=core().catalog.categories(), problems=core().catalog.problems)


def _integration(name: str, tab: str, **extra: Any):
    entry = _entry_or_404(name)
    installed = core().installed(entry)  # one question to the cluster: the state follows from it
    policies = core().store(name).list() if _runnable(name) else []
    return render_template("integration.html", entry=entry, installed=installed, tab=tab,
                           state=install_state(entry, installed), policies=policies, **extra)


def _runnable(name: str) -> bool:
    try:
        core().package(name)
        return True
    except (IntpkgError, NotFound):
        return False


@blueprint.route("/app/integrations/<name>")
def integration(name: str):
    entry = _entry_or_404(name)
    readme = render_markdown(entry.readme(), asset_url=lambda path: url_for(
        "pages.package_file", name=entry.name, version=entry.version, path=path))
    return _integration(name, "overview", readme=readme)


@blueprint.route("/app/integrations/<name>/policies")
def integration_policies(name: str):
    return _integration(name, "policies")


@blueprint.route("/app/integrations/<name>/assets")
def integration_assets(name: str):
    try:
        assets = asset_inventory(core().client(), core().package(name).path)
        error = None
    except IntpkgError as exc:
        assets, error = [], str(exc)
    return _integration(name, "assets", assets=assets, cluster_error=error)


@blueprint.route("/app/integrations/<name>/changelog")
def integration_changelog(name: str):
    return _integration(name, "changelog")


@blueprint.route("/app/integrations/<name>/assets/<action>", methods=["POST"])
def assets_action(name: str, action: str):
    if action not in ("install", "uninstall"):
        abort(404)
    done = core().install(name) if action == "install" else core().uninstall(name)
    flash(f"{'Installed' if action == 'install' else 'Removed'} {len(done)} asset(s).", "success")
    return redirect(url_for("pages.integration_assets", name=name))


@blueprint.route("/files/<name>/<version>/<path:path>")
def package_file(name: str, version: str, path: str):
    entry = _entry_or_404(name, version)
    try:
        data = entry.read_file(path)
    except (IntpkgError, OSError, KeyError, ValueError):
        abort(404)
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if kind not in ("image/png", "image/svg+xml", "image/jpeg", "image/gif", "image/webp"):
        abort(404)  # only images are served: the package's other files are not the page's business
    response = Response(data, mimetype=kind)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


# ---- integration policies ---------------------------------------------------------------------

@blueprint.route("/app/integrations/<name>/add", methods=["GET", "POST"])
def add_policy(name: str):
    entry = _entry_or_404(name)
    package = core().package(name)
    if request.method == "GET":
        existing = {p.get("name") for p in core().store(name).list()}
        number = next(n for n in range(1, 10_000) if f"{name}-{n}" not in existing)
        form = build_form(package, default_policy(package, f"{name}-{number}"))
        return render_template("policy_form.html", entry=entry, form=form, policy=None,
                               mock=current_app.extensions["mock"])
    body = policy_from_form(package, request.form)
    try:
        saved = core().save_policy(name, body)
    except PolicyError as exc:
        form = build_form(package, body, exc.problems)
        return render_template("policy_form.html", entry=entry, form=form, policy=None,
                               mock=current_app.extensions["mock"]), 400
    flash(f"Integration policy {saved['name']!r} saved.", "success")
    return redirect(url_for("pages.integration_policies", name=name, saved=saved["id"]))


@blueprint.route("/app/integrations/<name>/policies/<policy_id>", methods=["GET", "POST"])
def edit_policy(name: str, policy_id: str):
    entry = _entry_or_404(name)
    package = core().package(name)
    try:
        policy = core().store(name).get(policy_id)
    except LookupError:
        abort(404, "no such integration policy")
    if request.method == "GET":
        return render_template("policy_form.html", entry=entry, form=build_form(package, policy), policy=policy,
                               mock=current_app.extensions["mock"])
    body = policy_from_form(package, request.form)
    try:
        saved = core().save_policy(name, body, policy_id)
    except PolicyError as exc:
        form = build_form(package, _with_saved_secrets(body, policy), exc.problems)
        return render_template("policy_form.html", entry=entry, form=form, policy=policy,
                               mock=current_app.extensions["mock"]), 400
    flash(f"Integration policy {saved['name']!r} saved.", "success")
    return redirect(url_for("pages.integration_policies", name=name, saved=saved["id"]))


def _with_saved_secrets(body: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any]:
    """The form shows "Replace" for secrets the submitted form left alone."""
    try:
        return keep_unsent_secrets(body, policy, core().store(policy["package"]["name"]))
    except PolicyError:
        return body  # a secret that must be entered again (a new address) shows as not saved


@blueprint.route("/app/policies/<policy_id>/delete", methods=["POST"])
def delete_policy(policy_id: str):
    try:
        name, policy = core().find_policy(policy_id)
    except NotFound:
        abort(404)
    core().delete_policy(policy_id)
    flash(f"Integration policy {policy.get('name')!r} deleted.", "success")
    return redirect(url_for("pages.integration_policies", name=name))


# ---- collector ---------------------------------------------------------------------------------

@blueprint.route("/app/collector")
def collector():
    packages = [(e, core().collector(e.name).health()) for e in core().catalog.entries() if _has_policies(e.name)]
    return render_template("collector.html", packages=packages)


def _has_policies(name: str) -> bool:
    return _runnable(name) and bool(core().store(name).list())


@blueprint.route("/app/collector/<name>/<action>", methods=["POST"])
def collector_action(name: str, action: str):
    if action not in ("start", "stop"):
        abort(404)
    collector = core().collector(name)
    if action == "start":
        collector.start()
        flash("Collector started.", "success")
    else:
        collector.stop()
        flash("Collector stopped; its cursors are saved.", "success")
    return redirect(url_for("pages.collector"))


# ---- dashboards ----------------------------------------------------------------------------------

@blueprint.route("/app/dashboards")
def dashboards():
    return render_template("dashboards.html", dashboards=core().dashboards())


@blueprint.route("/app/dashboards/<dashboard_id>")
def dashboard(dashboard_id: str):
    try:
        _, found = core().dashboard(dashboard_id)
    except NotFound:
        abort(404, "no such dashboard")
    return render_template("dashboard.html", dashboard=found)


@blueprint.route("/vendor/<name>")
def vendor(name: str):
    asset = ASSETS.get(name)
    if asset is None:
        abort(404)
    response = send_file(asset.path(), mimetype="text/javascript", max_age=86400)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


# ---- security: detection rules and alerts ----------------------------------------------------------

@blueprint.route("/app/security/rules")
def rules():
    return render_template("rules.html", rules=core().rule_states())


@blueprint.route("/app/security/rules/<rule_id>/<action>", methods=["POST"])
def rule_action(rule_id: str, action: str):
    if action not in ("enable", "disable"):
        abort(404)
    try:
        state = core().set_rule_enabled(rule_id, action == "enable")
    except NotFound:
        abort(404, "no such rule")
    flash(f"Rule {state['name']!r} {'enabled' if state['enabled'] else 'disabled'}.", "success")
    return redirect(url_for("pages.rules"))


@blueprint.route("/app/security/alerts")
def alerts():
    rule_id = request.args.get("rule_id") or None
    names = {state["rule_id"]: state["name"] for _, state in core().rule_states()}
    counts = sorted(core().alert_counts().items(), key=lambda item: -item[1])
    return render_template("alerts.html", alerts=core().alerts(rule_id=rule_id), rule_id=rule_id, names=names,
                           counts=counts)


# ---- data streams ------------------------------------------------------------------------------

@blueprint.route("/app/data-streams")
def data_streams():
    rows = []
    for entry in core().catalog.entries():
        if _runnable(entry.name):
            rows += datastreams.data_stream_stats(core().client(), core().package(entry.name))
    return render_template("data_streams.html", rows=rows)


@blueprint.route("/app/data-streams/<path:index>")
def events(index: str):
    package = _package_of_index(index)
    fields = [f for f in request.args.get("fields", "").split(",") if f] or \
        ["@timestamp", "event.action", "event.outcome", "user.email", "source.ip", "message"]
    start, end = request.args.get("start") or "now-30d", request.args.get("end") or "now"
    query = request.args.get("q", "")
    error, page = None, None
    try:
        page = datastreams.search_events(core().client(), index, start=start, end=end, query=query, fields=fields,
                                         size=50, package=package)
    except datastreams.QueryError as exc:
        error = str(exc)
    available = datastreams.field_names(core().client(), index, package=package)
    return render_template("events.html", index=index, page=page, error=error, fields=fields, start=start, end=end,
                           q=query, available=available)


def _package_of_index(index: str):
    for entry in core().catalog.entries():
        if _runnable(entry.name):
            package = core().package(entry.name)
            try:
                datastreams.check_index(package, index)
                return package
            except datastreams.IndexRefused:
                continue
    abort(404, "not a data stream of an integration")
