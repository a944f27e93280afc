"""`intpkg format`: canonical YAML/JSON, idempotent, data-preserving, comments never destroyed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fixtures.lint.pkgcopy import copy_real_package
from intpkg.cli import main
from intpkg.packagespec.formatter import format_package, format_text
from intpkg.yamlpos import parse_yaml

MESSY_YAML = """title:   Example
streams:
- input: httpjson
  vars:
    - {name: a,   type: text}
    - name: b
      type: bool
      default: yes
      description: >-
        Folded text that its author
        wrapped by hand.
      options: [1,2,   3]
"""

CANONICAL_YAML = """title: Example
streams:
  - input: httpjson
    vars:
      - {name: a, type: text}
      - name: b
        type: bool
        default: yes
        description: >-
          Folded text that its author
          wrapped by hand.
        options: [1, 2, 3]
"""


def test_yaml_canonical_form_keeps_styles_and_data():
    result = format_text(Path("m.yml"), MESSY_YAML)
    assert result.status == "changed"
    assert result.new_text == CANONICAL_YAML
    assert parse_yaml(result.new_text, Path("m.yml")).data == parse_yaml(MESSY_YAML, Path("m.yml")).data
    assert format_text(Path("m.yml"), result.new_text).status == "unchanged"


def test_json_canonical_form():
    result = format_text(Path("s.json"), '{"b": [1,2], "a": {"x": "é"}}')
    assert result.new_text == '{\n    "b": [\n        1,\n        2\n    ],\n    "a": {\n        "x": "é"\n    }\n}\n'
    assert format_text(Path("s.json"), result.new_text).status == "unchanged"


def test_commented_yaml_is_never_rewritten():
    text = "# keep me\na:   1\nb: 2  # and me\n"
    assert format_text(Path("c.yml"), text).status == "skipped-comments"
    assert format_text(Path("c.yml"), "# keep me\na: 1\nb: 2  # and me\n").status == "unchanged"
    assert format_text(Path("c.yml"), "a: 'not # a comment'\n").status == "unchanged"


def test_unparseable_is_an_error_not_a_traceback():
    result = format_text(Path("x.yml"), "a: [1\n")
    assert result.status == "error" and result.message.startswith("2:")


@pytest.fixture
def package(tmp_path) -> Path:
    root = copy_real_package(tmp_path / "pkg")
    shutil.copytree(Path(__file__).parent / "fixtures/lint/data_stream/example", root / "data_stream/example")
    return root


def test_format_round_trips_the_package(package, capsys):
    before = {p: p.read_text() for p in package.rglob("*") if p.is_file()}
    pipelines = {p: t for p, t in before.items() if "ingest_pipeline" in p.parts}
    manifest = package / "data_stream/example/manifest.yml"
    manifest.write_text(manifest.read_text().replace("type: logs", "type:    logs"))
    sample = package / "data_stream/example/sample_event.json"
    sample.write_text(json.dumps(json.loads(sample.read_text())))
    assert main(["format", str(package), "--check"]) == 1
    out = capsys.readouterr().out
    assert "data_stream/example/manifest.yml: would change" in out
    assert "data_stream/example/sample_event.json: would change" in out
    assert main(["format", str(package)]) == 0
    assert main(["format", str(package), "--check"]) == 0
    assert manifest.read_text() == before[manifest]
    assert sample.read_text() == before[sample]
    for path, text in pipelines.items():
        assert path.read_text() == text
    assert all(r.status in ("unchanged", "skipped-comments") for r in format_package(package, write=False))


def test_format_defaults_to_the_current_directory(package, monkeypatch, capsys):
    (package / "data_stream/example/sample_event.json").write_text('{"a": 1}')
    monkeypatch.chdir(package)
    assert main(["format", "--check"]) == 1
    assert "sample_event.json" in capsys.readouterr().out
