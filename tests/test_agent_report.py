"""`intpkg status`: the collector's status file as a table, with each stream's last error and cursor."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_status_prints_every_stream_with_its_error_and_cursor(tmp_path: Path) -> None:
    (tmp_path / "status.json").write_text(json.dumps({"streams": {
        "httpjson-cloudflare.audit-default-a1": {"state": "healthy", "events_published": 5, "events_acked": 5,
                                                 "cursor": {"last_event_time": "2026-11-26T10:00:00Z"}},
        "httpjson-cloudflare.logpull-default-z1": {"state": "failed", "events_published": 2, "events_acked": 1,
                                                   "events_rejected": 1, "last_error": "HTTP 403 from /logs/received"},
    }}))
    result = subprocess.run([sys.executable, "-m", "intpkg.cli", "status", "--state-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].split() == ["stream", "state", "published", "acked", "rejected", "last", "run"]
    assert rows[1].split() == ["httpjson-cloudflare.audit-default-a1", "healthy", "5", "5", "0", "-"]
    assert rows[2] == "  cursor: {'last_event_time': '2026-11-26T10:00:00Z'}"
    assert rows[3].split() == ["httpjson-cloudflare.logpull-default-z1", "failed", "2", "1", "1", "-"]
    assert rows[4] == "  last error: HTTP 403 from /logs/received"


def test_status_without_a_status_file_says_how_to_get_one(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "intpkg.cli", "status", "--state-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "run `intpkg run --policy ...` first" in result.stdout
