"""The UI's data stream figures, event search and field names, against the session's real engine.

Raw audit v2 records (the pipeline test's input) go through the installed package's pipeline into a
namespace of this module's own; expected values come from the pipeline test's expected documents.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from intpkg.assets.install import install_package
from intpkg.package import Package
from intpkg.stack.client import SearchClient
from intpkg.ui.datastreams import (
    IndexRefused,
    QueryError,
    all_words,
    check_index,
    data_stream_stats,
    engine_reason,
    field_names,
    search_events,
)

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "data_stream/audit/_dev/test/pipeline"
RAW = (CASES / "test-audit-v2.log").read_text().splitlines()
EXPECTED = json.loads((CASES / "test-audit-v2.log-expected.json").read_text())["expected"]
PACKAGE = Package.load(REPO)


def expected(**where: str) -> list[dict]:
    """Expected documents whose `event.<key>` equals each value."""
    return [d for d in EXPECTED if all(d["event"].get(k) == v for k, v in where.items())]


@pytest.fixture(scope="module")
def audit(search_client: SearchClient) -> Iterator[str]:
    """A data stream of the package's audit dataset holding the 30 raw v2 records, refreshed."""
    install_package(search_client, REPO)
    index = f"logs-cloudflare.audit-uitest{uuid.uuid4().hex[:10]}"
    actions = [{"_op_type": "create", "_index": index, "_source": {"message": line}} for line in RAW]
    assert all(ok for ok, _ in search_client.streaming_bulk(actions, raise_on_error=False))
    search_client.request("POST", f"/{index}/_refresh")
    yield index
    search_client.request("DELETE", f"/_data_stream/{index}", ignore=(404,))


def test_stats_per_namespace(search_client, audit) -> None:
    stats = {s.name: s for s in data_stream_stats(search_client, PACKAGE)}
    mine = stats[audit]
    assert (mine.stream, mine.dataset, mine.pattern) == ("audit", "cloudflare.audit", "logs-cloudflare.audit-*")
    assert mine.namespace == audit.rsplit("-", 1)[1]
    assert mine.docs_count == len(RAW) and mine.has_data
    assert mine.last_event == max(d["@timestamp"] for d in EXPECTED) == "2025-03-14T11:15:00.000Z"
    assert mine.store_size_bytes > 0
    assert {s.stream for s in stats.values()} == {"audit", "logpull"}  # every package data stream is listed


def test_a_data_stream_without_data_is_listed_empty(search_client, tmp_path) -> None:
    dataset = f"uitest{uuid.uuid4().hex[:10]}.none"
    (tmp_path / "data_stream/empty").mkdir(parents=True)
    (tmp_path / "manifest.yml").write_text("name: uitest\nversion: 0.0.1\n")
    (tmp_path / "data_stream/empty/manifest.yml").write_text(f"title: Nothing yet\ndataset: {dataset}\n")
    (only,) = data_stream_stats(search_client, tmp_path)
    assert (only.name, only.namespace, only.title) == (f"logs-{dataset}-*", None, "Nothing yet")
    assert (only.docs_count, only.last_event, only.store_size_bytes, only.has_data) == (0, None, 0, False)


def test_events_newest_first_with_chosen_fields(search_client, audit) -> None:
    page = search_events(search_client, audit, start=None, end=None, fields=["event.action", "source.ip", "no.such"],
                         size=5)
    assert page.total == len(RAW) and page.total_relation == "eq" and page.took_ms >= 0
    newest = sorted(EXPECTED, key=lambda d: d["@timestamp"], reverse=True)[:5]
    assert [h.source["@timestamp"] for h in page.hits] == [d["@timestamp"] for d in newest]
    first = page.hits[0]
    assert first.index.startswith(".ds-" + audit) and first.id
    assert first.fields == {"event.action": newest[0]["event"]["action"],
                            "source.ip": newest[0].get("source", {}).get("ip"), "no.such": None}
    assert first.as_dict()["_source"] is first.source and first.as_dict()["_id"] == first.id
    following = search_events(search_client, audit, start=None, end=None, size=5, from_=5)
    assert {h.id for h in following.hits}.isdisjoint(h.id for h in page.hits)


def test_time_range_takes_iso_and_date_math(search_client, audit) -> None:
    start, end = "2025-03-14T10:05:00Z", "2025-03-14T10:30:00Z"
    inside = [d for d in EXPECTED if "2025-03-14T10:05:00.000Z" <= d["@timestamp"] <= "2025-03-14T10:30:00.000Z"]
    assert 0 < len(inside) < len(RAW)
    assert search_events(search_client, audit, start=start, end=end).total == len(inside)
    assert search_events(search_client, audit, start="2025-03-14T11:05:00+01:00", end=None).total == len(inside) + \
        len([d for d in EXPECTED if d["@timestamp"] > "2025-03-14T10:30:00.000Z"])
    assert search_events(search_client, audit, start="now-15m", end="now").total == 0  # the records are from 2025
    assert search_events(search_client, audit, start="2025-03-01||/d", end="now").total == len(RAW)


