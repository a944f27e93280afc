"""Fuzzing both data streams through the real node: every input becomes exactly one searchable document.

Inputs are the mock API's records with one value given another shape, a key removed, or the line
broken (intpkg.testing.fuzz). Each goes through the installed data stream as the collector sends it;
the index must refuse none, and every document the pipeline could not fully map carries error.message
and the original record.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
import yaml

from intpkg.assets.install import install_package
from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.fields import load_fields
from intpkg.stack.client import SearchClient
from intpkg.testing.fuzz import LINE_BREAKERS, mutations
from intpkg.yamlpos import read_yaml

REPO = Path(__file__).resolve().parents[1]
INPUTS = 1000
STREAMS = {  # data stream: (mock datasets whose records are mutated, the record's id key)
    "audit": (("audit_v1_main", "audit_v2_main"), "id"),
    "logpull": (("logpull_example_com",), "RayID"),
}


@pytest.fixture(scope="module")
def installed(search_client: SearchClient) -> SearchClient:
    install_package(search_client, REPO)
    return search_client


@pytest.mark.parametrize("dataset", list(STREAMS))
def test_the_shape_guard_lists_every_field_of_the_data_stream(ecs, dataset) -> None:
    pipeline = read_yaml(REPO / "data_stream" / dataset / "elasticsearch" / "ingest_pipeline" / "field_shapes.yml")
    shapes = pipeline["processors"][0]["script"]["params"]["shapes"]
    expected = load_fields(REPO, dataset, ecs).shape_groups()
    assert {group: sorted(f for f, g in shapes.items() if g == group) for group in expected} == expected, (
        f"field_shapes.yml of {dataset} is out of date with its field definitions; expected:\n"
        + yaml.safe_dump({f: g for g, fields in expected.items() for f in fields}, sort_keys=False))


@pytest.mark.parametrize("dataset", list(STREAMS))
def test_every_mutated_record_is_one_searchable_document(installed, unique_name, dataset, capsys) -> None:
    names, identity = STREAMS[dataset]
    with CloudflareMock.from_package(REPO) as mock:
        records = [r for name in names for r in list(mock.dataset(name).records())[:300]]
    inputs = list(mutations(records, seed=20261126, count=INPUTS, identity=identity))
    index = f"logs-cloudflare.{dataset}-{unique_name.replace('-', '')}"
    actions = [{"_op_type": "create", "_index": index, "_source": {"message": line}} for _, line in inputs]
    refused = []
    for (shape, _), (ok, item) in zip(inputs, installed.streaming_bulk(
            actions, chunk_size=250, raise_on_error=False, raise_on_exception=False), strict=True):
        if not ok:
            refused.append(f"{shape}: {item['create'].get('error', {}).get('reason', '')[:150]}")
    installed.request("POST", f"/{index}/_refresh")
    try:
        assert refused == [], f"{len(refused)} of {INPUTS} refused by the index, e.g. {refused[:5]}"
        assert installed.request("GET", f"/{index}/_count")["count"] == INPUTS
        query = {"bool": {"must": [{"term": {"event.kind": "pipeline_error"}}],
                          "must_not": [{"exists": {"field": "error.message"}}]}}
        assert installed.request("GET", f"/{index}/_count", body={"query": query})["count"] == 0
        flagged = installed.request("POST", f"/{index}/_search", body={
            "size": INPUTS, "_source": ["event.original"], "query": {"exists": {"field": "error.message"}}})
        flagged = [hit["_source"] for hit in flagged["hits"]["hits"]]
        assert flagged and all(doc.get("event", {}).get("original") for doc in flagged)  # the record is kept
    finally:
        installed.request("DELETE", f"/_data_stream/{index}", ignore=(404,))
    kinds = collections.Counter(shape if shape in LINE_BREAKERS else shape.split(": ")[-1] if ": " in shape
                                else "key removed" for shape, _ in inputs)
    with capsys.disabled():
        print(f"\nfuzz {dataset}: {INPUTS} inputs -> {INPUTS} documents, {len(flagged)} with error.message; shapes: "
              + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
