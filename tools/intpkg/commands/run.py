"""`intpkg run`: the collector. `intpkg status`: what it did last."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from intpkg import settings
from intpkg.agent.policy import load_policy_file, plan_policies
from intpkg.agent.report import status_lines
from intpkg.agent.state import StatusBoard
from intpkg.cloudflare.ratelimit import BUDGET
from intpkg.commands._collector import add_collector_args, agent_options
from intpkg.commands._package import add_package_arg
from intpkg.commands._target import add_target_args, wait_for_client
from intpkg.package import Package


def register(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="collect: run the policy's streams and ship events to the cluster")
    add_package_arg(run)
    run.add_argument("--policy", type=Path, action="append", required=True,
                     help="package policy file (YAML/JSON); repeat it for one policy per account or zone")
    add_collector_args(run)
    run.add_argument("--once", action="store_true", help="run one interval per stream, then exit")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    add_target_args(run)
    run.set_defaults(func=cmd_run)

    status = sub.add_parser("status", help="per-stream status of the collector (last run, events, errors, cursor)")
    status.add_argument("--state-dir", type=Path, help="the collector's state folder")
    status.set_defaults(func=cmd_status)


def cmd_run(args: argparse.Namespace) -> int:
    from intpkg.agent.runner import Agent, state_lock, tune_gc_for_collection

    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    package = Package.load(args.package_dir)
    plans = plan_policies(package, [load_policy_file(path) for path in args.policy])
    state_dir = (args.state_dir or settings.agent_state_dir()).resolve()
    with state_lock(state_dir):  # held while waiting for the cluster too: a waiting collector is a running one
        stopping = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            client = wait_for_client(args, stopping)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        agent = Agent(plans, client, state_dir, budget_policy=BUDGET, **agent_options(args))
        agent.install_signal_handlers()
        tune_gc_for_collection()
        for plan in plans:
            print(f"stream {plan.dataset}: shipping to {plan.index} on {client.target.url}", file=sys.stderr)
        code, problems = agent.outcome(agent.run(once=args.once, lock=False))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return code


def cmd_status(args: argparse.Namespace) -> int:
    path = (args.state_dir or settings.agent_state_dir()) / "status.json"
    status = StatusBoard.read(path)
    streams = status.get("streams") or {}
    if not streams:
        print(f"No collector status at {path}; run `intpkg run --policy ...` first.")
        return 1
    print("\n".join(status_lines(status)))
    return 0
