"""The detection engine: run the enabled rules on their schedule and write alerts, without Kibana.

    engine = DetectionEngine(client, load_rules(package_dir), state_dir / "state.json")
    engine.run_once()                 # every due rule, once; or
    engine.run_forever(stop_event)    # until stop_event is set (polls every `poll_seconds`)

**Schedule.** A rule first runs at the current time; after that, at every multiple of its `interval`
after its last run, each execution's `now` being that scheduled time (its window `[now - from, now]`).
The state file records each rule's last execution time, so an engine that was stopped for a while
runs the executions it missed, in order (at most `max_catchup` per rule; older ones are skipped
and the gap recorded), and an engine restarted right after a run does not run again. A failed
execution is retried one interval later, from where it failed. Because alert `_id`s are deterministic
(`intpkg.detection.alerts`), an execution run twice (a crash before the state was saved) adds no copy.

**Threshold history.** After a threshold alert, the group's events up to the last one it counted do not
count again (Kibana's threshold signal history), kept per rule in the state file.

**Enable/disable.** A rule's `enabled` attribute is its default; `set_enabled` records an override in
`enabled_rules.json` beside the state file, which the engine reads before every run (so the UI, even
in another process, can switch rules). A disabled rule does not run; enabled again, it starts afresh
at the current time (the time it was off is not caught up, as in Kibana).

**Late events.** A rule sees an event only if it reached the cluster before the window of the first
execution whose window holds its `@timestamp` ended being searched: `from` minus `interval` (Kibana's
"additional look-back", one minute for `now-6m` every `5m`) is the lateness a rule tolerates. A
collector polling every minute can deliver later than that; `extra_lookback` widens every window by
a fixed amount (alerts stay unique by their `_id`; a threshold then counts over the wider window).

Files are replaced atomically; one engine at a time may run on a state file (`run_forever` locks it).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from intpkg import settings
from intpkg.agent.state import write_atomic
from intpkg.detection import DetectionError
from intpkg.detection.alerts import ALERTS_INDEX, build_alert, ensure_alerts_index, write_alerts
from intpkg.detection.execute import execute, iso_time, parse_time
from intpkg.detection.rules import Rule, load_rules
from intpkg.errors import IntpkgError
from intpkg.locks import pid_lock
from intpkg.stack.client import SearchClient

log = logging.getLogger("intpkg.detection")

STATE_FILE = "state.json"
ENABLED_FILE = "enabled_rules.json"
DEFAULT_POLL_SECONDS = 10.0
DEFAULT_MAX_CATCHUP = 288  # executions per rule after a stop: a day of 5-minute rules


@dataclass
class RuleRun:
    """One execution of one rule by `run_once`."""

    rule_id: str
    name: str
    now: str
    matches: int = 0
    new_alerts: int = 0
    existing_alerts: int = 0
    error: str | None = None
    truncated: bool = False
    duration: float = 0.0


@dataclass
class _Files:
    state: Path
    enabled: Path
    lock: Path
    state_mutex: threading.RLock = field(default_factory=threading.RLock)  # one run at a time in a process
    enabled_mutex: threading.Lock = field(default_factory=threading.Lock)  # switches never wait for a run


class DetectionEngine:
    """Runs `rules` against the cluster of `client`; state in `state_file` (see the module docstring).

    `client` may be None for an engine used only to list rules and switch them (`rule_states`,
    `set_enabled`); `run_once` needs one."""

    def __init__(self, client: SearchClient | None, rules: Sequence[Rule], state_file: Path, *,
                 enabled_file: Path | None = None, alerts_index: str = ALERTS_INDEX,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 max_catchup: int = DEFAULT_MAX_CATCHUP, extra_lookback: timedelta = timedelta(0)) -> None:
        self.client = client
        self.rules = list(rules)
        self._by_id = {r.rule_id: r for r in self.rules}
        state_file = Path(state_file)
        self.files = _Files(state=state_file, enabled=Path(enabled_file or state_file.parent / ENABLED_FILE),
                            lock=state_file.with_name(state_file.name + ".lock"))
        self.alerts_index = alerts_index
        self.clock = clock
        self.max_catchup = max(1, max_catchup)
        self.extra_lookback = extra_lookback
        self._index_ready = False

    @classmethod
    def for_package(cls, client: SearchClient | None, package_dir: Path, state_dir: Path | None = None,
                    **kwargs: Any) -> DetectionEngine:
        """An engine for the package's `kibana/security_rule/*.json`, its state in `state_dir`
        (default: `settings.detection_state_dir()`, i.e. `$INTPKG_HOME/detection`)."""
        folder = Path(state_dir) if state_dir else settings.detection_state_dir()
        return cls(client, load_rules(Path(package_dir)), folder / STATE_FILE, **kwargs)

    # ---- enable / disable ---------------------------------------------------------------------------

    def set_enabled(self, rule_id: str, enabled: bool) -> dict[str, Any]:
        """Switch a rule on or off (persisted); its new `rule_states()` entry. Unknown rule_id: DetectionError."""
        if rule_id not in self._by_id:
            raise DetectionError(f"no rule has rule_id {rule_id!r}.")
        with self.files.enabled_mutex:
            overrides = _read_json(self.files.enabled)
            overrides[rule_id] = bool(enabled)
            write_atomic(self.files.enabled, overrides, durable=False)
        return next(s for s in self.rule_states() if s["rule_id"] == rule_id)

    def enabled(self) -> dict[str, bool]:
        """rule_id -> enabled (the override of enabled_rules.json, else the rule's own `enabled`)."""
        overrides = _read_json(self.files.enabled)
        return {r.rule_id: bool(overrides.get(r.rule_id, r.enabled)) for r in self.rules}

    def rule_states(self) -> list[dict[str, Any]]:
        """Every rule (`Rule.summary()`) with `enabled`, `enabled_by_default`, and from the state file:
        `status` (never_run / succeeded / failed), `last_run` (the last execution's `now`), `last_attempt`,
        `next_run`, `error`, `last_matches`, `last_new_alerts`, `alerts_written` (since the state file
        began), `gap` (executions skipped after a long stop, if any)."""
        enabled = self.enabled()
        state = _read_json(self.files.state).get("rules") or {}
        out = []
        for rule in self.rules:
            entry = state.get(rule.rule_id) or {}
            item = rule.summary()
            item.update(
                enabled=enabled[rule.rule_id], enabled_by_default=rule.enabled,
                status=entry.get("status") or "never_run", last_run=entry.get("last_run"),
                last_attempt=entry.get("last_attempt"), error=entry.get("error"),
                last_matches=entry.get("last_matches", 0), last_new_alerts=entry.get("last_new_alerts", 0),
                alerts_written=entry.get("alerts_written", 0), gap=entry.get("gap"),
                next_run=self._next_run(rule, entry) if enabled[rule.rule_id] else None,
            )
            out.append(item)
        return out

    # ---- running ------------------------------------------------------------------------------------

    def run_once(self, now: datetime | None = None) -> list[RuleRun]:
        """Run every enabled rule that is due at `now` (default: the clock), including missed executions;
        one `RuleRun` per execution. A failing rule is reported in its RuleRun, not raised; the state
        file is saved after each rule."""
        if self.client is None:
            raise DetectionError("the detection engine has no cluster client to run rules with.")
        now = (now or self.clock()).astimezone(UTC)
        if not self._index_ready:
            ensure_alerts_index(self.client, self.alerts_index)
            self._index_ready = True
        enabled = self.enabled()
        runs: list[RuleRun] = []
        with self.files.state_mutex:
            state = _read_json(self.files.state)
            rules_state = state.setdefault("rules", {})
            for rule in self.rules:
                entry = rules_state.setdefault(rule.rule_id, {})
                if not enabled[rule.rule_id]:
                    if entry.pop("last_run", None) is not None:  # enabled again later: start afresh
                        entry["status"] = "disabled"
                        write_atomic(self.files.state, state, durable=False)
                    continue
                times = self._due_times(rule, entry, now)
                for moment in times:
                    run = self._execute(rule, entry, moment)
                    runs.append(run)
                    if run.error:
                        break
                if times:
                    write_atomic(self.files.state, state, durable=True)
        return runs

    def run_forever(self, stop_event: threading.Event, *, poll_seconds: float = DEFAULT_POLL_SECONDS) -> None:
        """`run_once` every `poll_seconds` until `stop_event` is set, holding the state file's lock
        (DetectionError when another engine holds it). Errors are logged and retried on the next poll."""
        with self.locked():
            while not stop_event.is_set():
                try:
                    for run in self.run_once():
                        if run.error:
                            log.warning("rule %s (%s) failed at %s: %s", run.name, run.rule_id, run.now, run.error)
                        elif run.new_alerts:
                            log.info("rule %s: %d new alert(s)", run.name, run.new_alerts)
                except IntpkgError as exc:
                    log.warning("detection engine: %s", exc)
                except Exception:  # noqa: BLE001 - the loop must outlive a bug in one run
                    log.exception("detection engine run failed")
                stop_event.wait(poll_seconds)

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """Hold the state file's lock (one running engine per state file)."""
        def refused(holder: str) -> DetectionError:
            return DetectionError(f"another detection engine ({holder}) uses {self.files.state}; stop it or give "
                                  "this one its own --state-dir")

        return pid_lock(self.files.lock, refused, wait=0)

    # ---- internals ----------------------------------------------------------------------------------

    def _due_times(self, rule: Rule, entry: dict[str, Any], now: datetime) -> list[datetime]:
        interval = timedelta(seconds=rule.interval_seconds)
        last = entry.get("last_run")
        if entry.get("status") == "failed" and entry.get("last_attempt"):
            if now < parse_time(entry["last_attempt"]) + interval:
                return []  # retried one interval after a failure
        if not last:
            return [now]
        start = parse_time(last) + interval
        if start > now:
            return []
        count = int((now - start) / interval) + 1
        if count > self.max_catchup:
            skipped = count - self.max_catchup
            entry["gap"] = {"from": iso_time(start), "executions_skipped": skipped, "noted_at": iso_time(now)}
            start += interval * skipped
            count = self.max_catchup
        return [start + interval * i for i in range(count)]

    def _execute(self, rule: Rule, entry: dict[str, Any], moment: datetime) -> RuleRun:
        assert self.client is not None
        run = RuleRun(rule.rule_id, rule.name, iso_time(moment))
        started = time.perf_counter()
        entry["last_attempt"] = iso_time(self.clock().astimezone(UTC))
        try:
            history = entry.get("threshold_history") or []
            execution = execute(self.client, rule, moment, threshold_history=history,
                                extra_lookback=self.extra_lookback)
            created = self.clock().astimezone(UTC)
            alerts = [build_alert(rule, execution, match, created) for match in execution.matches]
            run.new_alerts, run.existing_alerts = write_alerts(self.client, alerts, self.alerts_index)
            run.matches, run.truncated = len(execution.matches), execution.truncated
            if rule.type == "threshold":
                entry["threshold_history"] = _updated_history(history, execution)
            entry.update(status="succeeded", last_run=run.now, error=None, last_matches=run.matches,
                         last_new_alerts=run.new_alerts,
                         alerts_written=int(entry.get("alerts_written", 0)) + run.new_alerts)
        except IntpkgError as exc:
            run.error = str(exc)
            entry.update(status="failed", error=run.error)
        run.duration = time.perf_counter() - started
        entry["duration_seconds"] = round(run.duration, 3)
        return run

    def _next_run(self, rule: Rule, entry: dict[str, Any]) -> str | None:
        interval = timedelta(seconds=rule.interval_seconds)
        if entry.get("status") == "failed" and entry.get("last_attempt"):
            return iso_time(parse_time(entry["last_attempt"]) + interval)
        if not entry.get("last_run"):
            return None  # at the engine's next poll
        return iso_time(parse_time(entry["last_run"]) + interval)


def _updated_history(history: list[dict[str, Any]], execution: Any) -> list[dict[str, Any]]:
    """The threshold history with this execution's groups (their last counted event), entries that can no
    longer matter (before the window's start) dropped."""
    by_terms = {_terms_key(h.get("terms") or []): h for h in history}
    for match in execution.matches:
        if match.last_time:
            by_terms[_terms_key(match.terms)] = {"terms": match.terms, "last": match.last_time}
    start = execution.start
    return [h for h in by_terms.values() if h.get("last") and parse_time(h["last"]) >= start]


def _terms_key(terms: list[dict[str, Any]]) -> tuple:
    return tuple((t.get("field"), str(t.get("value"))) for t in terms)


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}
