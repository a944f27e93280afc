"""End-to-end collector throughput: a large backfill (audit) or window (Logpull) from the mock API.

The mock API runs in its own process (`intpkg mock`), as Cloudflare would be elsewhere. Each round
makes three timed runs into fresh namespaces of the same data stream (same template, same ingest
pipeline), in rotating order so that none always runs on a warmer node:

- collector: `intpkg run --once` as a child process reads the mock account's whole audit history
  (100 000 records by default) or one Logpull window of the bench.example zone (100 000 lines by
  default, about 185 MB of NDJSON) and ships it; its peak RSS is the child's VmHWM, sampled from
  /proc while it runs;
- direct: the same records, wrapped exactly as the agent wraps them, bulk-indexed from memory the
  way the collector's shipper sends them (`SearchClient.bulk_create`), as many requests in flight as
  the collector (no API at all);
- fetch+bulk: the simplest client of the same API — page through the mock with `requests` (or read
  the Logpull window line by line), then bulk-index each page (or every `batch_size` lines) — so the
  mock's own CPU (it shares the machine's cores) weighs on it as on the collector.

`baselines=False` runs the collector alone (a window too large to hold in memory for `direct`).

Overheads are how much slower the collector is than each baseline (medians over the rounds), once
for the whole process (start-up included) and once for the collection interval alone (first request
to last acknowledgement, from the agent's status file).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from intpkg.agent.events import EventBuilder
from intpkg.agent.policy import plan_policies
from intpkg.agent.runner import render_stream, stream_builder
from intpkg.agent.shipper import DEFAULT_BULK_CONCURRENCY
from intpkg.assets.install import install_package
from intpkg.package import Package
from intpkg.stack.client import SearchClient, is_stored

STREAMS = {"audit": "cloudflare.audit", "logpull": "cloudflare.logpull"}
LOGPULL_DATASET = "logpull_bench"  # bench.example: every record in the hour before the mock started


@dataclass
class CollectorBenchmark:
    data_stream: str
    api_version: str
    events: int
    rounds: int
    collector_eps: list[float] = field(default_factory=list)  # whole process, start-up included
    interval_eps: list[float] = field(default_factory=list)  # the collection interval alone
    direct_eps: list[float] = field(default_factory=list)
    fetch_bulk_eps: list[float] = field(default_factory=list)
    agent_peak_rss_mb: float = 0.0
    body_mb: float = 0.0  # the Logpull window's NDJSON size (uncompressed)

    def median(self, name: str) -> float:
        values = getattr(self, name)
        return round(statistics.median(values), 1) if values else 0.0

    def overhead(self, collector: str, baseline: str) -> float | None:
        if not getattr(self, baseline):
            return None
        return round((1 - self.median(collector) / self.median(baseline)) * 100, 1)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["median_eps"] = {k: self.median(k) for k in ("collector_eps", "interval_eps", "direct_eps",
                                                          "fetch_bulk_eps")}
        data["overhead_percent"] = {
            "process_vs_direct": self.overhead("collector_eps", "direct_eps"),
            "interval_vs_direct": self.overhead("interval_eps", "direct_eps"),
            "process_vs_fetch_bulk": self.overhead("collector_eps", "fetch_bulk_eps"),
            "interval_vs_fetch_bulk": self.overhead("interval_eps", "fetch_bulk_eps"),
        }
        return data


def _count(client: SearchClient, index: str) -> int:
    client.request("POST", f"/{index}/_refresh", ignore=(404,))
    return client.request("GET", f"/{index}/_count", ignore=(404,)).get("count", 0)


def _bulk(client: SearchClient, index: str, docs: list[dict], batch_size: int) -> None:
    """Bulk-index `docs` the way the collector's shipper does (`bulk_create`), `batch_size` per request."""
    for start in range(0, len(docs), batch_size):
        for result in client.bulk_create([(index, doc) for doc in docs[start:start + batch_size]]):
            if not is_stored(result):
                raise RuntimeError(f"bulk indexing failed: {json.dumps(result, default=str)[:500]}")


