"""The logpull stream end to end: the package's template (fanned out per zone), the httpjson engine, the
agent, the pipeline and the node, against the mock Cloudflare API enforcing Logpull's window rules.

Time is injected: the mock and the input share one settable clock, so "3 hours of downtime" is a jump
of the clock, not a wait.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures.clocks import ManualClock
from intpkg.agent.policy import plan_policies
from intpkg.agent.runner import Agent
from intpkg.agent.state import CursorStore
from intpkg.assets.install import install_package
from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.golang.gotime import GoTime
from intpkg.input.config import parse_config
from intpkg.input.httpjson import HttpJsonInput
from intpkg.package import Package
from intpkg.stack.client import SearchClient

REPO = Path(__file__).resolve().parents[1]
ZONE_COM = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"  # example.com, 20 000 records over the last 7 days
ZONE_IO = "8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e"  # example.io, traffic from -6h to +6h of the anchor
DATASETS = {ZONE_COM: "logpull_example_com", ZONE_IO: "logpull_example_io"}
NS = 1_000_000_000
HOUR = 3600 * NS
MINUTE = 60 * NS


@pytest.fixture(scope="module")
def installed(search_client: SearchClient) -> SearchClient:
    install_package(search_client, REPO)
    return search_client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(float(int(time.time())))


@pytest.fixture
def mock(clock):
    with CloudflareMock.from_package(REPO, clock=clock, anchor=clock.now) as server:
        yield server


def input_factory(clock: ManualClock):
    """The agent's httpjson engine with `now` read from the test clock."""

    def factory(plan, config):
        parsed = parse_config(config, input_id=plan.stream_id)
        return HttpJsonInput(parsed, secrets=plan.secret_values, input_id=plan.stream_id,
                             now=lambda: GoTime.from_unix_nano(int(clock() * NS)))

    return factory


def run_agent(client, clock, namespace, mock: CloudflareMock, state_dir, zones, **stream_vars) -> dict:
    """One interval of one policy per zone (named after it, as `intpkg up` names them)."""
    policies = [{"name": zone, "namespace": namespace, "inputs": {"cloudflare-httpjson": {"streams": {
        "cloudflare.logpull": {"vars": {"zone_id": zone, "api_url": mock.base_url, "api_token": mock.token,
                                        **stream_vars}}}}}}
        for zone in zones]
    plans = plan_policies(Package.load(REPO), policies, env={})
    return Agent(plans, client, state_dir, input_factory=input_factory(clock)).run(once=True)["streams"]


def stream_id(namespace: str, zone: str) -> str:
    return f"httpjson-cloudflare.logpull-{namespace}-{zone}"


def count(client: SearchClient, index: str, query: dict | None = None) -> int:
    client.request("POST", f"/{index}/_refresh", ignore=(404,))
    body = {"query": query} if query else None
    return client.request("GET", f"/{index}/_count", body=body, ignore=(404,)).get("count", 0)


def to_ns(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()) * NS


def windows(mock: CloudflareMock, zone: str, since: int = 0) -> list[tuple[int, int, int]]:
    """(start_ns, end_ns, status) of every Logpull data request for `zone`, in order."""
    out = []
    for request in mock.requests[since:]:
        if request.path == f"/client/v4/zones/{zone}/logs/received":
            out.append((to_ns(request.query["start"][0]), to_ns(request.query["end"][0]), request.status))
    return out


def assert_cloudflare_rules(spans: list[tuple[int, int, int]], now_ns: int) -> None:
    """Every window is accepted and obeys the rules; consecutive windows neither gap nor overlap."""
    assert spans, "no Logpull request was made"
    for start, end, status in spans:
        assert status == 200, (start, end, status)
        assert now_ns - 168 * HOUR < start < end <= now_ns - MINUTE
        assert end - start <= HOUR
    for (_, previous_end, _), (start, _, _) in zip(spans, spans[1:], strict=False):
        assert start == previous_end


def truth(mock: CloudflareMock, zone: str, start_ns: int, end_ns: int) -> int:
    i0, i1 = mock.dataset(DATASETS[zone]).index_range(start_ns, end_ns, high_inclusive=False)
    return i1 - i0


