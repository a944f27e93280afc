"""`intpkg lint`: the real package is clean; output formats, exit codes, rule list, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.lint.pkgcopy import REPO, copy_real_package
from intpkg.cli import main
from intpkg.spec import RULES, lint_package
from intpkg.yamlpos import ParseError, parse_yaml


def test_real_package_lints_clean(ecs_dir):
    problems = lint_package(REPO, ecs_dir=ecs_dir)
    assert [p for p in problems if not p.is_notice] == [], "\n".join(map(str, problems))
    extensions = [(p.path, p.code) for p in problems if p.is_notice]
    assert extensions == [("data_stream/logpull/agent/stream/httpjson.yml.hbs", "EXT001")]


def test_cli_exit_codes_and_text_format(tmp_path, ecs_dir, capsys):
    root = copy_real_package(tmp_path / "pkg")
    assert main(["lint", str(root)]) == 0
    (root / "manifest.yml").write_text((root / "manifest.yml").read_text().replace("type: community", "type: x"))
    (root / "changelog.yml").write_text("- version: [\n")
    assert main(["lint", str(root)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("manifest.yml:") and " SCH001 " in line for line in lines)
    assert any(line.startswith("changelog.yml:2:1: PRS001 invalid YAML") for line in lines), lines


def test_json_format(tmp_path, ecs_dir, capsys):
    root = copy_real_package(tmp_path / "pkg")
    (root / "stray.txt").write_text("x")
    assert main(["lint", str(root), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["count"], report["errors"]) == (2, 1)
    (error,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert error == {"path": "stray.txt", "line": 1, "column": 1, "code": "PKG001", "severity": "error",
                     "message": error["message"]}
    assert [p["code"] for p in report["problems"] if p["severity"] == "notice"] == ["EXT001"]


def test_default_directory_is_cwd(tmp_path, ecs_dir, monkeypatch, capsys):
    root = copy_real_package(tmp_path / "pkg")
    monkeypatch.chdir(root)
    assert main(["lint"]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(["lint"]) == 1
    assert "has no manifest.yml" in capsys.readouterr().err


def test_list_rules(capsys):
    assert main(["lint", "--list-rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(RULES) >= 40
    assert all(line.split("  ", 1)[0] in RULES and line.split("  ", 1)[1] for line in lines)


def test_binary_or_broken_files_never_traceback(tmp_path, ecs_dir):
    root = copy_real_package(tmp_path / "pkg")
    (root / "changelog.yml").write_bytes(b"\xff\xfe\x00garbage")
    (root / "manifest.yml").write_text("a: b: c\n")
    proc = subprocess.run([sys.executable, "-m", "intpkg.cli", "lint", str(root)], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "changelog.yml:1:1: PRS001" in proc.stdout
    assert "manifest.yml:1:5: PRS001" in proc.stdout


def test_yaml_loader_is_yaml_1_2_with_positions():
    loaded = parse_yaml("a: yes\nb: on\nc: 2024-01-01\nd:\n  - x: 1\n    x: 2\n", Path("f.yml"))
    assert loaded.data == {"a": "yes", "b": "on", "c": "2024-01-01", "d": [{"x": 2}]}
    assert loaded.pos(("d", 0, "x")) == (6, 8)
    assert loaded.key_pos(("b",)) == (2, 1)
    assert loaded.pos(("d", 0, "missing")) == (5, 5)
    assert loaded.duplicate_keys == [(("d", 0, "x"), (6, 5))]
    with pytest.raises(ParseError) as err:
        parse_yaml("a: [1\n", Path("f.yml"))
    assert (err.value.line, err.value.column) == (2, 1)


def test_missing_ecs_reference_is_a_lint_error_naming_the_setting(tmp_path, monkeypatch, capsys):
    root = copy_real_package(tmp_path / "pkg")
    fields = root / "data_stream" / "x" / "fields"
    fields.mkdir(parents=True)
    (fields / "ecs.yml").write_text("- name: source.ip\n  external: ecs\n")
    (root / "_dev" / "build" / "build.yml").write_text("dependencies:\n  ecs:\n    reference: main\n")
    monkeypatch.delenv("INTPKG_ECS_DIR", raising=False)
    assert main(["lint", str(root)]) == 1
    fld006 = [line for line in capsys.readouterr().out.splitlines() if " FLD006 " in line]
    assert len(fld006) == 1 and "INTPKG_ECS_DIR" in fld006[0] and "--ecs-dir" in fld006[0]
