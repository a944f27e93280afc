"""The audit data stream's ingest pipelines on the real node: its pipeline tests, ids, and pipeline hygiene."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intpkg.package import Package
from intpkg.testing.pipeline.installer import install
from intpkg.testing.pipeline.runner import PipelineRunner
from intpkg.testing.result import PASS
from intpkg.testing.runner import RunOptions
from intpkg.yamlpos import read_yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PIPELINES = REPO_ROOT / "data_stream" / "audit" / "elasticsearch" / "ingest_pipeline"
CASES = REPO_ROOT / "data_stream" / "audit" / "_dev" / "test" / "pipeline"


@pytest.fixture(scope="module")
def audit(search_client):
    """The audit pipelines installed once for this module (deleted afterwards)."""
    ds = Package.load(REPO_ROOT).data_streams(["audit"])[0]
    installed = install(search_client, ds)
    yield installed, ds
    installed.delete()


def simulate(client, audit, events: list[dict]) -> list[dict | None]:
    installed, ds = audit
    body = {"docs": [{"_index": ds.index, "_source": e} for e in events]}
    docs = client.request("POST", f"/_ingest/pipeline/{installed.entry}/_simulate", body=body)["docs"]
    return [None if d is None or d.get("doc") is None else d["doc"] for d in docs]


def v1_line(n: int = 0) -> str:
    return (CASES / "test-audit-v1.log").read_text().splitlines()[n]


def v2_line(n: int = 0) -> str:
    return (CASES / "test-audit-v2.log").read_text().splitlines()[n]


def test_package_pipeline_tests_pass_and_cover_every_processor(search_client):
    runner = PipelineRunner(search_client)
    results = runner.run(RunOptions(package_dir=REPO_ROOT, data_streams=["audit"], coverage=True))
    assert {r.name for r in results} >= {"test-audit-v1.log", "test-audit-v2.log", "test-malformed.log",
                                         "test-envelope.log", "test-preserve-original.json"}
    assert [(r.name, r.failures) for r in results if r.status != PASS] == []
    assert runner.coverage["audit"]["unhit"] == []


def test_id_is_a_fingerprint_of_the_record_id(search_client, audit):
    record = json.loads(v1_line())
    again = dict(record, interface="UI")  # same record id re-delivered (inclusive since)
    other = dict(record, id="another-id")
    docs = simulate(search_client, audit, [{"message": json.dumps(r)} for r in (record, again, other)]
                    + [{"message": v2_line()}, {"message": v2_line()}])
    ids = [d["_id"] for d in docs]
    assert ids[0] == ids[1] and ids[0] != ids[2]
    assert ids[3] == ids[4] and ids[3] not in ids[:3]
    assert all(i not in ("_id", "", None) for i in ids)


def test_v1_and_v2_records_share_one_ecs_shape(search_client, audit):
    v1, v2 = (d["_source"] for d in simulate(search_client, audit, [{"message": v1_line()}, {"message": v2_line()}]))
    for doc in (v1, v2):
        assert set(doc["event"]) >= {"kind", "category", "type", "action", "outcome", "id", "provider"}
        assert {"@timestamp", "user", "source", "related", "cloudflare", "cloud"} <= set(doc)
        assert doc["source"]["geo"]["country_iso_code"] == "SE" and doc["source"]["as"]["number"] == 29518
        assert "original" not in doc["event"] and "_tmp_" not in doc and "message" not in doc
    assert v1["cloudflare"]["audit"]["api_version"] == "v1" and v2["cloudflare"]["audit"]["api_version"] == "v2"


def all_processors(pipeline: dict):
    """(type, options) of every processor, per-processor on_failure handlers included."""
    def walk(items):
        for item in items or []:
            (kind, spec), = item.items()
            yield kind, spec
            yield from walk(spec.get("on_failure"))

    yield from walk(pipeline["processors"])
    yield from walk(pipeline["on_failure"])


@pytest.mark.parametrize("path", sorted(PIPELINES.glob("*.yml")), ids=lambda p: p.name)
def test_every_processor_is_tagged_uniquely_and_on_failure_reports(path):
    assert path.read_text().startswith("---\n")
    pipeline = read_yaml(path)
    tags = [spec.get("tag") for _, spec in all_processors(pipeline)]
    assert all(tags) and len(tags) == len(set(tags))
    handlers = {spec["field"]: spec for p in pipeline["on_failure"] for spec in p.values() if "field" in spec}
    assert handlers["event.kind"]["value"] == "pipeline_error"
    assert handlers["tags"]["value"] == "preserve_original_event"
    # the tag, not the type: OpenSearch reports every processor with `if` as "conditional"
    for part in ("_ingest.on_failure_processor_tag", "_ingest.on_failure_message", "_ingest.pipeline"):
        assert part in handlers["error.message"]["value"]


def test_pipelines_use_only_processors_both_engines_offer(search_client):
    both = {"append", "convert", "date", "drop", "fail", "fingerprint", "geoip", "gsub", "json", "lowercase",
            "pipeline", "remove", "rename", "script", "set", "user_agent"}
    used = {kind for path in PIPELINES.glob("*.yml") for kind, _ in all_processors(read_yaml(path))}
    assert used <= both
    assert used <= search_client.ingest_processors()
