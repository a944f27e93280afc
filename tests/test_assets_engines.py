"""Pipelines and mappings written for Elasticsearch, adapted where OpenSearch differs (intpkg.assets.engines).

The unit tests pin each adaptation; the live ones run the adapted processor on the session's node,
whichever engine it is, and expect the engine-independent answer.
"""

from __future__ import annotations

import pytest

from intpkg.assets.engines import mappings_for, pipeline_for
from intpkg.errors import IntpkgError
from intpkg.stack.client import SearchClient


def simulate(client: SearchClient, processors: list[dict], *docs: dict) -> list[dict]:
    pipeline = pipeline_for({"processors": processors}, client.flavor)
    body = {"pipeline": pipeline, "docs": [{"_source": d} for d in docs]}
    result = client.request("POST", "/_ingest/pipeline/_simulate", body=body)
    return [d["doc"]["_source"] if "doc" in d else d for d in result["docs"]]


def test_elasticsearch_gets_the_pipeline_unchanged() -> None:
    body = {"processors": [{"fingerprint": {"fields": ["a"], "method": "SHA-256"}}, {"community_id": {}}]}
    assert pipeline_for(body, "elasticsearch") is body


def test_fingerprint_becomes_a_painless_script_everywhere_on_opensearch() -> None:
    body = {
        "processors": [
            {"fingerprint": {"fields": ["a", "b.c"], "target_field": "_id", "tag": "fp", "if": "ctx.a != null",
                             "ignore_missing": True}},
            {"foreach": {"field": "list", "processor": {"fingerprint": {"fields": ["_ingest._value"],
                                                                        "method": "SHA-256"}}}},
            {"set": {"field": "x", "value": 1, "on_failure": [{"fingerprint": {"fields": ["b"]}}]}},
        ],
        "on_failure": [{"fingerprint": {"fields": ["c"]}}],
    }
    adapted = pipeline_for(body, "opensearch")
    script = adapted["processors"][0]["script"]
    assert {k: v for k, v in script.items() if k != "source"} == {
        "tag": "fp", "if": "ctx.a != null", "lang": "painless",
        "params": {"fields": ["a", "b.c"], "target_field": "_id", "method": "sha1", "ignore_missing": True}}
    assert adapted["processors"][1]["foreach"]["processor"]["script"]["params"]["method"] == "sha256"
    assert "script" in adapted["processors"][2]["set"]["on_failure"][0]
    assert "script" in adapted["on_failure"][0]
    assert "'fingerprint': {" not in str(adapted) and "script" not in str(body)  # a copy


@pytest.mark.parametrize(("options", "message"), [
    ({"fields": ["a"], "salt": "s", "tag": "salted"}, r"p\.yml: fingerprint processor `salted`: .* no `salt`"),
    ({"fields": ["a"], "method": "MurmurHash3"}, r"p\.yml: fingerprint processor: .* no method 'MurmurHash3'"),
    ({"fields": ["a"], "method": "MD5"}, r"p\.yml: fingerprint processor: .* no method 'MD5'"),
])
def test_a_fingerprint_opensearch_cannot_compute_is_named(options, message) -> None:
    with pytest.raises(IntpkgError, match=message):
        pipeline_for({"processors": [{"fingerprint": options}]}, "opensearch", where="p.yml")


def test_community_id_names_every_field_with_elasticsearch_defaults() -> None:
    adapted = pipeline_for({"processors": [{"community_id": {"source_ip": "s", "tag": "cid", "seed": 7}}]},
                           "opensearch")["processors"][0]["community_id"]
    assert adapted == {
        "tag": "cid", "source_ip_field": "s", "source_port_field": "source.port",
        "destination_ip_field": "destination.ip", "destination_port_field": "destination.port",
        "iana_protocol_number_field": "network.iana_number", "protocol_field": "network.transport",
        "icmp_type_field": "icmp.type", "icmp_code_field": "icmp.code",
        "target_field": "network.community_id", "seed": 7, "ignore_missing": True,
    }


def test_opensearch_mappings() -> None:
    mappings = {"properties": {
        "url": {"properties": {"original": {"type": "wildcard", "ignore_above": 1024,
                                            "fields": {"text": {"type": "match_only_text"}}}}},
        "raw": {"type": "flattened"},
        "data_stream": {"properties": {"type": {"type": "constant_keyword"},
                                       "fixed": {"type": "constant_keyword", "value": "logs"}}},
    }}
    adapted = mappings_for(mappings, "opensearch")["properties"]
    assert adapted["url"]["properties"]["original"] == {"type": "keyword", "ignore_above": 1024,
                                                        "fields": {"text": {"type": "match_only_text"}}}
    bare = mappings_for({"properties": {"u": {"type": "wildcard"}}}, "opensearch")["properties"]["u"]
    assert bare == {"type": "keyword", "ignore_above": 8191}  # no immense-term refusals
    assert adapted["raw"] == {"type": "flat_object"}
    assert adapted["data_stream"]["properties"] == {"type": {"type": "keyword"},
                                                    "fixed": {"type": "constant_keyword", "value": "logs"}}
    assert mappings_for(mappings, "elasticsearch") is mappings


