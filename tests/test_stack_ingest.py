"""The session's real search node runs the processors integration pipelines rely on."""

from __future__ import annotations

import json

import pytest

from intpkg.stack.client import SearchClient

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"


def simulate(client: SearchClient, processors: list[dict], *docs: dict) -> list[dict]:
    body = {"pipeline": {"processors": processors}, "docs": [{"_source": d} for d in docs]}
    result = client.request("POST", "/_ingest/pipeline/_simulate", body=body)
    return [d.get("doc", {}).get("_source") if "doc" in d else d for d in result["docs"]]


def test_common_processors(search_client: SearchClient) -> None:
    processors = [
        {"json": {"field": "message", "target_field": "json", "tag": "json"}},
        {"rename": {"field": "json.addr", "target_field": "source.ip", "tag": "rename"}},
        {"convert": {"field": "json.status", "type": "long", "tag": "convert"}},
        {"date": {"field": "json.when", "target_field": "@timestamp", "formats": ["ISO8601"], "tag": "date"}},
        {"user_agent": {"field": "json.ua", "target_field": "user_agent", "tag": "ua"}},
        {"script": {
            "lang": "painless", "tag": "script",
            "source": "ctx.related = ['ip': [ctx.source.ip]]; ctx.doubled = ctx.json.status * 2;",
        }},
    ]
    message = json.dumps({"addr": "198.51.100.23", "status": "201", "when": "2025-03-14T09:26:53.412Z", "ua": UA})
    (doc,) = simulate(search_client, processors, {"message": message})
    assert doc["source"]["ip"] == "198.51.100.23"
    assert doc["json"]["status"] == 201
    assert doc["doubled"] == 402
    assert doc["@timestamp"].startswith("2025-03-14T09:26:53.412")
    assert doc["user_agent"]["name"] == "Chrome"
    assert doc["user_agent"]["os"]["name"] == "Linux"
    assert doc["related"] == {"ip": ["198.51.100.23"]}


def test_geoip_uses_the_installed_test_databases(search_client: SearchClient) -> None:
    processors = [
        {"geoip": {"field": "ip", "target_field": "geo", "tag": "city"}},
        {"geoip": {"field": "ip", "target_field": "as", "database_file": "GeoLite2-ASN.mmdb", "tag": "asn"}},
    ]
    (doc,) = simulate(search_client, processors, {"ip": "89.160.20.128"})
    assert doc["geo"]["city_name"] == "Linköping", "the test node is not using MaxMind's test databases"
    assert doc["geo"]["country_iso_code"] == "SE"
    assert set(doc["geo"]["location"]) == {"lat", "lon"}
    assert (doc["as"]["asn"], doc["as"]["organization_name"]) == (29518, "Bredband2 AB")


@pytest.mark.parametrize("processor", ["uri_parts", "registered_domain"])
def test_elasticsearch_only_processors(search_client: SearchClient, processor: str) -> None:
    if processor not in search_client.ingest_processors():
        pytest.skip(f"{search_client.flavor} {search_client.version} has no {processor} processor "
                    "(Elasticsearch 8 has it; run with INTPKG_ES_URL pointing at an Elasticsearch cluster)")
    if processor == "uri_parts":
        (doc,) = simulate(search_client, [{"uri_parts": {"field": "u", "target_field": "url"}}],
                          {"u": "https://www.example.com:8443/a/b.php?q=1#top"})
        assert doc["url"]["domain"] == "www.example.com"
        assert (doc["url"]["port"], doc["url"]["extension"], doc["url"]["query"]) == (8443, "php", "q=1")
    else:
        (doc,) = simulate(search_client, [{"registered_domain": {"field": "h", "target_field": "url"}}],
                          {"h": "www.example.co.uk"})
        assert doc["url"]["registered_domain"] == "example.co.uk"
        assert doc["url"]["subdomain"] == "www"


def test_data_stream_from_composable_template_with_default_pipeline(
    search_client: SearchClient, unique_name: str
) -> None:
    dataset = unique_name.replace("-", "_")
    stream = f"logs-{dataset}-default"
    pipeline = f"{unique_name}-default"
    search_client.request("PUT", f"/_ingest/pipeline/{pipeline}", body={
        "processors": [{"set": {"field": "event.dataset", "value": dataset, "tag": "set"}}],
    })
    search_client.request("PUT", f"/_index_template/{unique_name}", body={
        "index_patterns": [f"logs-{dataset}-*"],
        "data_stream": {},
        "priority": 500,
        "template": {
            "settings": {"index.default_pipeline": pipeline, "number_of_replicas": 0},
            "mappings": {"properties": {"@timestamp": {"type": "date"}, "event": {"properties": {
                "dataset": {"type": "keyword"}}}}},
        },
    })
    try:
        search_client.request("POST", f"/{stream}/_doc", params={"refresh": "true"},
                              body={"@timestamp": "2025-03-14T09:26:53Z", "message": "hello"})
        info = search_client.request("GET", f"/_data_stream/{stream}")
        (data_stream,) = info["data_streams"]
        assert data_stream["template"] == unique_name
        assert data_stream["indices"][0]["index_name"].startswith(f".ds-{stream}-")
        hits = search_client.request("GET", f"/{stream}/_search")["hits"]["hits"]
        assert [h["_source"]["event"]["dataset"] for h in hits] == [dataset]
    finally:
        search_client.request("DELETE", f"/_data_stream/{stream}", ignore=(404,))
        search_client.request("DELETE", f"/_index_template/{unique_name}", ignore=(404,))
        search_client.request("DELETE", f"/_ingest/pipeline/{pipeline}", ignore=(404,))