class MockProcess:
    """`intpkg mock` in a child process (no rate limit, datasets resized, the read one generated before it
    serves: Cloudflare's work is not the collector's); `base_url` once it listens."""

    def __init__(self, package_dir: Path, record_counts: dict[str, int], warm: str) -> None:
        cmd = [sys.executable, "-m", "intpkg.cli", "mock", str(package_dir), "--quiet", "--no-rate-limit",
               f"--warm={warm}"]
        cmd += [f"--records={name}={count}" for name, count in record_counts.items()]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip() if self.proc.stdout else ""
        if not line.startswith("http"):
            self.stop()
            raise RuntimeError(f"the mock API did not start: {self.proc.stderr.read()[-2000:]}")
        self.base_url = line

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass
class _Source:
    """What the runs read: the stream, the package's mock (resized) and credential, and the records it serves.

    Each run starts its own mock process: relative dataset times (a Logpull window in the last hour)
    are then always fresh, however long the benchmark has been running.
    """

    data_stream: str
    package_dir: Path
    record_counts: dict[str, int]
    token: str
    owner: str  # the account (audit) or zone (Logpull) id
    records: list[dict]
    count: int
    api_version: str
    page_size: int
    mock_dataset: str  # the mock's dataset that the runs read

    @property
    def dataset(self) -> str:
        return STREAMS[self.data_stream]

    def index(self, namespace: str) -> str:
        return f"logs-{self.dataset}-{namespace}"

    def mock(self) -> MockProcess:
        return MockProcess(self.package_dir, self.record_counts, warm=self.mock_dataset)

    def stream_vars(self, base_url: str) -> dict[str, Any]:
        common = {"api_token": self.token, "api_url": base_url}
        if self.data_stream == "logpull":
            return {**common, "zone_id": self.owner, "initial_interval": "1h"}
        return {**common, "account_id": self.owner, "api_version": self.api_version, "page_size": self.page_size,
                "initial_interval": "13140h"}


