"""`benchmark pipeline`: indexing throughput through a data stream's ingest pipeline vs. no pipeline.

The corpus is the data stream's own pipeline test inputs (records that do not expect failure),
copied until `docs` documents exist; each copy gets a unique record `id` so the pipeline's
fingerprint `_id` never turns an index into an update. Each round bulk-indexes, into fresh
one-shard indices with the data stream's mappings on the same node:

- `raw`: the input documents with no pipeline (the cheapest possible indexing);
- `processed`: the documents the pipeline produces (obtained once with `_simulate`), with their
  `_id`, with no pipeline: the cost of indexing the final documents alone;
- `pipeline`: the input documents through the ingest pipeline.

`pipeline / processed` is the share of throughput kept when the pipeline does the work;
`pipeline / raw` compares with storing the raw records. Everything the run creates is deleted
afterwards; the run is bounded by `docs` and `rounds`.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from intpkg.assets.engines import mappings_for
from intpkg.errors import IntpkgError
from intpkg.fields import load_ecs, load_fields
from intpkg.package import DataStream
from intpkg.stack.client import SearchClient
from intpkg.testing.pipeline import cases as cases_mod
from intpkg.testing.pipeline.installer import install


@dataclass
class RunFigures:
    docs: int
    seconds: float
    failed: int
    ingest_took_ms: int = 0

    @property
    def docs_per_second(self) -> float:
        return self.docs / self.seconds if self.seconds else 0.0


# raw: inputs, no pipeline; processed: the pipeline's output, no pipeline; pipeline: inputs through the
# pipeline; empty: the output through an empty pipeline, i.e. the cost of the ingest machinery alone
RUNS = ("raw", "processed", "pipeline", "empty")


@dataclass
class PipelineBenchmark:
    data_stream: str
    docs: int
    batch_size: int
    clients: int
    rounds: int
    docs_per_second: dict[str, list[float]] = field(default_factory=lambda: {run: [] for run in RUNS})
    pipeline_failed_docs: int = 0
    ingest_took_ms: list[int] = field(default_factory=list)
    index_prefix: str = ""  # of the (deleted) indices this run created
    pipelines: list[str] = field(default_factory=list)  # the (deleted) pipelines this run installed

    def median(self, run: str) -> float:
        return statistics.median(self.docs_per_second[run])

    def ratio(self, baseline: str, run: str = "pipeline") -> float:
        return self.median(run) / self.median(baseline) if self.median(baseline) else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "median_docs_per_second": {run: round(self.median(run), 1) for run in RUNS},
                "ratio_vs_processed": round(self.ratio("processed"), 3), "ratio_vs_raw": round(self.ratio("raw"), 3),
                "empty_pipeline_vs_processed": round(self.ratio("processed", "empty"), 3),
                "ingest_us_per_doc": round(statistics.median(self.ingest_took_ms) * 1000 / self.docs, 1)}


def corpus(ds: DataStream) -> list[dict[str, Any]]:
    """Input events of the data stream's pipeline test cases, without the cases/events meant to fail."""
    test_dir = ds.path / "_dev" / "test" / "pipeline"
    events: list[dict[str, Any]] = []
    for case in cases_mod.discover(test_dir) if test_dir.is_dir() else []:
        if case.config.skip:
            continue
        events += [e for i, e in enumerate(case.events()) if not case.config.expects_failure(i)]
    if not events:
        raise IntpkgError(f"{ds.path}: no pipeline test inputs to build a benchmark corpus from.")
    return events


# record keys that make a document's `_id` (fingerprinted by the pipelines): audit `id`, Logpull `RayID`
UNIQUE_KEYS = ("id", "RayID")


def _unique_copy(event: dict[str, Any], n: int) -> dict[str, Any]:
    """The event with its record's identity made unique (the record is JSON in `message` or `event.original`)."""
    copy = json.loads(json.dumps(event))
    for holder, key in ((copy, "message"), (copy.get("event") or {}, "original")):
        try:
            record = json.loads(holder[key]) if isinstance(holder.get(key), str) else None
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            # records without an id are fingerprinted whole: a marker field (dropped by the pipeline) differs
            unique = {k: f"{record[k]}-{n}" for k in UNIQUE_KEYS if k in record} or {"intpkg_benchmark_copy": n}
            holder[key] = json.dumps({**record, **unique})
    return copy


def unique_events(events: list[dict[str, Any]], docs: int) -> list[dict[str, Any]]:
    return [_unique_copy(events[n % len(events)], n) for n in range(docs)]


def bulk_bodies(docs: list[dict[str, Any]], batch_size: int, ids: list[str | None] | None = None) -> list[bytes]:
    """NDJSON `_bulk` bodies of `create` actions (with the given `_id`s, if any)."""
    lines = []
    for n, doc in enumerate(docs):
        action = {"create": {"_id": ids[n]} if ids and ids[n] else {}}
        lines.append(json.dumps(action).encode() + b"\n" + json.dumps(doc).encode() + b"\n")
    return [b"".join(lines[i:i + batch_size]) for i in range(0, len(lines), batch_size)]


def processed_documents(client: SearchClient, entry: str, index: str, events: list[dict[str, Any]],
                        batch_size: int) -> tuple[list[dict[str, Any]], list[str | None]]:
    """The pipeline's output for `events` (dropped ones left out) and their `_id`s, via `_simulate`."""
    docs: list[dict[str, Any]] = []
    ids: list[str | None] = []
    for i in range(0, len(events), batch_size):
        body = {"docs": [{"_index": index, "_source": e} for e in events[i:i + batch_size]]}
        for item in client.request("POST", f"/_ingest/pipeline/{entry}/_simulate", body=body)["docs"]:
            if item and item.get("doc"):
                docs.append(item["doc"]["_source"])
                ids.append(item["doc"].get("_id") if item["doc"].get("_id") != "_id" else None)
    return docs, ids