def test_two_zones_each_with_its_own_cursor_get_every_record_once(installed, mock, clock, tmp_path,
                                                                   unique_name) -> None:
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.logpull-{namespace}"
    now_ns = int(clock() * NS)
    status = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_COM, ZONE_IO],
                       initial_interval="5h")
    expected_total = 0
    for zone in (ZONE_COM, ZONE_IO):
        stream = status[stream_id(namespace, zone)]
        assert (stream["state"], stream["events_rejected"]) == ("ok", 0), stream
        spans = windows(mock, zone)
        assert len(spans) == 5  # 5 hours back: four full windows and one that ends a minute ago
        assert_cloudflare_rules(spans, now_ns)
        assert stream["cursor"] == {"window_end": datetime.fromtimestamp(spans[-1][1] // NS, UTC)
                                    .strftime("%Y-%m-%dT%H:%M:%SZ")}
        expected = truth(mock, zone, spans[0][0], spans[-1][1])
        assert expected > 500
        assert count(installed, index, {"term": {"cloudflare.logpull.zone.id": int(zone[:8], 16)}}) == expected
        expected_total += expected
    assert count(installed, index) == expected_total
    assert count(installed, index, {"exists": {"field": "error.message"}}) == 0
    # gzip was asked for and used
    data_requests = [r for r in mock.requests if r.path.endswith("/logs/received")]
    assert all("gzip" in r.headers.get("accept-encoding", "") for r in data_requests)


def test_catch_up_after_three_hours_of_downtime_leaves_no_gap_and_no_overlap(installed, mock, clock, tmp_path,
                                                                           unique_name) -> None:
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.logpull-{namespace}"
    first = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_IO], initial_interval="30m")
    assert first[stream_id(namespace, ZONE_IO)]["state"] == "ok"
    before = len(mock.requests)
    first_spans = windows(mock, ZONE_IO)
    clock.now += 3 * 3600  # the agent was down for three hours; new traffic arrived meanwhile
    second = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_IO], initial_interval="30m")
    assert second[stream_id(namespace, ZONE_IO)]["state"] == "ok"
    catch_up = windows(mock, ZONE_IO, since=before)
    # the cursor was a minute before the stop, so three full hours bring it to a minute before now
    assert [end - start for start, end, _ in catch_up] == [HOUR] * 3
    assert catch_up[-1][1] == int(clock() * NS) - MINUTE
    assert catch_up[0][0] == first_spans[-1][1]  # resumes exactly at the cursor
    spans = first_spans + catch_up
    assert_cloudflare_rules(spans, int(clock() * NS))
    assert count(installed, index) == truth(mock, ZONE_IO, spans[0][0], spans[-1][1])
    ids = installed.request("GET", f"/{index}/_search", body={
        "size": 0, "aggs": {"ids": {"cardinality": {"field": "event.id", "precision_threshold": 10000}}}})
    assert ids["aggregations"]["ids"]["value"] == count(installed, index)


def test_a_cursor_older_than_seven_days_is_clamped_inside_the_retention(installed, mock, clock, tmp_path,
                                                                        unique_name) -> None:
    namespace = unique_name.replace("-", "")
    CursorStore(tmp_path / "cursors").save(stream_id(namespace, ZONE_COM), {"window_end": "2020-01-01T00:00:00Z"})
    status = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_COM], count="1")
    stream = status[stream_id(namespace, ZONE_COM)]
    assert stream["state"] == "ok", stream
    spans = windows(mock, ZONE_COM)
    now_ns = int(clock() * NS)
    assert_cloudflare_rules(spans, now_ns)
    assert now_ns - spans[0][0] <= 167 * HOUR + 59 * MINUTE  # a minute of margin under Cloudflare's 168h
    assert len(spans) > 100  # it walked forward window by window instead of failing "too early"


