"""The UI's collector: `intpkg run` over the saved integration policies, in a process of its own.

It is the same agent as `intpkg run` (cursors, status file, delivery contract), started in its own
session so that it outlives the UI: a restarted UI finds it by its state folder's lock and takes it
over. Whether it should run is remembered (`collector.json`), so a UI started after a reboot starts
it again. Saving or deleting a policy restarts a running collector on the new set of policies
(SIGTERM lets it flush its queue and save its cursors first).

Secrets reach the process only through its environment (`PolicyStore.for_agent`); the cluster's
credentials too (INTPKG_ES_*), never its command line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from intpkg.agent.health import next_run, stream_health
from intpkg.agent.policy import PolicyError, plan_streams
from intpkg.agent.runner import lock_holder
from intpkg.agent.state import StatusBoard, write_atomic
from intpkg.errors import IntpkgError
from intpkg.stack.client import Target
from intpkg.ui.store import PolicyStore


class CollectorError(IntpkgError):
    pass


# The UI's own credentials and other clusters' or accounts' are not the collector's business: it gets
# its cluster (INTPKG_ES_*) and its policies' secrets (UI_SECRET_*) from the UI, and nothing else of the kind.
_NOT_INHERITED = ("INTPKG_ES_", "ELASTIC_PACKAGE_", "INTPKG_UI_", "CLOUDFLARE_", "UI_SECRET_")


class Collector:
    def __init__(self, folder: Path, store: PolicyStore, target: Target) -> None:
        self.folder = folder
        self.store = store
        self.target = target
        self.state_dir = folder / "agent"
        self._lock = threading.RLock()
        self._child: subprocess.Popen | None = None

    # ---- state -----------------------------------------------------------------------------------
    @property
    def _desired_file(self) -> Path:
        return self.folder / "collector.json"

    def wanted(self) -> bool:
        try:
            return bool(json.loads(self._desired_file.read_text()).get("running"))
        except (OSError, ValueError):
            return False

    def _want(self, running: bool) -> None:
        write_atomic(self._desired_file, {"running": running}, durable=False)

    def pid(self) -> int | None:
        """The collector process's pid (-1: running, pid not yet written), or None when none runs."""
        if self._child is not None and self._child.poll() is not None:
            self._child = None  # reap it
        return lock_holder(self.state_dir)

    def running(self) -> bool:
        return self.pid() is not None

    # ---- control ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the collector on every saved policy (no-op when it runs); CollectorError when there is none."""
        with self._lock:
            self._want(True)
            if self.running():
                return
            self._spawn()

    def stop(self, *, timeout: float = 30.0, remember: bool = True) -> None:
        """Stop the collector and wait until it has flushed and saved its cursors (SIGKILL after `timeout`)."""
        with self._lock:
            if remember:
                self._want(False)
            pid = self.pid()
            deadline = time.monotonic() + 2
            while pid == -1 and time.monotonic() < deadline:  # the lock is held, its pid not yet written
                time.sleep(0.05)
                pid = self.pid()
            if pid is None or pid <= 0:
                return
            for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    return
                deadline = time.monotonic() + wait
                while self.running() and time.monotonic() < deadline:
                    time.sleep(0.1)
                if not self.running():
                    return
            raise CollectorError(f"the collector (pid {pid}) did not stop")

    def policies_changed(self) -> None:
        """Run the new set of policies: restart a running collector (stop it when none is left)."""
        with self._lock:
            if not self.running():
                return
            self.stop(remember=False)
            if self.store.list():
                self._spawn()
            else:
                self._want(False)

    def resume(self) -> None:
        """Start the collector when it should run and does not (a UI started after the collector ended)."""
        if self.wanted() and not self.running() and self.store.list():
            self.start()

    def _spawn(self) -> None:
        policies = self.store.list()
        if not policies:
            raise CollectorError("there is no integration policy to collect with; add one first")
        run_dir = self.folder / "run"
        for old in run_dir.glob("*.json"):
            old.unlink()
        env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
        env.update(self._target_env())
        command = [sys.executable, "-m", "intpkg", "run", str(self.store.package.path),
                   "--state-dir", str(self.state_dir), "--log-level", "INFO"]
        for policy in policies:
            runnable, secret_env = self.store.for_agent(policy)
            write_atomic(run_dir / f"{policy['id']}.json", runnable)
            env.update(secret_env)
            command += ["--policy", str(run_dir / f"{policy['id']}.json")]
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "collector.log", "ab") as log:
            self._child = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                           start_new_session=True)
        deadline = time.monotonic() + 20
        while lock_holder(self.state_dir) is None:
            if self._child.poll() is not None:
                raise CollectorError(f"the collector exited at once (code {self._child.returncode}); see "
                                     f"{self.state_dir / 'collector.log'}: {self.log_tail(3)}")
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)

    def _target_env(self) -> dict[str, str]:
        t = self.target
        env = {"INTPKG_ES_URL": t.url}
        for name, value in (("API_KEY", t.api_key), ("USERNAME", t.username), ("PASSWORD", t.password),
                            ("CA_CERT", t.ca_cert)):
            if value:
                env[f"INTPKG_ES_{name}"] = value
        if not t.verify_certs:
            env["INTPKG_ES_INSECURE"] = "true"
        return env

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.state_dir / "collector.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # ---- health ----------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """Per policy and per stream: health, last run, events acknowledged, last error, cursor, next run."""
        running = self.running()
        status = StatusBoard.read(self.state_dir / "status.json")
        entries = status.get("streams") or {}
        policies = []
        for policy in self.store.list():
            streams = []
            runnable, secret_env = self.store.for_agent(policy)
            try:  # the stream ids only: the secrets' values are not needed
                plans = plan_streams(self.store.package, runnable, env=dict.fromkeys(secret_env, "x" * 16))
            except PolicyError as exc:
                policies.append({"id": policy["id"], "name": policy.get("name"), "state": "failed",
                                 "reason": str(exc), "streams": []})
                continue
            for plan in plans:
                entry = entries.get(plan.stream_id) or {}
                health = stream_health(entry, running=running)
                streams.append({
                    "stream_id": plan.stream_id, "dataset": plan.dataset, "index": plan.index,
                    "state": health.state, "reason": health.reason,
                    "last_run": entry.get("last_run_finished"), "next_run": next_run(entry) if running else None,
                    "events_acked": entry.get("events_acked", 0), "events_rejected": entry.get("events_rejected", 0),
                    "last_error": entry.get("last_error"), "cursor": entry.get("cursor"),
                })
            policies.append({"id": policy["id"], "name": policy.get("name"), "state": _worst(streams),
                             "streams": streams})
        wanted = self.wanted()
        problem = (f"the collector stopped unexpectedly; the end of {self.state_dir / 'collector.log'}:\n"
                   f"{self.log_tail(8)}") if wanted and not running else None
        return {"running": running, "wanted": wanted, "pid": self.pid(), "updated_at": status.get("updated_at"),
                "problem": problem, "policies": policies}


_ORDER = ["failed", "degraded", "starting", "stopped", "healthy"]


def _worst(streams: list[dict[str, Any]]) -> str:
    states = {s["state"] for s in streams}
    return next((state for state in _ORDER if state in states), "stopped")
