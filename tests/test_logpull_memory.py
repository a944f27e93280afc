"""A Logpull window is read while it arrives: the collector's memory does not grow with the window.

The input runs in a child process against the mock (in this process), once on a window of about
100 MB of NDJSON and once on one four times larger; the child's peak RSS must differ by less than
a fixed bound. Reading a body whole would add the difference in window size (300 MB) and more.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from intpkg.cloudflare.mockapi import CloudflareMock

REPO = Path(__file__).resolve().parents[1]
BENCH_ZONE_DATASET = "logpull_bench"  # zone bench.example: every record in the last hour, one window
LINE_BYTES = 1850  # a generated Logpull line with the default fields, on average
RSS_GROWTH_BOUND_MB = 40

CHILD = r"""
import json, resource, sys
from intpkg.agent.policy import plan_streams
from intpkg.agent.runner import render_stream
from intpkg.input.config import parse_config
from intpkg.input.httpjson import HttpJsonInput
from intpkg.package import Package

repo, base_url, token, zone = sys.argv[1:5]
policy = {"inputs": {"cloudflare-httpjson": {"streams": {"cloudflare.logpull": {"vars": {
    "zone_id": zone, "api_url": base_url, "api_token": token, "initial_interval": "1h"}}}}}}
[plan] = plan_streams(Package.load(repo), policy, env={})
config = parse_config(render_stream(plan), input_id=plan.stream_id)
events = 0

def sink(event, cursor):
    global events
    events += 1

result = HttpJsonInput(config, input_id=plan.stream_id).run_interval(None, sink)
print(json.dumps({"ok": result.ok, "error": result.error, "events": events, "requests": result.requests,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def collect_window(megabytes: int) -> dict:
    records = megabytes * 1024 * 1024 // LINE_BYTES
    with CloudflareMock.from_package(REPO, rate_limit=False, record_counts={BENCH_ZONE_DATASET: records}) as mock:
        zone = mock.dataset(BENCH_ZONE_DATASET).context["zones"][0]["id"]
        result = subprocess.run([sys.executable, "-c", CHILD, str(REPO), mock.base_url, mock.token, zone],
                                capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"], report["error"]
    # every record came in the one window (a slow run may then ask for the next, still empty, window)
    assert report["events"] == records and report["requests"] <= 2
    return report


@pytest.mark.slow
def test_memory_stays_bounded_as_the_window_grows() -> None:
    small, large = collect_window(100), collect_window(400)
    print(f"\nLogpull window 100 MB: peak RSS {small['peak_mb']:.0f} MB; 400 MB: {large['peak_mb']:.0f} MB")
    assert large["peak_mb"] - small["peak_mb"] < RSS_GROWTH_BOUND_MB