@pytest.mark.parametrize("timestamps", ["unixnano", "unix", "rfc3339"])
def test_every_timestamp_format_gives_the_same_event_times(installed, mock, clock, tmp_path, unique_name,
                                                           timestamps) -> None:
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.logpull-{namespace}"
    status = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_IO], initial_interval="10m",
                       timestamps=timestamps)
    assert status[stream_id(namespace, ZONE_IO)]["state"] == "ok"
    spans = windows(mock, ZONE_IO)
    dataset = mock.dataset(DATASETS[ZONE_IO])
    i0, i1 = dataset.index_range(spans[0][0], spans[-1][1], high_inclusive=False)
    assert i1 > i0
    record = dataset.record(i0)
    installed.request("POST", f"/{index}/_refresh")
    hits = installed.request("GET", f"/{index}/_search", body={
        "query": {"term": {"event.id": record["RayID"]}}})["hits"]["hits"]
    assert len(hits) == 1
    source = hits[0]["_source"]
    start_s = record["EdgeStartTimestamp"] // NS
    assert to_ns(source["@timestamp"][:19] + "Z") == start_s * NS
    assert source["event"]["kind"] == "event" and "error" not in source
    if timestamps == "unixnano":
        assert source["event"]["duration"] == record["EdgeEndTimestamp"] - record["EdgeStartTimestamp"]


def test_error_streaming_data_keeps_the_lines_before_it_and_the_cursor(installed, mock, clock, tmp_path,
                                                                       unique_name) -> None:
    """The body is read while it arrives: the complete lines before Cloudflare's marker are shipped, the
    cursor stays, and reading the window again stores each record once (the _id is the record's)."""
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.logpull-{namespace}"
    broken = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_IO],
                       api_token="test-token-logpull-broken")
    stream = broken[stream_id(namespace, ZONE_IO)]
    assert stream["state"] == "error" and "decode" in stream["last_error"].lower()
    assert "cursor" not in stream
    sample = (REPO / "_dev/deploy/docker/files/logpull-sample.ndjson").read_text().splitlines()
    shipped = count(installed, index)
    assert shipped == len(sample)  # the scenario's body: the sample's lines, then the marker
    good = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_IO])
    assert good[stream_id(namespace, ZONE_IO)]["state"] == "ok"
    spans = windows(mock, ZONE_IO)
    assert spans[-1][0] == spans[0][0]  # the good run re-read the window the broken one could not finish
    assert count(installed, index) == shipped + truth(mock, ZONE_IO, spans[-1][0], spans[-1][1])


def test_bot_fields_are_opt_in(installed, mock, clock, tmp_path, unique_name) -> None:
    namespace = unique_name.replace("-", "")
    run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_COM], initial_interval="10m")
    default_fields = windows_query(mock, ZONE_COM)["fields"][0].split(",")
    assert "BotScore" not in default_fields and "RayID" in default_fields and len(default_fields) == 66
    run_agent(installed, clock, namespace + "b", mock, tmp_path, [ZONE_COM], initial_interval="10m",
              bot_management_fields=True)
    fields = windows_query(mock, ZONE_COM)["fields"][0].split(",")
    assert {"BotScore", "BotScoreSrc"} <= set(fields)
    has_score = {"exists": {"field": "cloudflare.logpull.bot.score"}}
    assert count(installed, f"logs-cloudflare.logpull-{namespace}b", has_score)
    assert not count(installed, f"logs-cloudflare.logpull-{namespace}", has_score)


def windows_query(mock: CloudflareMock, zone: str) -> dict[str, list[str]]:
    return [r for r in mock.requests if r.path == f"/client/v4/zones/{zone}/logs/received"][-1].query


def test_an_hour_without_traffic_does_not_stall_the_zone(installed, mock, clock, tmp_path, unique_name) -> None:
    """An empty window ends that interval's paging, but its end becomes the cursor (update_on_empty),
    so the following intervals walk on through the quiet hours instead of re-reading the same hour."""
    namespace = unique_name.replace("-", "")
    quiet_start = int(clock() * NS) - 8 * HOUR  # example.io has no traffic before anchor - 6h
    stamp = datetime.fromtimestamp(quiet_start // NS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    CursorStore(tmp_path / "cursors").save(stream_id(namespace, ZONE_IO), {"window_end": stamp})
    caught_up = int(clock() * NS) - MINUTE
    for _ in range(8):  # two quiet hours, then the traffic: a few intervals at most
        status = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_IO])
        assert status[stream_id(namespace, ZONE_IO)]["state"] == "ok"
        if windows(mock, ZONE_IO)[-1][1] == caught_up:
            break
    spans = windows(mock, ZONE_IO)
    assert spans[-1][1] == caught_up, "the zone stalled"
    assert spans[0][0] == quiet_start
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False)), "a gap or an overlap"
    assert len({(a, b) for a, b, _ in spans}) == len(spans), "a window was read twice"


