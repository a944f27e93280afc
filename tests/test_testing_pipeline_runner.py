"""The pipeline test runner against the real node, on a small package built in a temporary folder."""

from __future__ import annotations

import json
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from intpkg import cli
from intpkg.errors import IntpkgError
from intpkg.testing.pipeline.runner import PipelineRunner
from intpkg.testing.result import FAIL, PASS
from intpkg.testing.runner import RunOptions

PIPELINE = """\
---
description: Test pipeline
processors:
  - rename:
      tag: rename_message
      field: message
      target_field: event.original
      ignore_missing: true
      if: ctx.event?.original == null
  - json:
      tag: json_original
      field: event.original
      target_field: demo
  - set:
      tag: set_kind
      field: event.kind
      value: event
  - pipeline:
      tag: pipeline_extra
      name: '{{ IngestPipeline "extra" }}'
      if: ctx.demo?.extra != null
  - set:
      tag: set_never
      field: demo.never
      value: x
      if: ctx.demo?.nothing_sets_this == 'yes'
on_failure:
  - set:
      tag: on_failure_kind
      field: event.kind
      value: pipeline_error
  - append:
      tag: on_failure_message
      field: error.message
      value: '{{{ _ingest.on_failure_message }}}'
"""

EXTRA = """\
---
processors:
  - set:
      tag: set_extra_seen
      field: demo.extra_seen
      value: true
"""

FIELDS = """\
- name: '@timestamp'
  type: date
- name: data_stream.type
  type: constant_keyword
- name: data_stream.dataset
  type: constant_keyword
- name: data_stream.namespace
  type: constant_keyword
- name: event.kind
  type: keyword
- name: event.original
  type: keyword
- name: error.message
  type: match_only_text
- name: tags
  type: keyword
- name: demo
  type: group
  fields:
    - name: count
      type: long
    - name: name
      type: keyword
    - name: extra
      type: keyword
    - name: extra_seen
      type: boolean
    - name: never
      type: keyword
"""


BUILD_YML = Path(__file__).resolve().parents[1] / "_dev" / "build" / "build.yml"


@pytest.fixture
def package(tmp_path: Path, unique_name: str) -> Path:
    """A package with one data stream `demo`, two pipelines and two passing cases (expected files included)."""
    name = unique_name.replace("-", "_")
    (tmp_path / "manifest.yml").write_text(f"name: {name}\nversion: 1.0.0\ntitle: Demo\n")
    (tmp_path / "_dev" / "build").mkdir(parents=True)
    (tmp_path / "_dev" / "build" / "build.yml").write_text(BUILD_YML.read_text())  # the ECS version, as every package
    ds = tmp_path / "data_stream" / "demo"
    (ds / "elasticsearch" / "ingest_pipeline").mkdir(parents=True)
    (ds / "fields").mkdir()
    (ds / "manifest.yml").write_text("title: Demo\ntype: logs\n")
    (ds / "elasticsearch" / "ingest_pipeline" / "default.yml").write_text(PIPELINE)
    (ds / "elasticsearch" / "ingest_pipeline" / "extra.yml").write_text(EXTRA)
    (ds / "fields" / "fields.yml").write_text(FIELDS)
    cases = ds / "_dev" / "test" / "pipeline"
    cases.mkdir(parents=True)
    (cases / "test-basic.log").write_text('{"count": 1, "name": "one"}\n{"count": 2, "name": "two", "extra": "y"}\n')
    (cases / "test-events.json").write_text(json.dumps({"events": [{"message": '{"count": 3}'}]}))
    (cases / "test-common-config.yml").write_text("fields:\n  tags:\n    - preserve_original_event\n")
    return tmp_path


def run(client, package: Path, **options) -> list:
    return PipelineRunner(client).run(RunOptions(package_dir=package, **options))


def generate(client, package: Path) -> None:
    assert all(r.status == PASS for r in run(client, package, generate=True))


def case_dir(package: Path) -> Path:
    return package / "data_stream" / "demo" / "_dev" / "test" / "pipeline"


def by_name(results) -> dict:
    return {r.name: r for r in results}


