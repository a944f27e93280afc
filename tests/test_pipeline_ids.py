"""Every record gets an _id derived from itself, in both data streams: re-sending anything adds no copy.

Records with an id (audit `id`, Logpull `RayID`) hash that id; records without one, and records the
pipeline cannot map, hash the raw record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intpkg.assets.install import install_package
from intpkg.stack.client import SearchClient

REPO = Path(__file__).resolve().parents[1]

AUDIT = [
    "this is not JSON at all",
    '{"id":"truncated-1","when":"2025-03-14T09:26:53Z"',
    '{"when":"2025-03-14T09:26:53Z","action":{"type":"login","result":true}}',  # v1 without an id
    '{"id":"bad-date-1","when":"yesterday afternoon"}',
    '{"no":"known shape"}',
    '"just a JSON string"',
]
LOGPULL = [
    "Error streaming data",
    '{"EdgeStartTimestamp":1741944413212000000,"ClientIP":"89.160.20.128"}',  # no RayID
    '{"RayID":"4f5a6b7c8d9e0f03","EdgeStartTimestamp":"yesterday"}',
    "[1, 2, 3]",
]


@pytest.fixture(scope="module")
def installed(search_client: SearchClient) -> SearchClient:
    install_package(search_client, REPO)
    return search_client


def send(client: SearchClient, index: str, lines: list[str]) -> list[str]:
    """Bulk-create one document per line (as the collector does); the ids of the created ones."""
    actions = [{"_op_type": "create", "_index": index, "_source": {"message": line}} for line in lines]
    created = []
    for ok, item in client.streaming_bulk(actions, raise_on_error=False, raise_on_exception=False):
        result = item["create"]
        if ok:
            created.append(result["_id"])
        else:
            assert result["status"] == 409, result  # only duplicates may be refused
    return created


@pytest.mark.parametrize(("dataset", "lines"), [("audit", AUDIT), ("logpull", LOGPULL)])
def test_records_that_fail_or_lack_an_id_are_stored_once(installed, unique_name, dataset, lines) -> None:
    index = f"logs-cloudflare.{dataset}-{unique_name.replace('-', '')}"
    first = send(installed, index, lines)
    assert len(first) == len(lines) == len(set(first))  # one document each, every id distinct
    again = send(installed, index, lines)
    assert again == []  # every re-sent record is a 409 duplicate
    installed.request("POST", f"/{index}/_refresh")
    docs = installed.request("POST", f"/{index}/_search", body={"size": 100})["hits"]["hits"]
    assert sorted(d["_id"] for d in docs) == sorted(first)
    kept = [d["_source"] for d in docs if d["_source"].get("event", {}).get("kind") == "pipeline_error"]
    assert kept and all(d["error"]["message"] and d["event"]["original"] for d in kept)
    installed.request("DELETE", f"/_data_stream/{index}", ignore=(404,))


def test_a_failed_record_gets_the_same_id_on_every_delivery(installed, unique_name) -> None:
    """The same raw record always hashes to the same _id (not a random one per delivery)."""
    index = f"logs-cloudflare.audit-{unique_name.replace('-', '')}"
    (first,) = send(installed, index, [json.dumps({"id": "x", "when": "not a date"})])
    installed.request("DELETE", f"/_data_stream/{index}")
    (second,) = send(installed, index, [json.dumps({"id": "x", "when": "not a date"})])
    assert first == second
    installed.request("DELETE", f"/_data_stream/{index}", ignore=(404,))
