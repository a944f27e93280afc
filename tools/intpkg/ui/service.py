"""What the integrations UI does, apart from HTTP: the one core behind its pages and its Fleet-like API.

`Integrations` knows the catalog, the cluster, and per package its saved policies and collector.
Pages and API handlers call it and only turn its results and errors into HTML or JSON.
"""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intpkg import settings
from intpkg.agent.policy import PolicyError, Problem, plan_streams
from intpkg.assets.install import install_package, uninstall_package
from intpkg.cloudflare.verify import Check
from intpkg.dotted import at, put_at
from intpkg.errors import IntpkgError
from intpkg.package import Package
from intpkg.stack.client import SearchClient, Target
from intpkg.ui.catalog import Catalog, PackageEntry, install_state, installed_version
from intpkg.ui.collector import Collector
from intpkg.ui.forms import var_slots
from intpkg.ui.store import PolicyNotFound, PolicyStore, policy_body

log = logging.getLogger("intpkg.ui")


class NotFound(LookupError):
    """No such package, version or policy."""


@dataclass
class StreamCheck:
    """The credential check of one stream of a policy, as the add-integration page shows it."""

    dataset: str
    ok: bool
    findings: list[dict[str, Any]]
    warnings: list[str]


class Integrations:
    def __init__(self, catalog: Catalog, home: Path, target: Target, *, detection_dir: Path | None = None) -> None:
        self.catalog = catalog
        self.home = home
        self.target = target
        self.detection_dir = detection_dir or settings.detection_state_dir()  # the engine of `intpkg up` reads it
        self._client: SearchClient | None = None
        self._lock = threading.RLock()
        self._stores: dict[str, PolicyStore] = {}
        self._collectors: dict[str, Collector] = {}

    # ---- cluster ---------------------------------------------------------------------------------
    def client(self) -> SearchClient:
        """The cluster's client (ClusterUnreachable while it does not answer; asked again next time)."""
        with self._lock:
            if self._client is None:
                self._client = SearchClient(self.target)
            return self._client

    # ---- packages --------------------------------------------------------------------------------
    def entry(self, name: str, version: str | None = None) -> PackageEntry:
        entry = self.catalog.get(name, version)
        if entry is None:
            raise NotFound(f"no package {name}" + (f" {version}" if version else ""))
        return entry

    def package(self, name: str, version: str | None = None) -> Package:
        return Package.load(self.entry(name, version).materialize(self.home / "packages"))

    def installed(self, entry: PackageEntry) -> str | None:
        """The installed version of `entry`'s package, None when not installed or the cluster is away."""
        try:
            return installed_version(self.client(), entry)
        except Exception:  # noqa: BLE001 - the catalog must show even without a cluster
            return None

    def state(self, entry: PackageEntry) -> str:
        return install_state(entry, self.installed(entry))

    def install(self, name: str, version: str | None = None) -> list[str]:
        """Install (or reinstall) the package's assets; the names of what was installed."""
        report = install_package(self.client(), self.package(name, version).path)
        return report.installed

    def uninstall(self, name: str) -> list[str]:
        return uninstall_package(self.client(), self.package(name).path)

    # ---- dashboards ------------------------------------------------------------------------------
    def dashboards(self) -> list[tuple[str, Any]]:
        """(package name, Dashboard) for every dashboard the catalog's packages ship."""
        from intpkg.dashboards.saved_objects import load_dashboards

        found = []
        for entry in self.catalog.entries():
            found += [(entry.name, d) for d in load_dashboards(entry.materialize(self.home / "packages"))]
        return found

    def dashboard(self, dashboard_id: str) -> tuple[Path, Any]:
        """The package folder and the dashboard with `dashboard_id` (NotFound)."""
        for name, dashboard in self.dashboards():
            if dashboard.id == dashboard_id:
                return self.package(name).path, dashboard
        raise NotFound(f"no dashboard {dashboard_id}")

    def render_panel(self, dashboard_id: str, index: str, **view: Any) -> dict[str, Any]:
        """One panel's data for the time range, query and filters of `view` (the renderer's JSON shape)."""
        from intpkg.dashboards.render import render_panel

        _, dashboard = self.dashboard(dashboard_id)
        panel = next((p for p in dashboard.panels if str(p.index) == index), None)
        if panel is None:
            raise NotFound(f"no panel {index} on dashboard {dashboard_id}")
        return render_panel(self.client(), dashboard, panel, **view)

    def control_options(self, dashboard_id: str, number: int, **view: Any) -> list[str]:
        from intpkg.dashboards.render import control_options

        _, dashboard = self.dashboard(dashboard_id)
        if not 0 <= number < len(dashboard.controls):
            raise NotFound(f"no control {number} on dashboard {dashboard_id}")
        return control_options(self.client(), dashboard, dashboard.controls[number], **view)

    # ---- detection rules and alerts ---------------------------------------------------------------
    def detection(self, name: str) -> Any:
        """The package's detection rules and their switches (the engine's files; the engine runs in `intpkg up`)."""
        from intpkg.detection.engine import DetectionEngine

        return DetectionEngine.for_package(None, self.package(name).path, self.detection_dir)

    def rule_states(self) -> list[tuple[str, dict[str, Any]]]:
        """(package name, rule state) for every rule of every package that has rules."""
        out = []
        for entry in self.catalog.entries():
            if (entry.materialize(self.home / "packages") / "kibana" / "security_rule").is_dir():
                out += [(entry.name, state) for state in self.detection(entry.name).rule_states()]
        return out

    def set_rule_enabled(self, rule_id: str, enabled: bool) -> dict[str, Any]:
        for name, state in self.rule_states():
            if state["rule_id"] == rule_id:
                return self.detection(name).set_enabled(rule_id, enabled)
        raise NotFound(f"no detection rule {rule_id}")

    def alerts(self, *, size: int = 50, rule_id: str | None = None) -> list[dict[str, Any]]:
        from intpkg.detection.alerts import recent_alerts

        return recent_alerts(self.client(), size=size, rule_id=rule_id)

    def alert_counts(self) -> dict[str, int]:
        """Alerts per rule_id, every alert the index holds."""
        from intpkg.detection.alerts import alert_counts

        return alert_counts(self.client())

    # ---- policies --------------------------------------------------------------------------------
    def store(self, name: str) -> PolicyStore:
        with self._lock:
            if name not in self._stores:
                self._stores[name] = PolicyStore(self.home / "policies" / name, self.package(name))
            return self._stores[name]

    def collector(self, name: str) -> Collector:
        with self._lock:
            if name not in self._collectors:
                self._collectors[name] = Collector(self.home / "collectors" / name, self.store(name), self.target)
            return self._collectors[name]

    def with_policies(self) -> list[str]:
        """The catalog's packages that have (or had) saved policies, hence a collector of their own."""
        return [e.name for e in self.catalog.entries() if (self.home / "policies" / e.name).is_dir()]

    def all_policies(self) -> list[tuple[str, dict[str, Any]]]:
        return [(name, policy) for name in self.with_policies() for policy in self.store(name).list()]

    def find_policy(self, policy_id: str) -> tuple[str, dict[str, Any]]:
        for name, policy in self.all_policies():
            if policy.get("id") == policy_id:
                return name, policy
        raise NotFound(f"no integration policy {policy_id}")

    def save_policy(self, name: str, body: dict[str, Any], policy_id: str | None = None) -> dict[str, Any]:
        """Validate and save a policy (PolicyError with every problem), then run it if the collector runs."""
        store = self.store(name)
        if policy_id is not None:
            body = keep_unsent_secrets(body, self._saved(store, policy_id), store)
        problems = store.problems(body, policy_id=policy_id)
        if problems:
            raise PolicyError("the policy has problems", problems)
        saved = store.update(policy_id, body) if policy_id else store.create(body)
        self._restart_collector(name)
        return saved

    @staticmethod
    def _saved(store: PolicyStore, policy_id: str) -> dict[str, Any]:
        try:
            return store.get(policy_id)
        except PolicyNotFound:
            raise NotFound(f"no integration policy {policy_id}") from None

    def delete_policy(self, policy_id: str) -> None:
        name, _ = self.find_policy(policy_id)
        self.store(name).delete(policy_id)
        self._restart_collector(name)

    def _restart_collector(self, name: str) -> None:
        """Run the saved set of policies; a collector that fails to restart shows on the collector page."""
        try:
            self.collector(name).policies_changed()
        except IntpkgError as exc:
            log.warning("the %s collector did not restart on the new policies: %s", name, exc)

    def verify(self, name: str, body: dict[str, Any], policy_id: str | None = None) -> list[StreamCheck]:
        """Check the credentials of each enabled stream of `body` against the Cloudflare API it names.

        Secrets not given in `body` are those saved with `policy_id`. PolicyError when `body` is invalid.
        """
        store = self.store(name)
        if policy_id is not None:
            body = keep_unsent_secrets(body, self._saved(store, policy_id), store)
        checked = store.resolved(policy_body(body))
        if not checked.get("name"):
            checked["name"] = "unsaved"
        results = []
        for plan in plan_streams(store.package, checked, env={}):
            check = Check.for_plan(plan)
            report = check.run(timeout=15)
            results.append(StreamCheck(plan.dataset, report.ok,
                                       [{"ok": f.ok, "check": f.check, "message": f.message} for f in report.findings],
                                       report.warnings))
        return results


def keep_unsent_secrets(body: dict[str, Any], previous: dict[str, Any], store: PolicyStore) -> dict[str, Any]:
    """`body` with the saved secret reference wherever it sends no value for a secret (Fleet's "Replace").

    A saved secret goes only where it went before: when `body` changes an address beside it (a `*_url`
    variable: the API or the proxy), PolicyError asks for the secret again instead of sending it there.
    """
    out = copy.deepcopy(body)
    moved: list[Problem] = []
    for slot in var_slots(store.package):
        if not slot.secret or at(out, slot.path) is not None or at(previous, slot.path) is None:
            continue
        put_at(out, slot.path, at(previous, slot.path))
        for other in var_slots(store.package):
            if other.path[:-1] == slot.path[:-1] and other.name.endswith("_url"):
                default = other.definition.get("default")
                if (at(body, other.path) or default) != (at(previous, other.path) or default):
                    secret, address = (s.definition.get("title", s.name) for s in (slot, other))
                    moved.append(Problem(slot.path, f"enter the {secret} again: the saved one is not sent to a "
                                                    f"new {address}"))
                    break
    if moved:
        raise PolicyError("a saved secret would go to a new address", moved)
    return out