def _index_all(client: SearchClient, index: str, bodies: list[bytes], clients: int,
               pipeline: str | None) -> RunFigures:
    url = f"{client.target.url}/{index}/_bulk"
    params = {"pipeline": pipeline} if pipeline else {}
    kwargs = client.target.requests_kwargs()
    headers = {**kwargs.pop("headers"), "Content-Type": "application/x-ndjson"}
    session = requests.Session()

    def send(body: bytes) -> tuple[int, int, int]:
        resp = session.post(url, data=body, params=params, headers=headers, timeout=120, **kwargs)
        if resp.status_code != 200:
            raise IntpkgError(f"POST {index}/_bulk answered HTTP {resp.status_code}: {resp.text[:300]}")
        data = resp.json()
        failed = sum(1 for item in data["items"] if next(iter(item.values())).get("status", 500) >= 300)
        return len(data["items"]), failed, int(data.get("ingest_took", 0))

    ingest_before = _ingest_millis(client) if pipeline else 0
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(send, bodies))
    seconds = time.perf_counter() - started
    # Elasticsearch 8.19 answers `ingest_took: 0` to every bulk; its ingest stats count the time instead
    ingest_ms = max(sum(o[2] for o in outcomes), _ingest_millis(client) - ingest_before) if pipeline else 0
    return RunFigures(sum(o[0] for o in outcomes), seconds, sum(o[1] for o in outcomes), ingest_ms)


def _ingest_millis(client: SearchClient) -> int:
    """Milliseconds all nodes have spent in ingest pipelines so far (`_nodes/stats/ingest`)."""
    stats = client.request("GET", "/_nodes/stats/ingest", params={"filter_path": "nodes.*.ingest.total"})
    return sum(node["ingest"]["total"]["time_in_millis"] for node in stats.get("nodes", {}).values())


def index_mappings(client: SearchClient, ds: DataStream, ecs_dir: Path | None = None) -> dict[str, Any]:
    """The data stream's mappings from its field definitions, as Fleet's index template would set them."""
    fields = load_fields(ds.package.path, ds.name, load_ecs(ecs_dir, package_dir=ds.package.path))
    mappings = {"properties": fields.mappings(), "dynamic_templates": fields.dynamic_templates()}
    return mappings_for(mappings, client.flavor)


def _fresh_index(client: SearchClient, name: str, mappings: dict[str, Any]) -> None:
    settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"}
    client.request("PUT", f"/{name}", body={"settings": settings, "mappings": mappings})


def run(client: SearchClient, ds: DataStream, *, docs: int = 20000, batch_size: int = 1000, clients: int = 2,
        rounds: int = 3, ecs_dir: Path | None = None) -> PipelineBenchmark:
    """After one warm-up round, alternate raw / processed / pipeline runs and keep every round's docs/s."""
    if docs <= 0 or batch_size <= 0 or clients <= 0 or rounds <= 0:
        raise IntpkgError("docs, batch size, clients and rounds must be positive.")
    events = unique_events(corpus(ds), docs)
    mappings = index_mappings(client, ds, ecs_dir)
    prefix = f"intpkg-bench-{uuid.uuid4().hex[:8]}"
    result = PipelineBenchmark(ds.name, docs, batch_size, clients, rounds, index_prefix=prefix)
    installed = install(client, ds)
    empty = f"{prefix}-empty"
    client.request("PUT", f"/_ingest/pipeline/{empty}", body={"description": "benchmark floor", "processors": []})
    result.pipelines = [*installed.names.values(), empty]
    created: list[str] = []
    try:
        processed, ids = processed_documents(client, installed.entry, ds.index, events, batch_size)
        bodies = {"raw": bulk_bodies(events, batch_size), "processed": bulk_bodies(processed, batch_size, ids),
                  "pipeline": bulk_bodies(events, batch_size), "empty": bulk_bodies(processed, batch_size, ids)}
        for round_no in range(rounds + 1):
            for label in RUNS:
                index = f"{prefix}-{label}-{round_no}"
                _fresh_index(client, index, mappings)
                created.append(index)
                work = bodies[label] if round_no else bodies[label][: max(1, len(bodies[label]) // 5)]
                pipeline = {"pipeline": installed.entry, "empty": empty}.get(label)
                figures = _index_all(client, index, work, clients, pipeline)
                client.request("DELETE", f"/{index}", ignore=(404,))
                if round_no == 0:
                    continue  # warm-up: JIT, caches, script compilation
                result.docs_per_second[label].append(figures.docs_per_second)
                if label == "pipeline":
                    result.pipeline_failed_docs += figures.failed
                    result.ingest_took_ms.append(figures.ingest_took_ms)
    finally:
        for index in created:
            client.request("DELETE", f"/{index}", ignore=(404,))
        installed.delete()
        client.request("DELETE", f"/_ingest/pipeline/{empty}", ignore=(404,))
    return result


def pipeline_test_wall_time(client: SearchClient, package_dir, data_stream: str, repeats: int = 3) -> list[float]:
    """Seconds per `intpkg test pipeline` run of one data stream; the first run warms up and is dropped."""
    from intpkg.testing.pipeline.runner import PipelineRunner
    from intpkg.testing.runner import RunOptions

    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        results = PipelineRunner(client).run(RunOptions(package_dir=package_dir, data_streams=[data_stream]))
        times.append(time.perf_counter() - started)
        if not all(r.ok for r in results):
            raise IntpkgError(f"`intpkg test pipeline` fails for {data_stream}; fix it before timing it.")
    return times[1:]
