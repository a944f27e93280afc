"""`intpkg up`: the main job. Start the local node, install the package, collect both data streams.

Collects from the real Cloudflare API when credentials are in the environment (the names
Cloudflare's own tools use: CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY, with
CLOUDFLARE_ACCOUNT_ID and, for HTTP request logs, CLOUDFLARE_ZONE_ID; each may list several ids
separated by commas, and each id gets its own policy, as in Fleet) or policy files are given;
otherwise from the mock Cloudflare API that the package bundles under `_dev/deploy/`, so that a
newcomer sees audit and request logs land within a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intpkg import settings
from intpkg.agent.policy import load_policy_file, plan_policies
from intpkg.agent.report import progress_lines
from intpkg.agent.state import StatusBoard
from intpkg.assets.install import install_package
from intpkg.cloudflare.ratelimit import BUDGET
from intpkg.commands._collector import add_collector_args, agent_options
from intpkg.commands._target import add_target_args, client_from_args, target_from_args
from intpkg.commands.ui import add_ui_args
from intpkg.errors import IntpkgError
from intpkg.package import Package
from intpkg.stack.node import LocalNode

if TYPE_CHECKING:
    from intpkg.cloudflare.mockapi import CloudflareMock

INPUT = "cloudflare-httpjson"
ALERT_LOOKBACK = timedelta(minutes=3)


def register(sub: argparse._SubParsersAction) -> None:
    up = sub.add_parser("up", help="main job: start the local node, install the package and collect")
    up.add_argument("package_dir", nargs="?", type=Path, default=Path("."), help="package folder (default: .)")
    up.add_argument("--policy", type=Path, action="append",
                    help="package policy file, repeatable (default: built from CLOUDFLARE_* variables)")
    up.add_argument("--mock", action="store_true", help="collect from the bundled mock API even with credentials")
    up.add_argument("--once", action="store_true", help="collect one interval per stream, then exit")
    up.add_argument("--no-ui", action="store_true", help="do not serve the integrations UI")
    up.add_argument("--no-detection", action="store_true",
                    help="do not run the package's detection rules (alerts to intpkg-alerts-default)")
    add_ui_args(up, prefix="ui-")
    add_collector_args(up)
    add_target_args(up)
    up.set_defaults(func=cmd_up)


def _ids(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def credentials_policies(env: dict[str, str]) -> list[dict[str, Any]] | None:
    """Policies for the real API from Cloudflare's environment variables, or None if they are absent.

    One policy per account in CLOUDFLARE_ACCOUNT_ID (audit logs) and per zone in CLOUDFLARE_ZONE_ID
    (request logs, when set), with the same credentials; each is named after its id.
    """
    token = env.get("CLOUDFLARE_API_TOKEN")
    email, key = env.get("CLOUDFLARE_EMAIL"), env.get("CLOUDFLARE_API_KEY")
    if not (token or (email and key)):
        return None
    accounts = _ids(env.get("CLOUDFLARE_ACCOUNT_ID"))
    if not accounts:
        raise IntpkgError("Cloudflare credentials are set but CLOUDFLARE_ACCOUNT_ID is not; set it to the account "
                          "whose audit logs to collect (32 hex characters, shown in the dashboard's URL; several "
                          "separated by commas).")
    if token:
        credentials = {"api_token": "${env:CLOUDFLARE_API_TOKEN}"}
    else:
        credentials = {"auth_email": "${env:CLOUDFLARE_EMAIL}", "auth_key": "${env:CLOUDFLARE_API_KEY}"}
    return [_policy(account, "cloudflare.audit", {"account_id": account, **credentials}) for account in accounts] + \
        [_policy(zone, "cloudflare.logpull", {"zone_id": zone, **credentials})
         for zone in _ids(env.get("CLOUDFLARE_ZONE_ID"))]


def _policy(name: str, dataset: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "inputs": {INPUT: {"streams": {dataset: {"vars": variables}}}}}


def mock_policies(mock: CloudflareMock) -> list[dict[str, Any]]:
    """Both data streams from the bundled mock API (its primary account, zone and test token)."""
    common = {"api_token": mock.token, "api_url": mock.base_url}
    logpull: dict[str, Any] = {"zone_id": mock.zone_id, **common}
    if (mock.api.state.zones.get(mock.zone_id) or {}).get("bot_management"):
        logpull["bot_management_fields"] = True  # the zone has Bot Management: bot scores fill the dashboards
    return [_policy(mock.account_id, "cloudflare.audit", {"account_id": mock.account_id, "interval": "1m", **common}),
            _policy(mock.zone_id, "cloudflare.logpull", logpull)]


def cmd_up(args: argparse.Namespace) -> int:
    from intpkg.agent.runner import Agent, tune_gc_for_collection

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # Ctrl-C, and SIGTERM (a service manager, `kill`), stop it the same way: flush, save cursors. SIGINT is set
    # explicitly: a shell that starts a job in the background makes it ignore SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    target = target_from_args(args)
    if not target.external:
        meta = LocalNode().up()
        print(f"search node: {meta['url']} ({meta['flavor']} {meta.get('version', '')})")
    client = client_from_args(args)
    package = Package.load(args.package_dir)
    install_package(client, package.path)
    print(f"package {package.name} {package.version} installed into {client.target.url}")

    with contextlib.ExitStack() as stack:
        policies = [load_policy_file(path) for path in args.policy] if args.policy else None
        if policies is None and not args.mock:
            policies = credentials_policies(dict(os.environ))
        mock = None
        if policies is None:
            from intpkg.cloudflare.mockapi import CloudflareMock

            mock = stack.enter_context(CloudflareMock.from_package(package.path, scenarios=("incident",)))
            policies = mock_policies(mock)
            print(f"no Cloudflare credentials (CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL + CLOUDFLARE_API_KEY, with "
                  f"CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_ZONE_ID): collecting audit and HTTP request logs from the "
                  f"bundled mock API at {mock.base_url}")
        else:
            print("collecting from the Cloudflare API" if not args.policy
                  else f"collecting with {', '.join(map(str, args.policy))}")
        plans = plan_policies(package, policies)
        state_dir = (args.state_dir or settings.agent_state_dir()).resolve()
        agent = Agent(plans, client, state_dir, budget_policy=BUDGET, **agent_options(args))
        tune_gc_for_collection()
        worker = threading.Thread(target=agent.run, kwargs={"once": args.once}, daemon=True)
        worker.start()
        detecting = not args.no_detection and not args.once and (package.path / "kibana" / "security_rule").is_dir()
        names = {}
        if detecting:
            names = {rule.rule_id: rule.name for rule in stack.enter_context(_detecting(client, package)).rules}
        if not args.no_ui and not args.once:
            ui = stack.enter_context(_serving_ui(args, package, target, mock))
            print(f"integrations UI: {ui.url}", flush=True)
        try:
            while worker.is_alive():
                worker.join(timeout=10)
                if worker.is_alive():
                    _report(client, plans, agent.status.path)
                    if detecting:
                        _report_alerts(client, names)
        except KeyboardInterrupt:
            print("stopping: flushing queued events and saving cursors ...")
            agent.stop()
            worker.join()
        _report(client, plans, agent.status.path)
        code, problems = agent.outcome(StatusBoard.read(agent.status.path))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"collector status: intpkg status --state-dir {state_dir}")
    return code


@contextlib.contextmanager
def _serving_ui(args: argparse.Namespace, package: Package, target, mock: CloudflareMock | None):
    """The integrations UI beside the collector; on the way out it stops, and so does the collector it started
    (which `intpkg up` or `intpkg ui` starts again next time)."""
    from intpkg.ui.server import start_ui

    offered = {"api_url": mock.base_url, "account_id": mock.account_id, "zone_id": mock.zone_id,
               "token": mock.token} if mock else None
    server = start_ui([package.path, *args.registry], settings.ui_home(), target, host=args.ui_host,
                      port=args.ui_port, token=settings.ui_token(), mock=offered)
    try:
        yield server
    finally:
        server.close()
        for name in server.integrations.with_policies():
            server.integrations.collector(name).stop(remember=False)


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _detecting(client, package: Package):
    """The detection engine beside the collector: the package's enabled rules on their schedule.

    Windows are widened by the collector's own delay (`ALERT_LOOKBACK`: audit logs are read up to two
    minutes behind, once a minute), so that an event collected late is still seen by its rule.
    """
    from intpkg.detection.engine import DetectionEngine

    engine = DetectionEngine.for_package(client, package.path, settings.detection_state_dir(),
                                         extra_lookback=ALERT_LOOKBACK)
    stop = threading.Event()
    thread = threading.Thread(target=engine.run_forever, args=(stop,), name="detection", daemon=True)
    thread.start()
    enabled = sum(engine.enabled().values())
    print(f"detection: {enabled} of {len(engine.rules)} rules enabled; alerts in {engine.alerts_index}", flush=True)
    try:
        yield engine
    finally:
        stop.set()
        thread.join(timeout=30)


def _report_alerts(client, names: dict[str, str]) -> None:
    """One line: the alerts written so far, and the rules with the most."""
    from intpkg.detection.alerts import alert_counts

    counts = alert_counts(client)
    if counts:
        total = sum(counts.values())
        top = ", ".join(f"{names.get(rule_id, rule_id)}: {n}"
                        for rule_id, n in sorted(counts.items(), key=lambda kv: -kv[1])[:5])
        print(f"[{time.strftime('%H:%M:%S')}] alerts: {total} ({top})", flush=True)


def _report(client, plans, status_path: Path) -> None:
    for line in progress_lines(client, plans, StatusBoard.read(status_path)):
        print(line, flush=True)