def test_generate_writes_expected_files_then_cases_pass(search_client, package):
    generate(search_client, package)
    expected = json.loads((case_dir(package) / "test-basic.log-expected.json").read_text())
    assert [doc["demo"] for doc in expected["expected"]] == [
        {"count": 1, "name": "one"}, {"count": 2, "name": "two", "extra": "y", "extra_seen": True}]
    text = (case_dir(package) / "test-basic.log-expected.json").read_text()
    assert text.startswith('{\n    "expected": [')  # 4-space indent
    results = run(search_client, package)
    assert [(r.name, r.status) for r in results] == [("test-basic.log", PASS), ("test-events.json", PASS)]


def test_changed_expected_value_fails(search_client, package):
    generate(search_client, package)
    path = case_dir(package) / "test-basic.log-expected.json"
    data = json.loads(path.read_text())
    data["expected"][1]["demo"]["name"] = "zwei"
    path.write_text(json.dumps(data))
    result = by_name(run(search_client, package))["test-basic.log"]
    assert result.status == FAIL
    assert any('demo.name: expected "zwei", got "two"' in f for f in result.failures), result.failures


def test_numbers_compare_by_value(search_client, package):
    generate(search_client, package)
    path = case_dir(package) / "test-basic.log-expected.json"
    path.write_text(path.read_text().replace('"count": 1,', '"count": 1.0,'))
    assert by_name(run(search_client, package))["test-basic.log"].status == PASS


def test_undefined_field_fails(search_client, package):
    (case_dir(package) / "test-basic.log").write_text('{"count": 1, "surprise": "!"}\n')
    generate_results = run(search_client, package, generate=True)
    result = by_name(generate_results)["test-basic.log"]
    assert result.status == FAIL
    assert any("demo.surprise" in f and "undefined" in f for f in result.failures), result.failures


@pytest.mark.parametrize(("category", "types", "passes"), [
    (["web"], ["access"], True),
    (["web"], ["access", "denied"], False),  # ECS expects denied with network, not web
    (["web", "network"], ["access", "denied"], True),
])
def test_event_types_must_be_expected_for_a_category(search_client, package, category, types, passes):
    ds = package / "data_stream" / "demo"
    (ds / "fields" / "ecs.yml").write_text("- name: event.category\n  external: ecs\n- name: event.type\n"
                                            "  external: ecs\n")
    pipeline = ds / "elasticsearch" / "ingest_pipeline" / "default.yml"
    pipeline.write_text(pipeline.read_text().replace("on_failure:", (
        "  - set:\n      tag: set_category\n      field: event.category\n"
        f"      value: {json.dumps(category)}\n"
        "  - set:\n      tag: set_type\n      field: event.type\n"
        f"      value: {json.dumps(types)}\n"
        "on_failure:"), 1))
    result = by_name(run(search_client, package, generate=True))["test-basic.log"]
    if passes:
        assert result.status == PASS, result.failures
    else:
        assert result.status == FAIL
        assert any("event.type 'denied' is not expected for event.category ['web']" in f for f in result.failures)


def test_wrong_field_type_fails(search_client, package):
    (case_dir(package) / "test-basic.log").write_text('{"count": "many"}\n')
    result = by_name(run(search_client, package, generate=True))["test-basic.log"]
    assert result.status == FAIL
    assert any("demo.count" in f for f in result.failures), result.failures


def test_unexpected_error_message_fails_and_expect_failure_allows_it(search_client, package):
    (case_dir(package) / "test-basic.log").write_text('not json\n{"count": 1}\n')
    result = by_name(run(search_client, package, generate=True))["test-basic.log"]
    assert result.status == FAIL
    assert any(f.startswith("event 1: unexpected error.message") for f in result.failures), result.failures

    config = case_dir(package) / "test-basic.log-config.yml"
    config.write_text("expect_failure: [0]\n")
    assert by_name(run(search_client, package, generate=True))["test-basic.log"].status == PASS
    assert by_name(run(search_client, package))["test-basic.log"].status == PASS

    config.write_text("expect_failure: true\n")  # the second event does not fail
    result = by_name(run(search_client, package))["test-basic.log"]
    assert result.status == FAIL
    assert any("event 2: expected a pipeline error" in f for f in result.failures), result.failures


def test_missing_expected_file_fails(search_client, package):
    result = by_name(run(search_client, package))["test-events.json"]
    assert result.status == FAIL
    assert any("missing expected file test-events.json-expected.json" in f for f in result.failures)


