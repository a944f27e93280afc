"""One YAML reader: lint, install, policies and tests see the same values (YAML 1.2 core schema)."""

from __future__ import annotations

from pathlib import Path

import pytest

from intpkg.assets.pipelines import definitions
from intpkg.spec.package import Package as LintedPackage
from intpkg.yamlpos import ParseError, loads, read_yaml

PIPELINE = """\
description: YAML 1.1 would turn these into a boolean and a date
processors:
  - set: {tag: set_flag, field: flag, value: on}
  - set: {tag: set_answer, field: answer, value: yes}
  - set: {tag: set_day, field: day, value: 2024-01-01}
on_failure:
  - set: {tag: set_error, field: error.message, value: "{{{ _ingest.on_failure_message }}}"}
"""


@pytest.fixture()
def data_stream(tmp_path: Path) -> Path:
    folder = tmp_path / "data_stream" / "probe"
    (folder / "elasticsearch" / "ingest_pipeline").mkdir(parents=True)
    (folder / "elasticsearch" / "ingest_pipeline" / "default.yml").write_text(PIPELINE)
    return folder


def _values(pipeline: dict) -> dict[str, object]:
    return {p["set"]["field"]: p["set"]["value"] for p in pipeline["processors"]}


def test_lint_install_and_policy_readers_read_the_same_values(tmp_path: Path, data_stream: Path) -> None:
    linted = LintedPackage(tmp_path).data("data_stream/probe/elasticsearch/ingest_pipeline/default.yml")
    _, installed = definitions(data_stream, "logs-probe-1.0.0")
    policy = read_yaml(data_stream / "elasticsearch" / "ingest_pipeline" / "default.yml")
    expected = {"flag": "on", "answer": "yes", "day": "2024-01-01"}
    assert _values(linted) == _values(installed["default"]) == _values(policy) == expected


def test_the_installed_pipeline_sets_the_strings_lint_saw(search_client, data_stream: Path) -> None:
    names, bodies = definitions(data_stream, "logs-probe-yaml12-1.0.0")
    name = names["default"]
    search_client.request("PUT", f"/_ingest/pipeline/{name}", body=bodies["default"])
    try:
        result = search_client.request("POST", f"/_ingest/pipeline/{name}/_simulate",
                                       body={"docs": [{"_source": {}}]})
    finally:
        search_client.request("DELETE", f"/_ingest/pipeline/{name}", ignore=(404,))
    assert result["docs"][0]["doc"]["_source"] == {"flag": "on", "answer": "yes", "day": "2024-01-01"}


def test_a_yaml_string_error_names_where_it_came_from() -> None:
    with pytest.raises(ParseError, match=r"^policy.yml: vars.processors:\d+:\d+: invalid YAML"):
        loads("- [unclosed", "policy.yml: vars.processors")
