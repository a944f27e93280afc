"""End-to-end collector throughput: a large backfill from the mock API into the cluster.

Two timed runs into fresh namespaces of the same data stream (same template, same ingest pipeline):

- collector: `intpkg run --once` as a child process reads the mock account's whole history (the
  mock's 100 000-record backfill account by default) and ships it; its peak RSS is the child's
  VmHWM, sampled from /proc while it runs;
- direct: the same records, wrapped exactly as the agent wraps them, bulk-indexed by this process
  with the client's streaming bulk helper.

The overhead is how much slower the collector is than direct indexing of the same documents: once for
the whole process (start-up included: imports, Handlebars rendering through js2py) and once for the
collection interval alone (first request to last acknowledgement, from the agent's status file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from intpkg.agent.events import EventBuilder
from intpkg.assets.install import install_package
from intpkg.stack.client import SearchClient

BACKFILL_ACCOUNT = "3d4e5f60718293a4b5c6d7e8f90a1b2c"
MOCK_TOKEN = "test-token-0123456789"


@dataclass
class CollectorBenchmark:
    api_version: str
    events: int
    collector_seconds: float
    collector_docs: int
    collector_eps: float
    interval_seconds: float  # the collection interval alone: first request to last acknowledgement
    interval_eps: float
    direct_seconds: float
    direct_docs: int
    direct_eps: float
    overhead_percent: float
    interval_overhead_percent: float  # without the process start-up (imports, template rendering)
    agent_peak_rss_mb: float

    def to_dict(self) -> dict:
        return asdict(self)


def _count(client: SearchClient, index: str) -> int:
    client.request("POST", f"/{index}/_refresh", ignore=(404,))
    return client.request("GET", f"/{index}/_count", ignore=(404,)).get("count", 0)


def run(client: SearchClient, package_dir: Path, *, api_version: str = "v1", page_size: int = 1000,
        batch_size: int = 500) -> CollectorBenchmark:
    from intpkg.mock.server import MockServer

    install_package(client, package_dir)
    dataset_name = f"audit_{api_version}_backfill"
    run_id = uuid.uuid4().hex[:6]
    with MockServer.from_package(package_dir, rate_limit=False) as mock, tempfile.TemporaryDirectory() as tmp:
        records = list(mock.dataset(dataset_name).records())
        ns_collector, ns_direct = f"benchc{run_id}", f"benchd{run_id}"
        policy = Path(tmp) / "policy.yml"
        policy.write_text(yaml.safe_dump({"namespace": ns_collector, "inputs": {"cloudflare-httpjson": {"streams": {
            "cloudflare.audit": {"vars": {"account_id": BACKFILL_ACCOUNT, "api_token": MOCK_TOKEN,
                                          "api_url": mock.base_url, "api_version": api_version,
                                          "page_size": page_size, "initial_interval": "13140h"}}}}}}))
        cmd = [sys.executable, "-m", "intpkg.cli", "run", str(package_dir), "--policy", str(policy), "--once",
               "--state-dir", str(Path(tmp) / "state"), "--es-url", client.target.url, "--log-level", "WARNING"]
        log_path = Path(tmp) / "collector.log"
        started = time.monotonic()
        with log_path.open("w") as log:  # a file, not a pipe: a full pipe would stall the child
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ))
            peak_kb = _watch_peak_rss(proc)
        collector_seconds = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError(f"the collector failed: {log_path.read_text()[-2000:]}")
        status = json.loads((Path(tmp) / "state" / "status.json").read_text())
        (stream,) = status["streams"].values()
        interval_seconds = stream["last_run_finished"] - stream["last_run_started"]
        index_c = f"logs-cloudflare.audit-{ns_collector}"
        collector_docs = _count(client, index_c)

        builder = EventBuilder(dataset="cloudflare.audit", ds_type="logs", namespace=ns_direct, input_type="httpjson")
        index_d = f"logs-cloudflare.audit-{ns_direct}"
        actions = ({"_op_type": "create", "_index": index_d, "_source": builder.build(r)} for r in records)
        started = time.monotonic()
        for ok, info in client.streaming_bulk(actions, chunk_size=batch_size, raise_on_error=False):
            if not ok and next(iter(info.values()), {}).get("status") != 409:
                raise RuntimeError(f"direct indexing failed: {json.dumps(info)[:500]}")
        direct_seconds = time.monotonic() - started
        direct_docs = _count(client, index_d)
        for index in (index_c, index_d):
            client.request("DELETE", f"/_data_stream/{index}", ignore=(404,))

    collector_eps = collector_docs / collector_seconds
    direct_eps = direct_docs / direct_seconds
    return CollectorBenchmark(
        api_version=api_version, events=len(records),
        collector_seconds=round(collector_seconds, 2), collector_docs=collector_docs,
        collector_eps=round(collector_eps, 1),
        interval_seconds=round(interval_seconds, 2), interval_eps=round(collector_docs / interval_seconds, 1),
        direct_seconds=round(direct_seconds, 2), direct_docs=direct_docs, direct_eps=round(direct_eps, 1),
        overhead_percent=round((1 - collector_eps / direct_eps) * 100, 1),
        interval_overhead_percent=round((1 - collector_docs / interval_seconds / direct_eps) * 100, 1),
        agent_peak_rss_mb=round(peak_kb / 1024, 1),
    )


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