class _Runs:
    """The three kinds of run, each into its own fresh namespace."""

    def __init__(self, client: SearchClient, package_dir: Path, source: _Source, tmp: Path, *,
                 batch_size: int) -> None:
        self.client, self.package_dir, self.source, self.tmp = client, package_dir, source, tmp
        self.batch_size = batch_size
        self.peak_kb = 0

    def _namespace(self, kind: str) -> str:
        return f"bench{kind}{uuid.uuid4().hex[:6]}"

    def _done(self, namespace: str, seconds: float) -> float:
        index = self.source.index(namespace)
        docs = _count(self.client, index)
        self.client.request("DELETE", f"/_data_stream/{index}", ignore=(404,))
        if docs != self.source.count:
            raise RuntimeError(f"{namespace}: {docs} documents for {self.source.count} records")
        return docs / seconds

    def _builder(self, namespace: str) -> EventBuilder:
        """The collector's own wrapping of this stream's events in `namespace` (its tags and `fields` too)."""
        (plan,) = plan_policies(Package.load(self.package_dir), [self._policy(namespace, "http://127.0.0.1:9")])
        return stream_builder(plan, render_stream(plan))

    def _policy(self, namespace: str, base_url: str) -> dict[str, Any]:
        return {"namespace": namespace, "inputs": {"cloudflare-httpjson": {"streams": {
            self.source.dataset: {"vars": self.source.stream_vars(base_url)}}}}}

    def collector(self) -> tuple[float, float]:
        namespace = self._namespace("c")
        run_dir = Path(tempfile.mkdtemp(dir=self.tmp))
        mock = self.source.mock()
        try:
            return self._collect(namespace, run_dir, mock.base_url)
        finally:
            mock.stop()

    def _collect(self, namespace: str, run_dir: Path, base_url: str) -> tuple[float, float]:
        policy = run_dir / "policy.yml"
        policy.write_text(yaml.safe_dump(self._policy(namespace, base_url)))
        cmd = [sys.executable, "-m", "intpkg.cli", "run", str(self.package_dir), "--policy", str(policy), "--once",
               "--state-dir", str(run_dir / "state"), "--es-url", self.client.target.url, "--log-level", "WARNING"]
        log_path = run_dir / "collector.log"
        started = time.monotonic()
        with log_path.open("w") as log:  # a file, not a pipe: a full pipe would stall the child
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ))
            self.peak_kb = max(self.peak_kb, _watch_peak_rss(proc))
        seconds = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError(f"the collector failed: {log_path.read_text()[-2000:]}")
        (stream,) = json.loads((run_dir / "state" / "status.json").read_text())["streams"].values()
        interval = stream["last_run_finished"] - stream["last_run_started"]
        process_eps = self._done(namespace, seconds)
        return process_eps, process_eps * seconds / interval

    def direct(self) -> float:
        namespace = self._namespace("d")
        builder = self._builder(namespace)
        docs = [builder.build(r) for r in self.source.records]  # built before the clock starts: from memory
        gc.freeze()  # the collector's cyclic GC never walks 100 000 held documents; nor may the baseline's
        index = self.source.index(namespace)
        chunks = [docs[i:i + self.batch_size] for i in range(0, len(docs), self.batch_size)]
        try:
            started = time.monotonic()
            # as many bulk requests in flight as the collector keeps by default
            with ThreadPoolExecutor(max_workers=DEFAULT_BULK_CONCURRENCY) as pool:
                list(pool.map(lambda chunk: _bulk(self.client, index, chunk, self.batch_size), chunks))
            seconds = time.monotonic() - started
        finally:
            gc.unfreeze()
        return self._done(namespace, seconds)

    def fetch_bulk(self) -> float:
        namespace = self._namespace("f")
        builder = self._builder(namespace)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.source.token}"
        mock = self.source.mock()
        try:
            started = time.monotonic()
            pages = (self._logpull_batches(mock.base_url, session) if self.source.data_stream == "logpull"
                     else self._audit_pages(mock.base_url, session))
            for records in pages:
                _bulk(self.client, self.source.index(namespace), [builder.build(r) for r in records],
                      self.batch_size)
            seconds = time.monotonic() - started
        finally:
            mock.stop()
        return self._done(namespace, seconds)

    def _logpull_batches(self, base_url: str, session: requests.Session) -> Iterator[list[dict]]:
        """The window the collector reads (the hour up to a minute ago), `batch_size` lines at a time."""
        now = int(time.time())
        params = {"start": _rfc3339((now - 3600) // 60 * 60), "end": _rfc3339(now - 60), "timestamps": "unixnano"}
        url = f"{base_url}/client/v4/zones/{self.source.owner}/logs/received"
        with session.get(url, params=params, stream=True, timeout=60) as response:
            response.raise_for_status()
            batch: list[dict] = []
            for line in response.iter_lines(chunk_size=1 << 18):
                if line:
                    batch.append(json.loads(line))
                if len(batch) >= self.batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch

    def _audit_pages(self, base_url: str, session: requests.Session) -> Iterator[list[dict]]:
        base = f"{base_url}/client/v4/accounts/{self.source.owner}"
        size = self.source.page_size
        if self.source.api_version == "v1":
            page = 1
            while True:
                body = session.get(f"{base}/audit_logs", params={
                    "direction": "asc", "since": "2000-01-01T00:00:00Z", "per_page": size, "page": page,
                }, timeout=60).json()
                records = body.get("result") or []
                if records:
                    yield records
                if len(records) < size:
                    return
                page += 1
        params: dict[str, Any] = {"direction": "asc", "since": "2000-01-01T00:00:00Z", "limit": size,
                                  "before": _rfc3339(int(time.time()))}
        while True:
            body = session.get(f"{base}/logs/audit", params=params, timeout=60).json()
            if body.get("result"):
                yield body["result"]
            cursor = (body.get("result_info") or {}).get("cursor")
            if not cursor or not body.get("result"):
                return
            params["cursor"] = cursor


def _rfc3339(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def run(client: SearchClient, package_dir: Path, *, data_stream: str = "audit", api_version: str = "v1",
        page_size: int = 1000, batch_size: int = 500, rounds: int = 2, records: int | None = None,
        dataset: str | None = None, baselines: bool = True) -> CollectorBenchmark:
    """Benchmark collecting mock dataset `dataset` (default: the audit backfill of `api_version`, or the
    Logpull bench window), resized to `records` when given, into the cluster."""
    from intpkg.cloudflare.mockapi import CloudflareMock

    name = dataset or (LOGPULL_DATASET if data_stream == "logpull" else f"audit_{api_version}_backfill")
    counts = {name: records} if records else {}
    install_package(client, package_dir)
    # the same seeded dataset, generated here for the baselines (the served one lives in the mock's process)
    with CloudflareMock.from_package(package_dir, rate_limit=False, record_counts=counts) as local:
        generated = local.dataset(name)
        owner = (generated.context["zones"][0]["id"] if data_stream == "logpull" else local.dataset_account(name))
        token, count = local.token, len(generated)
        in_memory = list(generated.records()) if baselines else []
        gc.freeze()  # held for the whole benchmark: kept out of the cyclic GC's walks (as the collector's are)
        body_mb = 0.0
        if data_stream == "logpull":
            sample = [json.dumps(generated.record(i), separators=(",", ":")) for i in range(min(count, 2000))]
            body_mb = round(sum(len(s) + 1 for s in sample) / max(len(sample), 1) * count / 2**20, 1)
    source = _Source(data_stream, Path(package_dir), counts, token or "", owner, in_memory, count, api_version,
                     page_size, name)
    with tempfile.TemporaryDirectory() as tmp:
        runs = _Runs(client, package_dir, source, Path(tmp), batch_size=batch_size)
        result = CollectorBenchmark(data_stream=data_stream, api_version=api_version, events=count,
                                    rounds=rounds, body_mb=body_mb)
        order = ["collector", "direct", "fetch_bulk"] if baselines else ["collector"]
        for n in range(rounds):
            for kind in order[n % len(order):] + order[:n % len(order)]:  # rotate who goes first
                if kind == "collector":
                    process_eps, interval_eps = runs.collector()
                    result.collector_eps.append(round(process_eps, 1))
                    result.interval_eps.append(round(interval_eps, 1))
                else:
                    getattr(result, f"{kind}_eps").append(round(getattr(runs, kind)(), 1))
        result.agent_peak_rss_mb = round(runs.peak_kb / 1024, 1)
    return result


def _watch_peak_rss(proc: subprocess.Popen) -> int:
    """Peak resident set (VmHWM, kB) of a running child, sampled until it exits.

    (getrusage(RUSAGE_CHILDREN) would also count the forked copy of this process before exec.)
    """
    peak = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.2)
    proc.wait()
    return peak
