"""The logpull stream template's window arithmetic, with `now` moving while the request is built.

Each template reads `now` itself, so the `start` and `end` formulas see slightly different times; the
mock Cloudflare API rejects any window that breaks the rules, and these tests put a minute (or second)
boundary between the two reads on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from fixtures.clocks import ManualClock
from intpkg.agent.policy import PolicyError, plan_streams
from intpkg.agent.runner import render_stream
from intpkg.cloudflare.mockapi import CloudflareMock
from intpkg.golang.gotime import GoTime
from intpkg.input.config import parse_config
from intpkg.input.httpjson import HttpJsonInput
from intpkg.package import Package

REPO = Path(__file__).resolve().parents[1]
ZONE = "8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e"
NS = 1_000_000_000


def stream_input(mock: CloudflareMock, clock: ManualClock, **stream_vars) -> HttpJsonInput:
    policy = {"namespace": "default", "inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.logpull": {
        "vars": {"zone_id": ZONE, "api_url": mock.base_url, "api_token": mock.token,
                 **stream_vars}}}}}}
    [plan] = plan_streams(Package.load(REPO), policy, env={})
    config = parse_config(render_stream(plan), input_id=plan.stream_id)
    return HttpJsonInput(config, now=lambda: GoTime.from_unix_nano(int(clock() * NS)))


@pytest.mark.parametrize("cursor", [None, {"window_end": "2020-01-01T00:00:00Z"}])
@pytest.mark.parametrize("step", [0.3, 0.9])
def test_windows_stay_valid_when_now_crosses_a_minute_between_start_and_end(cursor, step) -> None:
    anchor = 1_795_000_000 - 1_795_000_000 % 60 + 60  # a minute boundary
    clock = ManualClock(anchor - 0.5, step=step)
    with CloudflareMock.from_package(REPO, clock=clock, anchor=anchor) as mock:
        stream = stream_input(mock, clock, initial_interval="167h59m")
        result = stream.run_interval(cursor, lambda event, cursor_after: None)
        spans = [(r.query["start"][0], r.query["end"][0], r.status, r.note) for r in mock.requests
                 if r.path.endswith("/logs/received")]
    assert result.ok, (result.error, spans)
    assert spans and all(status == 200 for _, _, status, _ in spans), spans


def test_initial_interval_longer_than_the_retention_is_clamped() -> None:
    clock = ManualClock(1_795_000_000.0, step=0.0)
    with CloudflareMock.from_package(REPO, clock=clock, anchor=clock.now) as mock:
        stream = stream_input(mock, clock, initial_interval="400h", count=1)
        result = stream.run_interval(None, lambda event, cursor_after: None)
        first = next(r for r in mock.requests if r.path.endswith("/logs/received"))
    assert result.ok, result.error
    assert first.status == 200
    floor = int(clock.now) - (167 * 3600 + 58 * 60)
    expected = datetime.fromtimestamp(floor - floor % 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first.query["start"] == [expected]  # now - 167h58m, truncated to the minute


def test_window_size_cuts_the_catch_up_into_shorter_consecutive_windows() -> None:
    clock = ManualClock(1_795_000_000.0, step=0.0)
    with CloudflareMock.from_package(REPO, clock=clock, anchor=clock.now) as mock:
        stream = stream_input(mock, clock, initial_interval="1h", window_size="15m")
        result = stream.run_interval(None, lambda event, cursor_after: None)
        spans = [(datetime.fromisoformat(r.query["start"][0].replace("Z", "+00:00")).timestamp(),
                  datetime.fromisoformat(r.query["end"][0].replace("Z", "+00:00")).timestamp(), r.status)
                 for r in mock.requests if r.path.endswith("/logs/received")]
    assert result.ok, result.error
    assert len(spans) >= 4 and all(status == 200 and end - start <= 15 * 60 for start, end, status in spans), spans
    assert all(later[0] == earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


def test_no_credentials_are_refused_by_the_required_vars_naming_both_options() -> None:
    policy = {"namespace": "default", "inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.logpull": {
        "vars": {"zone_id": ZONE}}}}}}
    with pytest.raises(PolicyError, match=r"cloudflare.logpull.vars: one of these settings groups is required: "
                       r"api_token \(api_token\) or global_api_key \(auth_email \+ auth_key\)"):
        plan_streams(Package.load(REPO), policy, env={})


def test_a_zone_list_is_refused_one_policy_per_zone_as_in_fleet() -> None:
    policy = {"namespace": "default", "inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.logpull": {
        "vars": {"zone_id": [ZONE, "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"], "api_token": "test-token-0123456789"}}}}}}
    with pytest.raises(PolicyError, match=r"vars.zone_id: a single value is expected, not a list"):
        plan_streams(Package.load(REPO), policy, env={})


def test_every_option_renders_into_a_valid_httpjson_config() -> None:
    policy = {"namespace": "default", "inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.logpull": {
        "vars": {"zone_id": ZONE, "auth_email": "ops@example.com",
                 "auth_key": "0123456789abcdef0123456789abcdef01234", "sample": "0.1", "count": 500,
                 "timestamps": "rfc3339", "bot_management_fields": True, "proxy_url": "http://127.0.0.1:3128",
                 "ssl": "verification_mode: none", "enable_request_tracer": True, "preserve_original_event": True,
                 "processors": "- add_fields:\n    target: ''\n    fields:\n      team: soc\n"}}}}}}
    [plan] = plan_streams(Package.load(REPO), policy, env={})
    rendered = render_stream(plan)
    config = parse_config(rendered, input_id=plan.stream_id)
    query = dict(part.split("=", 1) for part in config.url.split("?", 1)[1].split("&"))
    assert query["timestamps"] == "rfc3339" and query["sample"] == "0.1" and query["count"] == "500"
    assert query["fields"].endswith(",BotScore,BotScoreSrc")
    targets = [f"{t.target_type}.{t.target_name}" for t in config.request_transforms]
    assert "header.X-Auth-Email" in targets and "header.X-Auth-Key" in targets
    assert "header.Authorization" not in targets
    assert rendered["request.proxy_url"] == "http://127.0.0.1:3128"
    assert rendered["tags"][0] == "preserve_original_event" and rendered["processors"]
