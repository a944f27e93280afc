"""`intpkg detect`: run the package's detection rules against the cluster and write alerts (no Kibana)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from intpkg import settings
from intpkg.commands._package import add_package_arg, package_dir
from intpkg.commands._target import add_target_args, wait_for_client
from intpkg.errors import IntpkgError


def register(sub: argparse._SubParsersAction) -> None:
    detect = sub.add_parser(
        "detect", help="run the enabled detection rules on their schedule and write alerts",
        description="Run the package's kibana/security_rule/*.json rules (query, threshold, new terms) against "
                    "the cluster on their schedule and write alerts to intpkg-alerts-default. The state folder "
                    "remembers each rule's last run (a restart neither skips nor repeats alerts) and the rules "
                    "switched on or off (enabled_rules.json).")
    add_package_arg(detect, repository_fallback=True)
    detect.add_argument("--once", action="store_true", help="run the rules that are due once, then exit")
    detect.add_argument("--state-dir", type=Path,
                        help="the engine's state folder (default: $INTPKG_HOME/detection)")
    detect.add_argument("--list", action="store_true", help="list the rules and their state, then exit")
    detect.add_argument("--enable", metavar="RULE_ID", action="append", default=[], help="switch a rule on")
    detect.add_argument("--disable", metavar="RULE_ID", action="append", default=[], help="switch a rule off")
    detect.add_argument("--poll", type=float, default=10.0, help="seconds between schedule checks (default 10)")
    add_target_args(detect)
    detect.set_defaults(func=cmd_detect)


def cmd_detect(args: argparse.Namespace) -> int:
    from intpkg.detection.engine import DetectionEngine

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    state_dir = (args.state_dir or settings.detection_state_dir()).resolve()
    folder = package_dir(args)
    offline = DetectionEngine.for_package(None, folder, state_dir)
    if not offline.rules:
        raise IntpkgError(f"{folder}: no detection rules in kibana/security_rule/ (build the package first).")
    for rule_id in args.enable:
        offline.set_enabled(rule_id, True)
    for rule_id in args.disable:
        offline.set_enabled(rule_id, False)
    if args.list or args.enable or args.disable:
        for state in offline.rule_states():
            switch = "on " if state["enabled"] else "off"
            print(f"{switch}  {state['rule_id']}  {state['type']:<9}  {state['status']:<10}  "
                  f"last run {state['last_run'] or '-'}  {state['name']}")
        return 0
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        client = wait_for_client(args, stopping)
        engine = DetectionEngine(client, offline.rules, offline.files.state)
        print(f"detection: {len(engine.rules)} rule(s), state in {state_dir}, alerts to {engine.alerts_index} "
              f"on {client.target.url}", file=sys.stderr)
        if not args.once:
            engine.run_forever(stopping, poll_seconds=args.poll)
            return 0
        with engine.locked():
            runs = engine.run_once()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for run in runs:
        outcome = f"error: {run.error}" if run.error else \
            f"{run.matches} match(es), {run.new_alerts} new alert(s)"
        print(f"{run.name} ({run.rule_id}) at {run.now}: {outcome}")
    if not runs:
        print("no rule was due")
    return 1 if any(run.error for run in runs) else 0