@pytest.mark.slow
def test_a_100k_record_window_lands_completely(installed, tmp_path, unique_name, capsys) -> None:
    """One window holding 100 000 records (bench.example); prints the end-to-end rate, asserts no timing."""
    zone = "9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.logpull-{namespace}"
    clock = ManualClock(float(int(time.time())))
    with CloudflareMock.from_package(REPO, clock=clock, anchor=clock.now) as server:
        started = time.perf_counter()
        status = run_agent(installed, clock, namespace, server, tmp_path, [zone], initial_interval="1h")
        elapsed = time.perf_counter() - started
        spans = windows(server, zone)
        i0, i1 = server.dataset("logpull_bench").index_range(spans[0][0], spans[-1][1], high_inclusive=False)
    stream = status[stream_id(namespace, zone)]
    assert (stream["state"], stream["events_rejected"]) == ("ok", 0), stream
    assert i1 - i0 == 100_000
    assert count(installed, index) == 100_000
    with capsys.disabled():
        print(f"\nlogpull end to end: 100000 events in {elapsed:.1f}s = {100_000 / elapsed:,.0f} events/s "
              f"({len(spans)} request(s))")


def test_a_connection_cut_midway_is_retried_at_once(installed, mock, clock, tmp_path, unique_name,
                                                   monkeypatch) -> None:
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.logpull-{namespace}"
    data_path = f"/client/v4/zones/{ZONE_IO}/logs/received"
    take, seen = mock.engine.fault_plan.take, []

    def first_reply_cut(path: str) -> list[dict]:
        seen.append(path)
        return [{"kind": "disconnect", "keep": 0.5}] if seen.count(data_path) == 1 and path == data_path else take(path)

    monkeypatch.setattr(mock.engine.fault_plan, "take", first_reply_cut)
    status = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_IO], initial_interval="30m")
    assert status[stream_id(namespace, ZONE_IO)]["state"] == "ok"
    spans = windows(mock, ZONE_IO)
    assert len(spans) == 2 and spans[0][:2] == spans[1][:2]  # the same window, asked again
    assert count(installed, index) == truth(mock, ZONE_IO, spans[0][0], spans[0][1])


@pytest.mark.parametrize("fault", ["error_streaming", "truncate"])
def test_a_broken_window_during_catch_up_is_read_again_without_loss_or_copies(installed, mock, clock, tmp_path,
                                                                            unique_name, monkeypatch, fault) -> None:
    namespace = unique_name.replace("-", "")
    index = f"logs-cloudflare.logpull-{namespace}"
    sid = stream_id(namespace, ZONE_IO)
    run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_IO], initial_interval="10m")
    cursor = CursorStore(tmp_path / "cursors").load(sid)
    clock.now += 3 * 3600
    before = len(mock.requests)
    # the second window of the catch-up breaks (the first one is complete and published)
    data_path = f"/client/v4/zones/{ZONE_IO}/logs/received"
    take, seen = mock.engine.fault_plan.take, []

    def second_window_breaks(path: str) -> list[dict]:
        seen.append(path)
        return [{"kind": fault, "keep": 0.5}] if seen.count(data_path) == 2 and path == data_path else take(path)

    monkeypatch.setattr(mock.engine.fault_plan, "take", second_window_breaks)
    broken = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_IO], initial_interval="10m")
    assert broken[sid]["state"] == "error", broken[sid]
    first_window = windows(mock, ZONE_IO, since=before)[0]
    assert len(windows(mock, ZONE_IO, since=before)) == 2  # the failure ended the interval
    assert count(installed, index) > 0  # the first window's events were shipped ...
    # ... and acknowledged, so the cursor moved to that window's end (the broken one costs only itself)
    moved = CursorStore(tmp_path / "cursors").load(sid)
    assert moved != cursor and to_ns(moved["window_end"]) == first_window[1]
    good = run_agent(installed, clock, namespace, mock, tmp_path, [ZONE_IO], initial_interval="10m")
    assert good[sid]["state"] == "ok"
    spans = windows(mock, ZONE_IO)
    # ... and are read again from the cursor, without copies: every record exactly once
    assert count(installed, index) == truth(mock, ZONE_IO, spans[0][0], spans[-1][1])
