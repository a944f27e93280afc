"""Shared test reports (table, xUnit, JSON) from a fixed set of results; no cluster needed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from intpkg.testing import report
from intpkg.testing.result import TestResult


def results() -> list[TestResult]:
    ok = TestResult("pipeline", "cloudflare", "audit", "test-a.log", duration=0.25)
    bad = TestResult("pipeline", "cloudflare", "audit", "test-b.log")
    bad.fail('event 2: field "x" is undefined')
    bad.fail("event 3: <b>&amp; 'quotes'</b>")
    broken = TestResult("pipeline", "cloudflare", "logpull", "(setup)")
    broken.error("no entry ingest pipeline")
    skipped = TestResult("pipeline", "cloudflare", "logpull", "test-c.log", status="skip",
                         failures=["skipped: flaky"])
    return [ok, bad, broken, skipped]


def test_human_table_lists_every_case_and_why_it_failed():
    text = report.human(results())
    lines = text.splitlines()
    assert lines[0].split() == ["DATA", "STREAM", "TEST", "TYPE", "TEST", "NAME", "RESULT", "TIME"]
    assert any("test-b.log" in line and "FAIL" in line for line in lines)
    assert '  - event 2: field "x" is undefined' in lines
    assert lines[-1] == "2/4 test(s) passed"


def test_xunit_counts_failures_errors_and_skips_per_suite_and_escapes_text():
    root = ET.fromstring(report.xunit(results()))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"pipeline:audit", "pipeline:logpull"}
    audit, logpull = suites["pipeline:audit"], suites["pipeline:logpull"]
    assert (audit.get("tests"), audit.get("failures"), audit.get("errors")) == ("2", "1", "0")
    assert (logpull.get("errors"), logpull.get("skipped")) == ("1", "1")
    failure = audit.find("testcase[@name='pipeline test: test-b.log']/failure")
    assert failure is not None and "<b>&amp; 'quotes'</b>" in failure.text
    assert logpull.find("testcase/error") is not None and logpull.find("testcase/skipped") is not None


def test_json_report_has_summary_and_results():
    data = json.loads(report.to_json(results()))
    assert data["summary"] == {"tests": 4, "passed": 2, "failed": 1, "errors": 1}
    assert [r["status"] for r in data["results"]] == ["pass", "fail", "error", "skip"]
    assert data["results"][1]["failures"][0] == 'event 2: field "x" is undefined'


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown report format"):
        report.render(results(), "html")