def test_query_filters_on_keyword_and_text_fields(search_client, audit) -> None:
    failed_logins = len(expected(action="login", outcome="failure"))
    assert failed_logins == 1
    for query in ("event.action:login AND event.outcome:failure", "event.action:login event.outcome:failure",
                  "login failure"):
        assert search_events(search_client, audit, start=None, end=None, query=query).total == failed_logins, query
    assert search_events(search_client, audit, start=None, end=None, query="event.action:(create OR delete)").total \
        == len(expected(action="create")) + len(expected(action="delete"))
    assert search_events(search_client, audit, start=None, end=None, query='cloud.account.name:"Example Corp"').total \
        == len([d for d in EXPECTED if d["cloud"]["account"].get("name") == "Example Corp"])
    firefox = [d for d in EXPECTED if "Firefox" in d.get("user_agent", {}).get("original", "")]
    assert firefox
    assert search_events(search_client, audit, start=None, end=None, query="user_agent.original.text:firefox").total \
        == len(firefox)


def test_a_bad_query_or_date_is_a_query_error(search_client, audit) -> None:
    with pytest.raises(QueryError) as bad:
        search_events(search_client, audit, start=None, end=None, query="event.action:(login")
    assert "Failed to parse query" in bad.value.reason and "Was expecting" not in bad.value.reason
    with pytest.raises(QueryError) as date:
        search_events(search_client, audit, start="yesterday-ish", end=None)
    assert "yesterday-ish" in date.value.reason
    with pytest.raises(QueryError, match="first 10,000"):
        search_events(search_client, audit, start=None, end=None, from_=9990, size=50)
    with pytest.raises(QueryError):
        search_events(search_client, audit, start=None, end=None, size=0)


@pytest.mark.parametrize("index", ["logs-*", ".kibana", "logs-cloudflare.audit-default,secrets", "secrets",
                                   "logs-cloudflare.audit-Prod", "logs-cloudflare.audit-a-b", "logs-cloudflare.audit*",
                                   "logs-cloudflare.audit-", "<logs-cloudflare.audit-{now/d}>",
                                   "logs-cloudflare.audit-default\n", "logs-cloudflare.audit-*,secrets"])
def test_indices_outside_the_package_are_refused(search_client, index) -> None:
    with pytest.raises(IndexRefused, match="logs-cloudflare.audit-\\*"):
        search_events(search_client, index, start=None, end=None)
    with pytest.raises(IndexRefused):
        field_names(search_client, index)


def test_a_missing_data_stream_of_the_package_has_no_events(search_client) -> None:
    assert search_events(search_client, "logs-cloudflare.logpull-nosuchnamespace", start=None, end=None).total == 0
    assert field_names(search_client, "logs-cloudflare.logpull-nosuchnamespace") == []


def test_field_names_are_sorted_mapped_leaves(search_client, audit) -> None:
    names = field_names(search_client, audit)
    assert {"@timestamp", "event.action", "source.ip", "cloudflare.audit.resource.request"} <= set(names)
    assert names == sorted(set(names))
    assert "event" not in names and "user_agent.original.text" not in names  # objects and multi-fields are not
    assert set(names) <= set(field_names(search_client, "logs-cloudflare.audit-*"))


def test_check_index_names_the_package_data_stream() -> None:
    assert check_index(PACKAGE, "logs-cloudflare.logpull-*").name == "logpull"
    assert check_index(PACKAGE, "logs-cloudflare.audit-prod_eu").name == "audit"


@pytest.mark.parametrize(("query", "sent"), [
    ("login failure", "login AND failure"),
    ("alice@example.com  terraform-prod", "alice@example.com AND terraform-prod"),
    ("login", "login"),
    ("login OR logout", "login OR logout"),
    ('"Example Corp" login', '"Example Corp" login'),
    ("event.action:login failure", "event.action:login failure"),
    ("-login failure", "-login failure"),
])
def test_plain_words_must_all_occur(query, sent) -> None:
    assert all_words(query) == sent


def test_engine_reason_of_an_elasticsearch_error_body() -> None:
    """Elasticsearch 8's shape for a query_string syntax error (the local engine may be OpenSearch)."""
    body = {"error": {
        "root_cause": [{"type": "query_shard_exception", "reason": "Failed to parse query [a:(]"}],
        "type": "search_phase_execution_exception", "reason": "all shards failed",
        "failed_shards": [{"reason": {"type": "query_shard_exception", "reason": "Failed to parse query [a:(]",
                                      "caused_by": {"type": "parse_exception",
                                                    "reason": "Cannot parse 'a:(': Encountered \"<EOF>\" at line 1, "
                                                              "column 3.\nWas expecting one of:\n    <NOT> ...\n"}}}],
    }, "status": 400}
    assert engine_reason(body) == "Failed to parse query [a:(]; Cannot parse 'a:(': Encountered \"<EOF>\" at line 1, " \
                                  "column 3."
    assert engine_reason({"error": {"type": "x", "reason": "all shards failed"}}) == "all shards failed"
