"""Logpull handlers of the mock: NDJSON windows, Cloudflare's window errors, gzip, fields, retention flag."""

from __future__ import annotations

import gzip
import json

import pytest
import requests

from fixtures.clocks import ManualClock
from fixtures.mock.mockhelp import ACCOUNT, BEARER, serve
from intpkg.cloudflare.mockapi.generators import DEFAULT_LOGPULL_FIELDS
from intpkg.mock.timeutil import NS, parse_rfc3339

NOW = parse_rfc3339("2025-03-20T12:00:00Z")
ZONE = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"  # retention on, Bot Management
OFF_ZONE = "6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"  # retention off
EDGE_ZONE = "7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"  # file dataset with records on the window bounds
CONFIG = f"""
x-intpkg:
  zones:
    {ZONE}: {{name: example.com, account: {ACCOUNT}, bot_management: true}}
    {OFF_ZONE}: {{name: example.net, account: {ACCOUNT}, retention: false}}
    {EDGE_ZONE}: {{name: example.org, account: {ACCOUNT}}}
  credentials:
    - token: test-token-0123456789
      accounts: [{ACCOUNT}]
    - token: test-token-no-logs
      permissions: [account_settings:read]
  logpull_rate_limit: {{quota: 40, window: 60}}
  datasets:
    lp: {{generator: logpull, count: 4000, seed: 9, from: "-167h", to: "-2m"}}
rules:
  - path: /client/v4/zones/{{zone:{EDGE_ZONE}}}/logs/received
    x-intpkg-handler: {{kind: logpull, dataset: edges.ndjson}}
  - path: /client/v4/zones/{{zone}}/logs/received
    x-intpkg-handler: {{kind: logpull, dataset: lp}}
  - path: /client/v4/zones/{{zone}}/logs/control/retention/flag
    methods: [GET, POST]
    x-intpkg-handler: {{kind: retention_flag}}
"""
EDGES = "".join(json.dumps({"RayID": f"r{i}", "EdgeStartTimestamp": t - 5 * 10**6, "EdgeEndTimestamp": t,
                            "ClientIP": "192.0.2.1", "ClientRequestURI": "/${jndi:x}"}) + "\n"
                for i, t in enumerate([NOW - 3600 * NS, NOW - 3000 * NS, NOW - 1800 * NS]))


@pytest.fixture(scope="module")
def clock():
    return ManualClock(NOW / NS)


@pytest.fixture(scope="module")
def mock(tmp_path_factory, clock):
    with serve(tmp_path_factory.mktemp("logpull"), CONFIG, files={"edges.ndjson": EDGES}, clock=clock) as server:
        yield server


def _pull(mock, zone=ZONE, headers=None, **params):
    return requests.get(f"{mock.base_url}/client/v4/zones/{zone}/logs/received",
                        headers={**BEARER, **(headers or {})}, params=params)


def _lines(response):
    return [json.loads(line) for line in response.text.splitlines()]