def test_dynamic_fields_are_matched_not_compared(search_client, package):
    generate(search_client, package)
    (case_dir(package) / "test-basic.log-config.yml").write_text('dynamic_fields:\n  demo.name: "^(one|two)$"\n')
    path = case_dir(package) / "test-basic.log-expected.json"
    path.write_text(path.read_text().replace('"two"', '"something else"'))
    assert by_name(run(search_client, package))["test-basic.log"].status == PASS
    (case_dir(package) / "test-basic.log-config.yml").write_text('dynamic_fields:\n  demo.name: "^one$"\n')
    result = by_name(run(search_client, package))["test-basic.log"]
    assert any("does not match" in f for f in result.failures), result.failures


def test_data_streams_filter_and_unknown_name(search_client, package):
    generate(search_client, package)
    assert len(run(search_client, package, data_streams=["demo"])) == 2
    with pytest.raises(IntpkgError, match="no data stream named nope"):
        run(search_client, package, data_streams=["nope"])


def test_coverage_lists_unhit_processor(search_client, package):
    generate(search_client, package)
    runner = PipelineRunner(search_client)
    runner.run(RunOptions(package_dir=package, coverage=True))
    summary = runner.coverage["demo"]
    assert summary["unhit"] == ["default: set `set_never`"]
    assert summary["hit"] == summary["processors"] - 1


def test_pipelines_are_deleted_afterwards(search_client, package):
    generate(search_client, package)
    prefix = f"logs-{package.joinpath('manifest.yml').read_text().split()[1]}.demo-"
    installed = search_client.request("GET", "/_ingest/pipeline")
    assert not [name for name in installed if name.startswith(prefix)]


def test_invalid_case_json_names_file_line_and_column(search_client, package):
    (case_dir(package) / "test-events.json").write_text('{"events": [\n  {"message": "x",}\n]}')
    result = by_name(run(search_client, package))["test-events.json"]
    assert result.status == "error"
    assert "test-events.json:2:" in result.failures[0] and "invalid JSON" in result.failures[0]


def test_unknown_ingest_pipeline_reference_is_a_setup_error(search_client, package):
    path = package / "data_stream" / "demo" / "elasticsearch" / "ingest_pipeline" / "default.yml"
    path.write_text(path.read_text().replace('IngestPipeline "extra"', 'IngestPipeline "missing"'))
    results = run(search_client, package)
    assert [(r.name, r.status) for r in results] == [("(setup)", "error")]
    assert re.search(r'default.yml:\d+: IngestPipeline "missing" names no pipeline', results[0].failures[0])


def _cli(search_target, package: Path, *extra: str) -> int:
    return cli.main(["test", "pipeline", str(package), "--es-url", search_target.url, *extra])


def test_xunit_report_is_well_formed(search_target, search_client, package, tmp_path, capsys):
    generate(search_client, package)
    (case_dir(package) / "test-events.json-expected.json").unlink()
    out = tmp_path / "report.xml"
    assert _cli(search_target, package, "--report-format", "xunit", "--report-output", str(out)) == 1
    root = ET.fromstring(out.read_text())
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["pipeline test: test-events.json"]
    assert "TEST NAME" in capsys.readouterr().out  # the table still goes to stdout


def test_json_report_is_well_formed_and_carries_coverage(search_target, search_client, package, capsys):
    generate(search_client, package)
    capsys.readouterr()
    assert _cli(search_target, package, "--report-format", "json", "--coverage") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"] == {"tests": 2, "passed": 2, "failed": 0, "errors": 0}
    assert {r["name"] for r in data["results"]} == {"test-basic.log", "test-events.json"}
    assert data["coverage"]["demo"]["unhit"] == ["default: set `set_never`"]


def test_cli_without_cases_is_an_error(search_target, package, capsys):
    for case in case_dir(package).iterdir():
        case.unlink()
    assert _cli(search_target, package) == 1
    assert "no pipeline test cases found" in capsys.readouterr().err


def test_pipeline_source_with_skip(search_client, package):
    generate(search_client, package)
    (case_dir(package) / "test-events.json-config.yml").write_text(textwrap.dedent("""\
        skip:
          reason: flaky upstream
          link: https://github.com/elastic/integrations/issues/1
    """))
    result = by_name(run(search_client, package))["test-events.json"]
    assert result.status == "skip" and "flaky upstream" in result.failures[0]
