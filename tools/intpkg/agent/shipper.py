"""Ship events to the cluster in bulk requests, and account for every one.

Producers `put()` documents with a `Batch` (one collection interval); the queue is bounded, so a
slow or unavailable cluster blocks the producers instead of filling memory. Each document ends in
exactly one of two states:

- acknowledged: created, or already there (HTTP 409 from a deterministic `_id`: a duplicate);
- rejected: the cluster refused it for good (a 4xx other than 409/429); it is written to the
  rejected-documents file with the reason and counted, never dropped silently.

Up to `concurrency` bulk requests are in flight at once (the cluster indexes one while the next is
built); when all are busy the queue fills and producers wait. Connection errors, 429 and 5xx are
retried with backoff until the cluster takes the document or the shipper is stopped. `Batch.wait()`
returns once every document of the interval is settled; only then may the caller persist the
interval's cursor.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intpkg import jsoncodec
from intpkg.stack.client import SearchClient, bulk_create_body, is_stored

log = logging.getLogger("intpkg.agent.shipper")
DEFAULT_BULK_SIZE = 500  # documents per bulk request
# bulk requests in flight: one more than a 2-core node indexes at once, so that a request is always waiting
# there while the next one is handed from thread to thread (under the GIL that handoff takes milliseconds;
# with 2, a node's second indexing thread idled about 7% of the time)
DEFAULT_BULK_CONCURRENCY = 3
DEFAULT_QUEUE_SIZE = 2000  # documents waiting for a request: the bound on the collector's memory
MAX_BULK_BYTES = 50 * 2**20  # a request stays well below a cluster's http.max_content_length (100 MB)
_STOP = object()


@dataclass(eq=False)  # one interval: compared (and hashed) by identity
class Batch:
    """Documents of one interval, numbered in publish order; settled when all were acknowledged or rejected."""

    stream_id: str
    pending: int = 0
    acked: int = 0
    rejected: int = 0
    closed: bool = False
    published: int = 0
    settled_through: int = 0  # every document numbered 1..settled_through is settled
    _settled_beyond: set[int] = field(default_factory=set, repr=False)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def add(self) -> int:
        """Count one more document; its number (1-based, in publish order)."""
        with self._cond:
            self.pending += 1
            self.published += 1
            return self.published

    def settle_many(self, numbers: list[int], ok: bool) -> None:
        """Settle documents (acknowledged when `ok`, else rejected) under one lock."""
        if not numbers:
            return
        with self._cond:
            self.pending -= len(numbers)
            if ok:
                self.acked += len(numbers)
            else:
                self.rejected += len(numbers)
            self._settled_beyond.update(numbers)
            while self.settled_through + 1 in self._settled_beyond:
                self.settled_through += 1
                self._settled_beyond.discard(self.settled_through)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def wait(self, stop: threading.Event | None = None) -> bool:
        """Block until every document is settled; False if `stop` was set first."""
        with self._cond:
            while self.pending:
                if stop is not None and stop.is_set():
                    return False
                self._cond.wait(timeout=0.2)
        return True


Item = tuple[str, dict, Batch, int]  # (index, document, its interval's batch, its number in that batch)


class BulkShipper:
    """A background thread that bulk-indexes queued documents."""

    def __init__(self, client: SearchClient, *, rejected_file: Path, queue_size: int = DEFAULT_QUEUE_SIZE,
                 bulk_size: int = DEFAULT_BULK_SIZE, flush_seconds: float = 1.0, max_backoff: float = 30.0,
                 concurrency: int = DEFAULT_BULK_CONCURRENCY) -> None:
        self.client = client
        self.rejected_file = rejected_file
        self.bulk_size = bulk_size
        self.flush_seconds = flush_seconds
        self.max_backoff = max_backoff
        self._slots = threading.BoundedSemaphore(max(1, concurrency))
        self._workers = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="bulk")
        self._reject_lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bulk-shipper", daemon=True)
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def put(self, index: str, doc: dict[str, Any], batch: Batch) -> None:
        """Queue one document (blocks while the queue is full: backpressure)."""
        self._queue.put((index, doc, batch, batch.add()))

    def stop(self, timeout: float = 30.0) -> None:
        """Ship what is queued, then stop (gives up retrying after `timeout`)."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._stop.set()
        self._thread.join()

    # ---- the shipping thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        pending: list[Item] = []
        deadline = time.monotonic() + self.flush_seconds
        stopping = False
        while not stopping:
            timeout = max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
                if item is _STOP:
                    stopping = True
                else:
                    pending.append(item)
            except queue.Empty:
                pass
            if pending and (stopping or len(pending) >= self.bulk_size or time.monotonic() >= deadline):
                items, body = self._encodable(pending)  # built before a request is free, sent once one is
                pending = []
                if items:
                    self._slots.acquire()  # all requests busy: wait here, so the queue fills (backpressure)
                    self._workers.submit(self._ship_and_release, items, body)
            if time.monotonic() >= deadline:
                deadline = time.monotonic() + self.flush_seconds
        self._workers.shutdown(wait=True)

    def _ship_and_release(self, items: list[Item], body: bytes) -> None:
        try:
            self._ship(items, body)
        except Exception:  # noqa: BLE001 - a bug must not leave a slot taken; the documents stay unsettled
            log.exception("bulk shipping failed")
        finally:
            self._slots.release()

    def _ship(self, items: list[Item], body: bytes) -> None:
        """Send `items` (encoded in `body`) until each is settled, retrying what may still be stored."""
        if len(body) > MAX_BULK_BYTES and len(items) > 1:  # large documents: two smaller requests
            half = len(items) // 2
            for part in (items[:half], items[half:]):
                self._ship(*self._encodable(part))
            return
        backoff = 0.5
        while items:
            retry: list[Item] = []
            try:
                results = self.client.send_bulk(body, len(items))
            except Exception as exc:  # connection refused, timeouts: retry everything
                self.last_error = f"bulk request failed: {exc.__class__.__name__}"
                log.warning("bulk request failed (%s); retrying in %.1fs", exc.__class__.__name__, backoff)
                retry = items
            else:
                stored: list[Item] = []
                refused: list[tuple[Item, dict]] = []
                for item, result in zip(items, results, strict=True):
                    status = result.get("status", 0)
                    status = status if isinstance(status, int) else 0
                    if is_stored(result):
                        stored.append(item)
                    elif status in (0, 429) or status >= 500:
                        retry.append(item)
                    else:
                        refused.append((item, result))
                _settle(stored, True)
                self._reject(refused)
                self.last_error = None if not retry else f"{len(retry)} document(s) to retry"
            if retry:
                if self._stop.is_set():
                    return  # stopped while the cluster is unavailable: leave them unsettled
                time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                retry, body = self._encodable(retry)
            items = retry

    def _encodable(self, items: list[Item]) -> tuple[list[Item], bytes]:
        """The items whose documents encode, and their bulk body; the others are rejected with the reason."""
        try:
            return items, bulk_create_body([(index, doc) for index, doc, _, _ in items])
        except Exception:  # noqa: BLE001 - find the documents that cannot be encoded
            pass
        kept, refused = [], []
        for item in items:
            try:
                jsoncodec.dumpb(item[1])
                kept.append(item)
            except Exception as exc:  # noqa: BLE001 - whatever stops encoding refuses that document
                refused.append((item, {"status": None, "error": {"type": "encoding_error", "reason": str(exc)}}))
        self._reject(refused)
        return kept, bulk_create_body([(index, doc) for index, doc, _, _ in kept])

    def _reject(self, refused: list[tuple[Item, dict]]) -> None:
        """Write refused documents with their reasons to the rejected-documents file, then settle them."""
        if not refused:
            return
        (index, _, _, _), first = refused[0]
        log.error("the cluster rejected %d document(s) for %s: %s", len(refused), index,
                  json.dumps(first.get("error"), default=str)[:500])
        lines = [json.dumps({"index": idx, "status": result.get("status"), "error": result.get("error"),
                             "document": doc}, default=str) + "\n" for (idx, doc, _, _), result in refused]
        try:
            self.rejected_file.parent.mkdir(parents=True, exist_ok=True)
            with self._reject_lock, self.rejected_file.open("a") as fh:
                fh.writelines(lines)
        except OSError as exc:  # they are settled all the same: a retry would refuse them again
            log.error("cannot write %d rejected document(s) to %s: %s", len(lines), self.rejected_file, exc)
        _settle([item for item, _ in refused], False)


def _settle(items: list[Item], ok: bool) -> None:
    """Settle items, one lock per batch."""
    numbers: dict[Batch, list[int]] = {}
    for _, _, batch, number in items:
        numbers.setdefault(batch, []).append(number)
    for batch, of_batch in numbers.items():
        batch.settle_many(of_batch, ok)
