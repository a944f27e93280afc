"""Run the enabled streams of a policy: render, collect on each interval, ship, save the cursor.

Delivery contract (at-least-once, idempotent ids): a stream's cursor is saved only after its whole
interval succeeded *and* the cluster acknowledged every event of that interval. A crash, a stop or
an unavailable cluster at any point re-reads from the last saved cursor; the ingest pipeline's
deterministic `_id` turns re-sent events into 409 duplicates instead of copies.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import logging
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from intpkg.agent.events import EventBuilder, build_processors
from intpkg.agent.policy import StreamPlan
from intpkg.agent.redact import install_redaction
from intpkg.agent.render import render_template
from intpkg.agent.shipper import (
    DEFAULT_BULK_CONCURRENCY,
    DEFAULT_BULK_SIZE,
    DEFAULT_QUEUE_SIZE,
    Batch,
    BulkShipper,
)
from intpkg.agent.state import CursorStore, StatusBoard
from intpkg.errors import IntpkgError
from intpkg.golang.gotime import parse_duration
from intpkg.locks import holder, pid_lock
from intpkg.stack.client import SearchClient

if TYPE_CHECKING:
    from intpkg.input.ratelimit import BudgetPolicy

# CPython collects its youngest generation every 700 new objects: a decoded page of records, thousands
# of short-lived dicts freed by reference counting anyway, set off dozens of collections per page, a
# fifth of the collector's CPU time
GC_THRESHOLD = (50_000, 20, 100)


def tune_gc_for_collection() -> None:
    """Process-wide: what is loaded so far (modules, the policy) leaves the cyclic GC's walks, and the
    youngest generation is collected every 50 000 objects instead of 700. The collecting commands call it
    (`intpkg up`: for the UI and the detection engine in its process too)."""
    gc.collect()  # what is garbage now is freed, not frozen
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)

log = logging.getLogger("intpkg.agent")


class StopRequested(Exception):
    """Raised inside an interval when the agent is stopping."""


@dataclass
class RunningStream:
    plan: StreamPlan
    config: dict[str, Any]
    interval_seconds: float
    builder: EventBuilder
    input: Any


def render_stream(plan: StreamPlan) -> dict[str, Any]:
    try:
        source = plan.template_path.read_text()
    except OSError as exc:
        raise IntpkgError(f"{plan.template_path}: cannot read the stream template: {exc.strerror}") from None
    return render_template(source, plan.variables, yaml_vars=plan.yaml_vars, name=str(plan.template_path))


def stream_builder(plan: StreamPlan, config: dict[str, Any]) -> EventBuilder:
    """How a stream wraps its events: its data stream, tags, processors and `fields` (rendered `config`)."""
    where = f"{plan.template_path.name} ({plan.dataset})"
    return EventBuilder(
        dataset=plan.dataset, ds_type=plan.ds_type, namespace=plan.namespace, input_type=plan.input_type,
        tags=config.get("tags") or [], processors=build_processors(config.get("processors"), where),
        fields=config.get("fields") if isinstance(config.get("fields"), dict) else None,
        fields_under_root=bool(config.get("fields_under_root")),
    )


class Agent:
    """Runs streams in worker threads and one bulk shipper."""

    def __init__(self, plans: list[StreamPlan], client: SearchClient, state_dir: Path, *,
                 queue_size: int = DEFAULT_QUEUE_SIZE, bulk_size: int = DEFAULT_BULK_SIZE,
                 bulk_concurrency: int = DEFAULT_BULK_CONCURRENCY, flush_timeout: float = 10.0,
                 input_factory=None, budget_policy: BudgetPolicy | None = None) -> None:
        self.client = client
        self.state_dir = state_dir
        self.cursors = CursorStore(state_dir / "cursors")
        self.status = StatusBoard(state_dir / "status.json")
        self.stop_event = threading.Event()
        self.flush_timeout = flush_timeout
        self.shipper = BulkShipper(client, rejected_file=state_dir / "rejected.ndjson",
                                   queue_size=queue_size, bulk_size=bulk_size, concurrency=bulk_concurrency)
        target = getattr(client, "target", None)
        cluster_secrets = [getattr(target, "api_key", None), getattr(target, "password", None)]
        # one redactor for logs and the status file: the policy's secrets and the cluster credentials
        self.redactor = install_redaction([s for p in plans for s in p.secret_values] + cluster_secrets).redactor
        factory = input_factory or default_input_factory(state_dir, self.stop_event, budget_policy)
        self.streams = [self._prepare(plan, factory) for plan in plans]
        self.rejected_this_run = 0
        self._rejected_lock = threading.Lock()

    def _prepare(self, plan: StreamPlan, factory) -> RunningStream:
        config = render_stream(plan)
        where = f"{plan.template_path.name} ({plan.dataset})"
        try:
            interval = parse_duration(str(config.get("interval", "60s"))).Seconds()
        except Exception:
            raise IntpkgError(f"{where}: interval {config.get('interval')!r} is not a duration") from None
        if interval <= 0:
            raise IntpkgError(f"{where}: interval must be greater than 0")
        return RunningStream(plan, config, interval, stream_builder(plan, config), factory(plan, config))

    # ---- running ----------------------------------------------------------------------------------
    def run(self, *, once: bool = False, lock: bool = True) -> dict[str, Any]:
        """Run until stopped (SIGINT/SIGTERM or `stop()`), or one interval per stream with `once`.

        The state folder is locked for the run: a second collector on it is refused (IntpkgError).
        `lock=False`: the caller holds `state_lock` already.
        """
        with state_lock(self.state_dir) if lock else contextlib.nullcontext():
            return self._run(once)

    def _run(self, once: bool) -> dict[str, Any]:
        self.shipper.start()
        threads = [threading.Thread(target=self._worker, args=(s, once), name=f"stream-{s.plan.dataset}",
                                    daemon=True) for s in self.streams]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                for thread in threads:
                    thread.join(timeout=0.2)
        finally:
            self.stop_event.set()
            for thread in threads:
                thread.join()
            self.shipper.stop(timeout=self.flush_timeout)
        return StatusBoard.read(self.status.path)

    def stop(self, *_: Any) -> None:
        self.stop_event.set()

    def _masked(self, error: str | None) -> str | None:
        """An error text as the status file may keep it (secrets masked)."""
        return self.redactor.text(error) if error else error

    def _save_acknowledged_checkpoint(self, stream_id: str, batch: Batch,
                                      checkpoints: list[tuple[int, dict[str, Any]]]) -> dict[str, Any] | None:
        """Persist the newest page cursor whose events (and all before them) the cluster settled; pop it."""
        eligible = [i for i, (published, _) in enumerate(checkpoints) if published <= batch.settled_through]
        if not eligible:
            return None
        _, cursor = checkpoints[eligible[-1]]
        del checkpoints[: eligible[-1] + 1]
        self.cursors.save(stream_id, cursor)
        self.status.update(stream_id, cursor=cursor)
        return cursor

    def outcome(self, status: dict[str, Any]) -> tuple[int, list[str]]:
        """Exit code and problems of a finished run: 1 when a stream failed or the cluster refused documents."""
        problems = [f"stream {sid} failed: {entry.get('last_error')}"
                    for sid, entry in sorted((status.get("streams") or {}).items()) if entry.get("state") == "error"]
        if self.rejected_this_run:
            problems.append(f"the cluster refused {self.rejected_this_run} document(s) in this run; they are in "
                            f"{self.shipper.rejected_file} with the reasons")
        return (1 if problems else 0), problems

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def _worker(self, stream: RunningStream, once: bool) -> None:
        stream_id = stream.plan.stream_id
        self.status.update(stream_id, dataset=stream.plan.dataset, policy=stream.plan.instance,
                           interval_seconds=stream.interval_seconds)
        while not self.stop_event.is_set():
            started = time.time()
            self.status.update(stream_id, last_run_started=started, state="running")
            self.run_interval(stream)
            if once:
                return
            self.stop_event.wait(max(0.0, stream.interval_seconds - (time.time() - started)))

    def run_interval(self, stream: RunningStream) -> bool:
        """One interval of one stream; True when its cursor was saved."""
        plan = stream.plan
        stream_id = plan.stream_id
        cursor = self.cursors.load(stream_id)
        batch = Batch(stream_id)
        checkpoints: list[tuple[int, dict[str, Any]]] = []  # (documents published, cursor after them)

        def publish(body: dict[str, Any], _cursor_after: dict[str, Any] | None = None) -> None:
            if self.stop_event.is_set():
                raise StopRequested()
            self.shipper.put(plan.index, stream.builder.build(body), batch)

        def checkpoint(page_cursor: dict[str, Any]) -> None:
            checkpoints.append((batch.published, page_cursor))
            self._save_acknowledged_checkpoint(stream_id, batch, checkpoints)

        error: str | None = None
        new_cursor: dict[str, Any] | None = None
        try:
            result = _run_input(stream.input, cursor, publish, checkpoint)
            error = getattr(result, "error", None)
            new_cursor = getattr(result, "cursor", None)
        except StopRequested:
            error = "stopped during the interval"
        except Exception as exc:  # an input bug must not kill the agent; report it
            log.exception("stream %s: interval failed", plan.dataset)
            error = f"{exc.__class__.__name__}: {exc}"
        settled = batch.wait(self.stop_event)
        with self._rejected_lock:
            self.rejected_this_run += batch.rejected
        published = batch.acked + batch.rejected + batch.pending
        finished = time.time()
        self.status.update(stream_id, add_events_published=published, add_events_acked=batch.acked,
                           add_events_rejected=batch.rejected, add_intervals=1,
                           last_run_finished=finished, last_error=self._masked(error or self.shipper.last_error),
                           state="error" if error else "ok", last_rejected=batch.rejected,
                           **({} if error else {"last_ok": finished}))
        if error or not settled:
            # the pages before the failure cost nothing: their cursor is kept once all their events are in
            saved = self._save_acknowledged_checkpoint(stream_id, batch, checkpoints)
            where = f"moves to the last acknowledged page ({saved})" if saved else f"stays at {cursor}"
            if error:
                log.error("stream %s: %s; the cursor %s", plan.dataset, error, where)
            else:
                log.warning("stream %s: stopped before the cluster acknowledged every event; the cursor %s",
                            plan.dataset, where)
            return False
        if new_cursor is not None and new_cursor != cursor:
            self.cursors.save(stream_id, new_cursor)
            self.status.update(stream_id, cursor=new_cursor)
        log.info("stream %s: %d event(s) acknowledged, %d rejected", plan.dataset, batch.acked, batch.rejected)
        return True


def state_lock(state_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Hold an exclusive lock on `<state_dir>/agent.lock` (released when the process ends, even by kill -9)."""
    def refused(holder: str) -> IntpkgError:
        return IntpkgError(f"another collector ({holder}) is using the state folder {state_dir}; stop it, or give "
                           "this one its own --state-dir")

    return pid_lock(state_dir / "agent.lock", refused)


