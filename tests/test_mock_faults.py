"""Rate limiting (quota, 429 + Retry-After, block window, headers) and fault injection of the mock."""

from __future__ import annotations

import gzip
import json

import pytest
import requests

from fixtures.clocks import ManualClock
from fixtures.mock.mockhelp import ACCOUNT, BEARER, serve
from intpkg.mock.timeutil import NS, parse_rfc3339

NOW = parse_rfc3339("2025-03-20T12:00:00Z") / NS
ZONE = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
CONFIG = f"""
x-intpkg:
  zones:
    {ZONE}: {{name: example.com, account: {ACCOUNT}}}
  credentials:
    - token: test-token-0123456789
    - token: test-token-second
  rate_limit: {{quota: 5, window: 300}}
  datasets:
    v1: {{generator: audit_v1, count: 50, seed: 3}}
    lp: {{generator: logpull, count: 2000, seed: 4, from: "-3h", to: "-2m"}}
rules:
  - path: /client/v4/accounts/{{account}}/audit_logs
    x-intpkg-handler: {{kind: audit_v1, dataset: v1}}
    x-intpkg-faults:
      - {{kind: status, requests: [1], status_code: 503}}
      - {{kind: truncate, requests: [2]}}
      - {{kind: disconnect, requests: [3]}}
      - {{kind: status, every: 10, status_code: 500, body: "oops", headers: {{Retry-After: "2"}}}}
  - path: /client/v4/zones/{{zone}}/logs/received
    x-intpkg-handler: {{kind: logpull, dataset: lp}}
    x-intpkg-faults:
      - {{kind: error_streaming, requests: [2, 3], keep: 0.5}}
"""


def _audit(mock, headers=BEARER):
    return requests.get(f"{mock.base_url}/client/v4/accounts/{ACCOUNT}/audit_logs", headers=headers)


def test_rate_limit_quota_429_and_block_window(tmp_path):
    clock = ManualClock(NOW)
    config = CONFIG.replace("    x-intpkg-faults:\n      - {kind: status, requests: [1], status_code: 503}\n"
                            "      - {kind: truncate, requests: [2]}\n      - {kind: disconnect, requests: [3]}\n"
                            '      - {kind: status, every: 10, status_code: 500, body: "oops", headers: '
                            '{Retry-After: "2"}}\n', "")
    with serve(tmp_path, config, clock=clock) as mock:
        seen = []
        for _ in range(5):
            r = _audit(mock)
            seen.append((r.status_code, r.headers["Ratelimit"], r.headers["Ratelimit-Policy"]))
            clock.advance(10)
        assert seen == [(200, f'"default";r={4 - i};t={300 - 10 * i}', '"burst";q=5;w=300') for i in range(5)]
        limited = _audit(mock)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "300"
        assert limited.json() == {"success": False, "errors": [{"code": 10100, "message": (
            "More than 5 requests per 300 seconds reached. Please wait and consider throttling your request speed")}],
            "messages": [], "result": None}
        # every call is blocked for the whole window after exceeding, including other paths
        clock.advance(250)  # the original window has ended, the block has not
        blocked = requests.get(f"{mock.base_url}/client/v4/nowhere", headers=BEARER)
        assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "50"
        # another credential has its own budget
        other = _audit(mock, {"Authorization": "Bearer test-token-second"})
        assert other.status_code == 200 and other.headers["Ratelimit"] == '"default";r=4;t=300'
        clock.advance(50)
        again = _audit(mock)
        assert again.status_code == 200 and again.headers["Ratelimit"] == '"default";r=4;t=300'
        assert "Retry-After" not in again.headers


