"""Index raw Cloudflare records through the package's ingest pipeline, as the collector ships them.

Each record becomes the document intpkg's agent builds for it (`agent.events.EventBuilder`: the record
as JSON in `message`, `data_stream.*`, `input.type: httpjson`, ...), created in the data stream
`<type>-<dataset>-<namespace>`, whose index template (the package installed) runs the package's ingest
pipeline. The pipeline gives each record a deterministic `_id`, which the bulk answer reports, so every
record's document is known after indexing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from intpkg import dotted
from intpkg.agent.events import EventBuilder
from intpkg.detection import DetectionError
from intpkg.package import Package
from intpkg.stack.client import SearchClient

INPUT_TYPE = "httpjson"


@dataclass
class IndexedRecord:
    """What became of one record: its document's `_id`, `_index` and `@timestamp`, or why there is none
    (`problem`: dropped by the pipeline, refused, the same `_id` as another record, a pipeline error)."""

    label: str
    id: str | None = None
    index: str | None = None
    timestamp: str | None = None
    problem: str | None = None


def data_stream_name(package: Package, data_stream: str, namespace: str) -> str:
    ds = package.data_stream(data_stream)
    if ds is None:
        names = ", ".join(d.name for d in package.data_streams())
        raise DetectionError(f"the package has no data stream {data_stream!r} (it has {names}).")
    return f"{ds.type}-{ds.dataset}-{namespace}"


def index_records(client: SearchClient, package: Package, data_stream: str, namespace: str,
                  records: Sequence[tuple[str, Any]]) -> list[IndexedRecord]:
    """Create one document per `(label, raw record)` in the namespace's data stream; refreshed on return.

    A record given as text is sent as it is (the agent would send the response line)."""
    ds = package.data_stream(data_stream)
    index = data_stream_name(package, data_stream, namespace)
    assert ds is not None
    builder = EventBuilder(dataset=ds.dataset, ds_type=ds.type, namespace=namespace, input_type=INPUT_TYPE)
    docs = []
    for _, record in records:
        doc = builder.build(record)
        if isinstance(record, str):
            doc["message"] = record
        # when a record of a test was collected is unknown: without `event.created` a rule windowed on it
        # (timestamp_override) falls back to the record's own time, as if it had been collected at once
        doc["event"].pop("created", None)
        docs.append(doc)
    out = [IndexedRecord(label) for label, _ in records]
    actions = ({"_op_type": "create", "_index": index, "_source": doc} for doc in docs)
    by_id: dict[str, str] = {}
    results = client.streaming_bulk(actions, chunk_size=500, raise_on_error=False, raise_on_exception=False,
                                    max_retries=2, yield_ok=True)
    for item, (ok, info) in zip(out, results, strict=True):
        detail = next(iter(info.values()), {}) if info else {}
        status = detail.get("status")
        if ok and detail.get("result") == "noop":
            item.problem = "the ingest pipeline dropped it"
        elif ok:
            item.id, item.index = detail.get("_id"), detail.get("_index")
            by_id[item.id] = item.label
        elif status == 409:
            item.id = detail.get("_id")
            other = by_id.get(item.id, "another record")
            item.problem = (f"its document _id {item.id} is that of {other} (the pipeline derives the _id from the "
                            "record's id: give each record its own)")
        else:
            error = detail.get("error")
            item.problem = f"the cluster refused it (HTTP {status}): " + \
                (error.get("reason") if isinstance(error, dict) else json.dumps(error))
    created = [item for item in out if item.problem is None]
    if created:
        client.request("POST", f"/{index}/_refresh")
        found = client.request("POST", f"/{index}/_search", body={
            "size": len(created), "query": {"ids": {"values": [i.id for i in created]}},
            "_source": ["@timestamp", "error.message", "event.kind"]})
        sources = {h["_id"]: h.get("_source") or {} for h in (found.get("hits") or {}).get("hits") or []}
        for item in created:
            source = sources.get(item.id)
            if source is None:
                item.problem = f"its document {item.id} was not found after indexing"
                continue
            item.timestamp = source.get("@timestamp")
            message = dotted.find(source, "error.message", None)
            if message:
                text = "; ".join(map(str, message)) if isinstance(message, list) else str(message)
                item.problem = f"the ingest pipeline failed: {text}"
    return out


def delete_data_stream(client: SearchClient, name: str) -> None:
    client.request("DELETE", f"/_data_stream/{name}", ignore=(404,))