def lock_holder(state_dir: Path) -> int | None:
    """The pid of the collector holding `state_lock(state_dir)` (-1: its pid not yet written), or None."""
    return holder(state_dir / "agent.lock")


def _run_input(engine: Any, cursor: dict[str, Any], publish, checkpoint) -> Any:
    """`engine.run_interval`, with page checkpoints when the input offers them."""
    if "checkpoint" in inspect.signature(engine.run_interval).parameters:
        return engine.run_interval(cursor, publish, checkpoint=checkpoint)
    return engine.run_interval(cursor, publish)


def default_input_factory(state_dir: Path, stop_event: threading.Event | None = None,
                          budget_policy: BudgetPolicy | None = None):
    """Build the httpjson engine for a rendered stream config.

    All streams share one request budget under the caller's `budget_policy` (an API's limit is per
    credential, and the budget keys on a fingerprint of it; None: the input's generic policy, no quota
    of its own); relative tracer paths are placed under `<state>/traces`. Setting
    `stop_event` (the agent's SIGTERM/SIGINT) ends every wait and request of the inputs at once.
    """
    from intpkg.input.config import ConfigError, parse_config
    from intpkg.input.httpjson import HttpJsonInput
    from intpkg.input.ratelimit import RequestBudget, SystemClock

    clock = SystemClock(stop_event)
    budget = RequestBudget(budget_policy, clock=clock)

    def factory(plan: StreamPlan, config: dict[str, Any]) -> Any:
        if plan.input_type != "httpjson":
            raise IntpkgError(f"input type {plan.input_type!r} is not supported by intpkg's agent")
        try:
            parsed = parse_config(config, input_id=plan.stream_id)
        except ConfigError as exc:
            raise IntpkgError(f"{plan.template_path.name} ({plan.dataset}): {exc}") from None
        if parsed.tracer.enabled and not Path(parsed.tracer.filename).is_absolute():
            parsed.tracer.filename = str(state_dir / "traces" / Path(parsed.tracer.filename).name)
        return HttpJsonInput(parsed, budget=budget, clock=clock, secrets=plan.secret_values, input_id=plan.stream_id)

    return factory