def test_scripted_faults_by_request_number(tmp_path):
    with serve(tmp_path, CONFIG.replace("rate_limit: {quota: 5, window: 300}", "rate_limit: {quota: 500, window: 300}"),
               clock=ManualClock(NOW)) as mock:
        first = _audit(mock)
        assert first.status_code == 503 and first.json()["success"] is False
        second = _audit(mock)
        assert second.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(second.text)
        assert second.text.startswith('{"success":true')
        with pytest.raises(requests.exceptions.RequestException):
            _audit(mock)  # the connection closes mid-body
        statuses = [_audit(mock).status_code for _ in range(4, 12)]
        assert statuses == [200] * 6 + [500, 200]  # request 10 fails
        tenth = [r for r in mock.requests if r.status == 500]
        assert tenth and tenth[0].note == "scripted status fault"


def test_error_streaming_marker_in_logpull(tmp_path):
    with serve(tmp_path, CONFIG, clock=ManualClock(NOW)) as mock:
        url = f"{mock.base_url}/client/v4/zones/{ZONE}/logs/received"
        params = {"start": str(int(NOW) - 3 * 3600 + 60), "end": str(int(NOW) - 2 * 3600 - 60), "fields": "RayID"}
        whole = requests.get(url, headers=BEARER, params=params).text.splitlines()
        broken = requests.get(url, headers={**BEARER, "Accept-Encoding": "identity"}, params=params)
        assert broken.status_code == 200
        lines = broken.text.splitlines()
        assert lines[-1] == "Error streaming data" and lines[:-1] == whole[: len(whole) // 2]
        gz = requests.get(url, headers={**BEARER, "Accept-Encoding": "gzip"}, params=params, stream=True)
        text = gzip.decompress(gz.raw.read(decode_content=False)).decode()
        assert text.endswith("Error streaming data\n")
        assert requests.get(url, headers=BEARER, params=params).text.splitlines() == whole  # request 4 is fine


def test_runtime_faults_from_python(tmp_path):
    config = """
    rules:
      - path: /client/v4/accounts/{account}/audit_logs
        responses: [{status_code: 200, headers: {Content-Type: [application/json]}, body: '{"ok":true}'}]
    """
    with serve(tmp_path, config) as mock:
        mock.add_fault("status", path="/audit_logs$", times=2, status_code=503, headers={"Retry-After": "1"})
        mock.add_fault("truncate", path="/nothing-matches")
        got = [_audit(mock) for _ in range(3)]
        assert [r.status_code for r in got] == [503, 503, 200]
        assert got[0].headers["Retry-After"] == "1"
        assert got[2].json() == {"ok": True}
        mock.add_fault("truncate", keep=0.25)
        assert _audit(mock).text == '{"'  # int(11 * 0.25) bytes
        with pytest.raises(ValueError):
            mock.add_fault("explode")


def test_random_faults_are_seeded(tmp_path):
    config = """
    rules:
      - path: /x
        responses: [{status_code: 200, body: ok}]
    """

    def run(seed):
        with serve(tmp_path, config, fault_rate=0.5, fault_error_code=503, seed=seed) as mock:
            return [requests.get(f"{mock.base_url}/x").status_code for _ in range(40)]

    first, again, other = run(7), run(7), run(8)
    assert first == again and first != other
    assert set(first) == {200, 503} and 8 < first.count(503) < 32
    with serve(tmp_path, config, delay_rate=1.0, delay_duration="250ms", seed=1) as mock:
        slept = []
        mock.engine.sleep = slept.append
        assert requests.get(f"{mock.base_url}/x").text == "ok"
        assert slept == [0.25]


def test_rate_limit_override_from_python(tmp_path):
    with serve(tmp_path, CONFIG, rate_limit=False, clock=ManualClock(NOW)) as mock:
        r = requests.get(f"{mock.base_url}/client/v4/nowhere", headers=BEARER)
        assert "Ratelimit" not in r.headers
    with serve(tmp_path, CONFIG, rate_limit={"quota": 1, "window": 60}, clock=ManualClock(NOW)) as mock:
        statuses = [requests.get(f"{mock.base_url}/client/v4/nowhere", headers=BEARER) for _ in range(2)]
        assert [r.status_code for r in statuses] == [404, 429]
        assert statuses[0].headers["Ratelimit-Policy"] == '"burst";q=1;w=60'
        assert statuses[1].headers["Retry-After"] == "60"