def test_fingerprint_in_elasticsearch_form_runs_on_the_node(search_client: SearchClient) -> None:
    processors = [{"fingerprint": {"fields": ["id", "n.m"], "target_field": "x.fp", "method": "SHA-256", "tag": "fp"}}]
    a, b, c, d = simulate(search_client, processors, {"id": "x-1"}, {"id": "x-1"}, {"id": "x-2"},
                          {"id": "x-1", "n": {"m": 5}})
    assert a["x"]["fp"] and a["x"]["fp"] == b["x"]["fp"] != c["x"]["fp"] != d["x"]["fp"] != a["x"]["fp"]
    missing = [{"fingerprint": {"fields": ["nope"], "target_field": "fp", "ignore_missing": True}}]
    (kept,) = simulate(search_client, missing, {"id": "x-1"})
    assert kept == {"id": "x-1"}  # nothing to hash: no fingerprint, as Elasticsearch does


def test_concurrent_bulks_through_one_pipeline_give_every_record_its_own_id(search_client: SearchClient,
                                                                         unique_name: str) -> None:
    """OpenSearch 3.6's own fingerprint processor hashes "" now and then under concurrent ingest, giving
    different records one _id (all but one then refused as duplicates); the installed form must not."""
    from concurrent.futures import ThreadPoolExecutor

    name = f"{unique_name}-fp"
    pipeline = pipeline_for({"processors": [{"fingerprint": {"fields": ["id", "pad"], "target_field": "_id"}}]},
                            search_client.flavor)
    search_client.request("PUT", f"/_ingest/pipeline/{name}", body=pipeline)
    pad = "x" * 2000  # a longer hash input widens the race: OpenSearch's processor then loses ~0.2% of 80 000
    try:
        def bulk(start: int) -> list[int]:
            actions = ({"_op_type": "create", "_index": name, "_source": {"id": f"r-{n}", "pad": pad}}
                       for n in range(start, start + 10000))
            return [next(iter(info.values())).get("status") for _, info in search_client.streaming_bulk(
                actions, chunk_size=500, raise_on_error=False, params={"pipeline": name}, yield_ok=True)]

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = [s for part in pool.map(bulk, range(0, 80000, 10000)) for s in part]
        search_client.request("POST", f"/{name}/_refresh")
        assert statuses.count(201) == 80000, {s: statuses.count(s) for s in set(statuses)}
        assert search_client.request("GET", f"/{name}/_count")["count"] == 80000
    finally:
        search_client.request("DELETE", f"/_ingest/pipeline/{name}", ignore=(404,))
        search_client.request("DELETE", f"/{name}", ignore=(404,))


def test_community_id_in_elasticsearch_form_gives_the_spec_vector(search_client: SearchClient) -> None:
    # TCP 128.232.110.120:34855 -> 66.35.250.204:80, seed 0: the Community ID spec's example flow,
    # in the ECS fields Elasticsearch's processor reads by default.
    doc = {"source": {"ip": "128.232.110.120", "port": 34855}, "destination": {"ip": "66.35.250.204", "port": 80},
           "network": {"iana_number": 6, "transport": "tcp"}}
    (out,) = simulate(search_client, [{"community_id": {"tag": "cid"}}], doc)
    assert out["network"]["community_id"] == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="


def test_wildcard_fields_match_query_string_wildcards(search_client: SearchClient, unique_name: str) -> None:
    mappings = mappings_for({"properties": {"url": {"properties": {"original": {"type": "wildcard"}}}}},
                            search_client.flavor)
    search_client.request("PUT", f"/{unique_name}", body={"mappings": mappings})
    try:
        search_client.request("POST", f"/{unique_name}/_doc", params={"refresh": "true"},
                              body={"url": {"original": "/wp-admin/install.php?step=2"}})
        hits = search_client.request("POST", f"/{unique_name}/_search", body={
            "query": {"query_string": {"query": "url.original:*install.php*"}}})["hits"]["hits"]
        assert len(hits) == 1
    finally:
        search_client.request("DELETE", f"/{unique_name}", ignore=(404,))
