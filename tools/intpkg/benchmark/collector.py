"""End-to-end collector throughput: a large backfill from the mock API into the cluster.

Each round makes three timed runs into fresh namespaces of the same data stream (same template,
same ingest pipeline), in rotating order so that none always runs on a warmer node:

- collector: `intpkg run --once` as a child process reads the mock account's whole history (the
  mock's 100 000-record backfill account by default) and ships it; its peak RSS is the child's
  VmHWM, sampled from /proc while it runs;
- direct: the same records, wrapped exactly as the agent wraps them, bulk-indexed from memory with
  the client's streaming bulk helper (no API at all);
- fetch+bulk: the simplest client of the same API — page through the mock with `requests`, then
  bulk-index each page — so the mock's own CPU (it shares the machine's cores) weighs on it as on
  the collector.

Overheads are how much slower the collector is than each baseline (medians over the rounds), once
for the whole process (start-up included) and once for the collection interval alone (first request
to last acknowledgement, from the agent's status file).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
import yaml

from intpkg.agent.events import EventBuilder
from intpkg.assets.install import install_package
from intpkg.stack.client import SearchClient

if TYPE_CHECKING:
    from intpkg.cloudflare.mockapi import CloudflareMock

DATASET = "cloudflare.audit"


@dataclass
class CollectorBenchmark:
    api_version: str
    events: int
    rounds: int
    collector_eps: list[float] = field(default_factory=list)  # whole process, start-up included
    interval_eps: list[float] = field(default_factory=list)  # the collection interval alone
    direct_eps: list[float] = field(default_factory=list)
    fetch_bulk_eps: list[float] = field(default_factory=list)
    agent_peak_rss_mb: float = 0.0

    def median(self, name: str) -> float:
        return round(statistics.median(getattr(self, name)), 1)

    def overhead(self, collector: str, baseline: str) -> float:
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


def _index(namespace: str) -> str:
    return f"logs-{DATASET}-{namespace}"


def _bulk(client: SearchClient, index: str, docs: list[dict], batch_size: int) -> None:
    actions = ({"_op_type": "create", "_index": index, "_source": d} for d in docs)
    for ok, info in client.streaming_bulk(actions, chunk_size=batch_size, raise_on_error=False):
        if not ok and next(iter(info.values()), {}).get("status") != 409:
            raise RuntimeError(f"bulk indexing failed: {json.dumps(info, default=str)[:500]}")


class _Runs:
    """The three kinds of run, each into its own fresh namespace."""

    def __init__(self, client: SearchClient, package_dir: Path, mock: CloudflareMock, records: list[dict],
                 tmp: Path, *, account: str, api_version: str, page_size: int, batch_size: int) -> None:
        self.client, self.package_dir, self.mock, self.records, self.tmp = client, package_dir, mock, records, tmp
        self.account = account
        self.api_version, self.page_size, self.batch_size = api_version, page_size, batch_size
        self.peak_kb = 0

    def _namespace(self, kind: str) -> str:
        return f"bench{kind}{uuid.uuid4().hex[:6]}"

    def _done(self, namespace: str, seconds: float) -> float:
        docs = _count(self.client, _index(namespace))
        self.client.request("DELETE", f"/_data_stream/{_index(namespace)}", ignore=(404,))
        if docs != len(self.records):
            raise RuntimeError(f"{namespace}: {docs} documents for {len(self.records)} records")
        return docs / seconds

    def collector(self) -> tuple[float, float]:
        namespace = self._namespace("c")
        run_dir = Path(tempfile.mkdtemp(dir=self.tmp))
        policy = run_dir / "policy.yml"
        policy.write_text(yaml.safe_dump({"namespace": namespace, "inputs": {"cloudflare-httpjson": {"streams": {
            DATASET: {"vars": {"account_id": self.account, "api_token": self.mock.token,
                               "api_url": self.mock.base_url, "api_version": self.api_version,
                               "page_size": self.page_size, "initial_interval": "13140h"}}}}}}))
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
        builder = EventBuilder(dataset=DATASET, ds_type="logs", namespace=namespace, input_type="httpjson")
        started = time.monotonic()
        _bulk(self.client, _index(namespace), [builder.build(r) for r in self.records], self.batch_size)
        return self._done(namespace, time.monotonic() - started)

    def fetch_bulk(self) -> float:
        namespace = self._namespace("f")
        builder = EventBuilder(dataset=DATASET, ds_type="logs", namespace=namespace, input_type="httpjson")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.mock.token}"
        started = time.monotonic()
        for records in self._pages(session):
            _bulk(self.client, _index(namespace), [builder.build(r) for r in records], self.batch_size)
        return self._done(namespace, time.monotonic() - started)

    def _pages(self, session: requests.Session):
        base = f"{self.mock.base_url}/client/v4/accounts/{self.account}"
        if self.api_version == "v1":
            page = 1
            while True:
                body = session.get(f"{base}/audit_logs", params={
                    "direction": "asc", "since": "2000-01-01T00:00:00Z", "per_page": self.page_size, "page": page,
                }, timeout=60).json()
                records = body.get("result") or []
                if records:
                    yield records
                if len(records) < self.page_size:
                    return
                page += 1
        params: dict[str, Any] = {"direction": "asc", "since": "2000-01-01T00:00:00Z", "limit": self.page_size,
                                  "before": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        while True:
            body = session.get(f"{base}/logs/audit", params=params, timeout=60).json()
            if body.get("result"):
                yield body["result"]
            cursor = (body.get("result_info") or {}).get("cursor")
            if not cursor or not body.get("result"):
                return
            params["cursor"] = cursor


def run(client: SearchClient, package_dir: Path, *, api_version: str = "v1", page_size: int = 1000,
        batch_size: int = 500, rounds: int = 2, dataset: str | None = None) -> CollectorBenchmark:
    """Benchmark a backfill of the mock dataset `dataset` (default: `audit_<version>_backfill`) from its account."""
    from intpkg.cloudflare.mockapi import CloudflareMock

    install_package(client, package_dir)
    with CloudflareMock.from_package(package_dir, rate_limit=False) as mock, tempfile.TemporaryDirectory() as tmp:
        name = dataset or f"audit_{api_version}_backfill"
        records = list(mock.dataset(name).records())
        runs = _Runs(client, package_dir, mock, records, Path(tmp), account=mock.dataset_account(name),
                     api_version=api_version, page_size=page_size, batch_size=batch_size)
        result = CollectorBenchmark(api_version=api_version, events=len(records), rounds=rounds)
        order = ["collector", "direct", "fetch_bulk"]
        for n in range(rounds):
            for kind in order[n % 3:] + order[:n % 3]:  # rotate who goes first
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