def _window(minutes_ago_start, minutes_ago_end):
    return {"start": str((NOW // NS) - minutes_ago_start * 60), "end": str((NOW // NS) - minutes_ago_end * 60)}


def test_window_is_start_inclusive_end_exclusive(mock):
    start, end = NOW - 3600 * NS, NOW - 1800 * NS
    got = _lines(_pull(mock, EDGE_ZONE, start=str(start), end=str(end), fields="RayID,EdgeEndTimestamp"))
    assert [r["RayID"] for r in got] == ["r0", "r1"]
    assert got[0] == {"RayID": "r0", "EdgeEndTimestamp": start}


def test_default_fields_ground_truth_and_ndjson(mock):
    truth = mock.dataset("lp")
    window = _window(120, 60)
    r = _pull(mock, **window)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-ndjson"
    assert "success" not in r.text
    lines = _lines(r)
    lo, hi = int(window["start"]) * NS, int(window["end"]) * NS
    expected = [rec["RayID"] for rec in truth.records() if lo <= rec["EdgeEndTimestamp"] < hi]
    assert [line["RayID"] for line in lines] == expected and expected
    assert all(list(line) == DEFAULT_LOGPULL_FIELDS for line in lines)
    assert all(line["EdgeStartTimestamp"] > 10**18 for line in lines)  # unixnano by default


def test_consecutive_windows_cover_the_dataset(mock):
    truth = mock.dataset("lp")
    start, end = NOW - 5 * 3600 * NS, NOW - 60 * NS
    seen = []
    t = start
    while t < end:
        nxt = min(t + 3600 * NS, end)
        seen.extend(line["RayID"] for line in _lines(_pull(mock, start=str(t), end=str(nxt), fields="RayID")))
        t = nxt
    assert seen == [rec["RayID"] for rec in truth.records() if start <= rec["EdgeEndTimestamp"] < end]


def test_gzip_when_asked(mock):
    window = _window(120, 60)
    r = requests.get(f"{mock.base_url}/client/v4/zones/{ZONE}/logs/received",
                     headers={**BEARER, "Accept-Encoding": "gzip"}, params=window, stream=True)
    raw = r.raw.read(decode_content=False)
    assert r.headers["Content-Encoding"] == "gzip" and r.headers["Transfer-Encoding"] == "chunked"
    plain = _pull(mock, headers={"Accept-Encoding": "identity"}, **window)
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(raw) == plain.content and plain.content


def test_timestamps_fields_count_sample(mock):
    window = _window(120, 60)
    nano = _lines(_pull(mock, fields="EdgeStartTimestamp,RayID,ClientCountry", **window))
    unix = _lines(_pull(mock, fields="EdgeStartTimestamp,RayID", timestamps="unix", **window))
    rfc = _lines(_pull(mock, fields="EdgeStartTimestamp", timestamps="rfc3339", **window))
    assert list(nano[0]) == ["EdgeStartTimestamp", "RayID", "ClientCountry"]
    assert [u["EdgeStartTimestamp"] for u in unix] == [n["EdgeStartTimestamp"] // NS for n in nano]
    assert [parse_rfc3339(r["EdgeStartTimestamp"]) for r in rfc] == [n["EdgeStartTimestamp"] // NS * NS
                                                                      for n in nano]
    assert len(_lines(_pull(mock, count=3, **window))) == 3
    sampled = _lines(_pull(mock, sample=0.5, fields="RayID", **window))
    assert 0.25 * len(nano) < len(sampled) < 0.75 * len(nano)
    assert {s["RayID"] for s in sampled} <= {n["RayID"] for n in nano}
    bots = _lines(_pull(mock, fields="BotScore,BotScoreSrc", **window))
    assert all(1 <= b["BotScore"] <= 99 for b in bots)


def test_empty_window_is_an_empty_200(mock):
    r = _pull(mock, EDGE_ZONE, start=str(NOW - 600 * NS), end=str(NOW - 120 * NS))
    assert r.status_code == 200 and r.content == b""


def test_cve_2021_44228_option(mock):
    window = {"start": str(NOW - 3600 * NS), "end": str(NOW - 3000 * NS), "fields": "ClientRequestURI"}
    assert _lines(_pull(mock, EDGE_ZONE, **window)) == [{"ClientRequestURI": "/${jndi:x}"}]
    assert _lines(_pull(mock, EDGE_ZONE, **{"CVE-2021-44228": "true"}, **window)) == [
        {"ClientRequestURI": "/x{jndi:x}"}]


@pytest.mark.parametrize(("params", "fragment"), [
    ({"end": "1742468400"}, "missing start"),
    ({"start": "yesterday", "end": "1742468400"}, "invalid start"),
    ({"start": str(NOW // NS - 168 * 3600 - 1), "end": str(NOW // NS - 167 * 3600)},
     "too early: logs older than 168h0m0s"),
    ({"start": str(NOW // NS - 600), "end": str(NOW // NS - 30)}, "too late: end must be at least 1m0s in the past"),
    ({"start": str(NOW // NS - 600), "end": str(NOW // NS - 600)}, "start must be earlier than end"),
    ({"start": str(NOW // NS - 7300), "end": str(NOW // NS - 99)}, "1h0m0s or less"),
    ({"start": str(NOW // NS - 600), "end": str(NOW // NS - 300), "fields": "RayID,Nope"}, "unknown field"),
    ({"start": str(NOW // NS - 600), "end": str(NOW // NS - 300), "timestamps": "iso"}, "timestamps"),
    ({"start": str(NOW // NS - 600), "end": str(NOW // NS - 300), "count": "0"}, "count"),
    ({"start": str(NOW // NS - 600), "end": str(NOW // NS - 300), "sample": "1.5"}, "sample"),
])
def test_window_and_parameter_errors(mock, params, fragment):
    r = _pull(mock, **params)
    body = r.json()
    assert r.status_code == 400 and body["success"] is False
    assert body["errors"][0]["message"].startswith("bad query: ") and fragment in body["errors"][0]["message"]


def test_time_formats(mock):
    start, end = NOW - 3600 * NS, NOW - 1800 * NS
    forms = [(str(start), str(end)), (str(start // NS), str(end // NS)),
             ("2025-03-20T11:00:00Z", "2025-03-20T11:30:00Z"),
             ("2025-03-20T12:00:00+01:00", "2025-03-20T12:30:00+01:00")]
    results = [[r["RayID"] for r in _lines(_pull(mock, EDGE_ZONE, start=s, end=e))] for s, e in forms]
    assert results == [["r0", "r1"]] * 4


def test_bot_fields_need_bot_management_and_logs_permission(mock):
    window = {"start": str(NOW - 3600 * NS), "end": str(NOW - 3000 * NS)}
    r = _pull(mock, EDGE_ZONE, fields="RayID,BotScore", **window)
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == 10000
    denied = _pull(mock, headers={"Authorization": "Bearer test-token-no-logs"}, **window)
    assert denied.status_code == 403


def test_retention_flag_gates_logpull(mock):
    window = _window(120, 60)
    off = _pull(mock, OFF_ZONE, **window)
    assert off.status_code == 400 and "retention" in off.json()["errors"][0]["message"]
    flag_url = f"{mock.base_url}/client/v4/zones/{OFF_ZONE}/logs/control/retention/flag"
    assert requests.get(flag_url, headers=BEARER).json()["result"] == {"flag": False}
    assert requests.post(flag_url, headers=BEARER, data="flag=yes").status_code == 400
    assert requests.post(flag_url, headers=BEARER, json={"flag": True}).json()["result"] == {"flag": True}
    assert requests.get(flag_url, headers=BEARER).json() == {"success": True, "errors": [], "messages": [],
                                                            "result": {"flag": True}}
    assert _pull(mock, OFF_ZONE, **window).status_code == 200


def test_logpull_zone_rate_limit(tmp_path):
    clock = ManualClock(NOW / NS)
    config = CONFIG.replace("logpull_rate_limit: {quota: 40, window: 60}", "logpull_rate_limit: {quota: 2, window: 60}")
    with serve(tmp_path, config, files={"edges.ndjson": EDGES}, clock=clock) as mock:
        window = _window(120, 60)
        assert [_pull(mock, **window).status_code for _ in range(2)] == [200, 200]
        limited = _pull(mock, **window)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
        assert _pull(mock, EDGE_ZONE, **window).status_code == 200  # another zone has its own budget
        clock.advance(61)
        assert _pull(mock, **window).status_code == 200
