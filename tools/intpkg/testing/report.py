"""Render test results as a human table, xUnit XML or JSON (shared by every runner)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from intpkg.testing.result import ERROR, FAIL, SKIP, TestResult

FORMATS = ("human", "xunit", "json")


def render(results: Sequence[TestResult], fmt: str) -> str:
    if fmt == "human":
        return human(results)
    if fmt == "xunit":
        return xunit(results)
    if fmt == "json":
        return to_json(results)
    raise ValueError(f"unknown report format {fmt!r} (choose from {', '.join(FORMATS)})")


def human(results: Sequence[TestResult]) -> str:
    header: tuple[str, ...] = ("DATA STREAM", "TEST TYPE", "TEST NAME", "RESULT", "TIME")
    rows = [(r.data_stream, r.test_type, r.name, r.status.upper(), f"{r.duration:.2f}s") for r in results]
    if any(r.details.get("summary") for r in results):  # a runner's one-line account of each case
        header += ("DETAILS",)
        rows = [row + (str(r.details.get("summary") or ""),) for row, r in zip(rows, results, strict=True)]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*header), line.format(*("-" * w for w in widths))]
    out += [line.format(*row) for row in rows]
    details = [r for r in results if r.failures]
    for r in details:
        out.append("")
        out.append(f"{r.data_stream} / {r.name}: {r.status.upper()}")
        out += [f"  - {msg}" for msg in r.failures]
    passed = sum(1 for r in results if r.ok)
    out.append("")
    out.append(f"{passed}/{len(results)} test(s) passed")
    return "\n".join(out) + "\n"


def xunit(results: Sequence[TestResult]) -> str:
    suites = ET.Element("testsuites")
    by_suite: dict[tuple[str, str], list[TestResult]] = {}
    for r in results:
        by_suite.setdefault((r.test_type, r.data_stream), []).append(r)
    for (test_type, data_stream), items in by_suite.items():
        suite = ET.SubElement(suites, "testsuite", {
            "name": f"{test_type}:{data_stream}",
            "tests": str(len(items)),
            "failures": str(sum(r.status == FAIL for r in items)),
            "errors": str(sum(r.status == ERROR for r in items)),
            "skipped": str(sum(r.status == SKIP for r in items)),
            "time": f"{sum(r.duration for r in items):.3f}",
        })
        for r in items:
            case = ET.SubElement(suite, "testcase", {
                "classname": f"{r.package}.{r.data_stream}",
                "name": f"{test_type} test: {r.name}",
                "time": f"{r.duration:.3f}",
            })
            if r.status in (FAIL, ERROR):
                tag = "failure" if r.status == FAIL else "error"
                node = ET.SubElement(case, tag, {"message": r.failures[0][:200] if r.failures else tag})
                node.text = "\n".join(r.failures)
            elif r.status == SKIP:
                ET.SubElement(case, "skipped", {"message": "; ".join(r.failures)})
            if r.details.get("summary"):
                ET.SubElement(case, "system-out").text = str(r.details["summary"])
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def to_json(results: Sequence[TestResult]) -> str:
    summary = {
        "tests": len(results),
        "passed": sum(1 for r in results if r.ok),
        "failed": sum(1 for r in results if r.status == FAIL),
        "errors": sum(1 for r in results if r.status == ERROR),
    }
    return json.dumps({"summary": summary, "results": [r.to_dict() for r in results]}, indent=2) + "\n"
