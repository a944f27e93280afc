"""The package's own detection rules pass `intpkg test rules` on the real engine: each matches exactly
its positives among raw Cloudflare records sent through the ingest pipelines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_package_rule_matches_exactly_its_positives(search_client, tmp_path) -> None:
    report = tmp_path / "rules.json"
    result = subprocess.run([sys.executable, "-m", "intpkg", "test", "rules", str(REPO), "--report-format", "json",
                             "--report-output", str(report), "--es-url", search_client.target.url],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    cases = json.loads(report.read_text())
    cases = cases.get("results", cases) if isinstance(cases, dict) else cases
    assert len(cases) >= 20
    by_type = {case.get("name") or case.get("test_name"): case for case in cases}
    assert {"sign-in-failures-burst", "sign-in-from-new-country", "mass-dns-record-deletion"} <= set(by_type)
