"""`intpkg test system`: the package's system tests pass, and broken expectations are caught."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.lint.pkgcopy import copy_real_package
from intpkg.stack.client import SearchClient
from intpkg.testing.runner import RunOptions
from intpkg.testing.system.runner import SystemRunner

REPO = Path(__file__).resolve().parents[1]
SYSTEM = Path("data_stream/audit/_dev/test/system")


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    return copy_real_package(tmp_path / "pkg")


def test_the_package_system_tests_pass(search_client: SearchClient, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "intpkg.cli", "test", "system", str(REPO), "--es-url", search_client.target.url,
         "--report-format", "json", "--report-output", str(report)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cases = json.loads(report.read_text())["results"]
    assert {(c["data_stream"], c["name"], c["status"]) for c in cases} >= {("audit", "v1", "pass"),
                                                                          ("audit", "v2", "pass")}
    assert {c["details"]["hits"] for c in cases if c["data_stream"] == "audit"} == {7, 8}


def test_unmet_assertions_fail_with_reasons(search_client: SearchClient, package_copy: Path) -> None:
    config = package_copy / SYSTEM / "test-v2-config.yml"
    text = config.read_text().replace("hit_count: 7", "hit_count: 9").replace("wait_for_data_timeout: 2m",
                                                                             "wait_for_data_timeout: 15s")
    config.write_text(text.replace("    - source.ip", "    - source.ip\n    - cloudflare.audit.no_such_field"))
    (package_copy / SYSTEM / "test-v1-config.yml").unlink()
    (result,) = SystemRunner(search_client).run(RunOptions(package_dir=package_copy, data_streams=["audit"]))
    assert result.status == "fail"
    assert "assert.hit_count: expected 9 documents, found 7" in result.failures
    assert "assert.fields_present: no document has cloudflare.audit.no_such_field" in result.failures


def test_generate_writes_the_sample_event(search_client: SearchClient, package_copy: Path) -> None:
    (package_copy / SYSTEM / "test-v1-config.yml").unlink()
    sample = package_copy / "data_stream/audit/sample_event.json"
    sample.unlink()
    (result,) = SystemRunner(search_client).run(
        RunOptions(package_dir=package_copy, data_streams=["audit"], generate=True))
    assert result.status == "pass", result.failures
    event = json.loads(sample.read_text())
    assert event["data_stream"]["dataset"] == "cloudflare.audit"
    assert event["event"]["kind"] == "event" and event["cloudflare"]["audit"]
    assert sample.read_text().startswith("{\n    ")  # 4-space indent, as elastic-package writes it
