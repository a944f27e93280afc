"""`benchmark pipeline` on the real node, kept tiny: it must produce figures and leave nothing behind.

Speeds are reported by the command, never asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intpkg import cli
from intpkg.benchmark import pipeline as bench
from intpkg.errors import IntpkgError
from intpkg.package import Package
from intpkg.testing.pipeline.installer import install

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def audit():
    return Package.load(REPO_ROOT).data_streams(["audit"])[0]


def test_corpus_leaves_out_expected_failures_and_ids_are_unique(audit):
    events = bench.corpus(audit)
    assert not any("this is not JSON" in e.get("message", "") for e in events)
    bodies = bench.bulk_bodies(bench.unique_events(events, len(events) * 2 + 1), 50)
    lines = b"".join(bodies).decode().splitlines()
    docs = [json.loads(line) for line in lines[1::2]]
    assert len(docs) == len(events) * 2 + 1 and len(bodies) == -(-len(docs) // 50)
    ids = []
    for doc in docs:
        raw = doc.get("event", {}).get("original") or doc["message"]
        try:
            ids.append(json.loads(raw)["id"])
        except (ValueError, KeyError):
            ids.append(None)  # an envelope without records
    real = [i for i in ids if i is not None]
    assert len(real) == len(set(real))


def test_processed_documents_are_the_pipeline_output_with_their_ids(search_client, audit):
    events = bench.unique_events(bench.corpus(audit), 5)
    installed = install(search_client, audit)
    try:
        docs, ids = bench.processed_documents(search_client, installed.entry, audit.index, events, 2)
    finally:
        installed.delete()
    assert len(docs) == len(ids) == 5
    assert all(d["event"]["kind"] == "event" and "cloudflare" in d for d in docs)
    assert len(set(ids)) == 5 and all(ids)


def test_run_reports_figures_and_cleans_up(search_client, audit):
    result = bench.run(search_client, audit, docs=300, batch_size=100, clients=1, rounds=1)
    assert {run: len(v) for run, v in result.docs_per_second.items()} == {"raw": 1, "processed": 1, "pipeline": 1,
                                                                         "empty": 1}
    assert all(result.median(run) > 0 for run in bench.RUNS)
    assert result.ratio("processed") > 0 and result.ingest_took_ms[0] > 0
    assert result.pipeline_failed_docs == 0
    assert result.index_prefix.startswith("intpkg-bench-")
    leftovers = search_client.request("GET", f"/_cat/indices/{result.index_prefix}-*", params={"format": "json"})
    assert leftovers == []
    pipeline_files = list((REPO_ROOT / "data_stream" / "audit" / "elasticsearch" / "ingest_pipeline").glob("*.yml"))
    assert len(result.pipelines) == len(pipeline_files) + 1  # the data stream's pipelines and the empty floor
    for name in result.pipelines:
        assert search_client.request("GET", f"/_ingest/pipeline/{name}", ignore=(404,)) == {}


def test_invalid_sizes_are_refused(search_client, audit):
    with pytest.raises(IntpkgError, match="must be positive"):
        bench.run(search_client, audit, docs=0)


def test_cli_json_output(search_target, capsys):
    code = cli.main(["benchmark", "pipeline", str(REPO_ROOT), "-d", "audit", "--docs", "200", "--batch-size", "100",
                     "--clients", "1", "--rounds", "1", "--format", "json", "--es-url", search_target.url])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    (report,) = data["benchmarks"]
    assert report["data_stream"] == "audit" and report["docs"] == 200
    assert {"median_docs_per_second", "ratio_vs_processed", "ratio_vs_raw", "test_pipeline_seconds"} <= set(report)
