"""`intpkg build`: the zip holds exactly the package part, ECS fields resolved, docs rendered, re-validated."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from fixtures.lint.pkgcopy import copy_real_package, make_package
from intpkg.builder import build_package
from intpkg.builder.package import decode_saved_object, encode_saved_object, go_json
from intpkg.cli import main
from intpkg.errors import IntpkgError
from intpkg.yamlpos import loads, read_yaml


@pytest.fixture
def package(tmp_path, ecs) -> Path:
    root = make_package(tmp_path / "pkg", ecs)
    # repository files around the package must stay out of the build
    for extra in ("tools/intpkg/x.py", "tests/test_x.py", ".ci/run", "README.md", "pyproject.toml", ".gitignore"):
        (root / extra).parent.mkdir(parents=True, exist_ok=True)
        (root / extra).write_text("x\n")
    return root


def _source_files(root: Path) -> set[str]:
    """What the build must contain: the package part without any _dev folder."""
    out = set()
    for top in ("manifest.yml", "changelog.yml", "docs", "img", "kibana", "data_stream"):
        path = root / top
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        out |= {p.relative_to(root).as_posix() for p in files if "_dev" not in p.relative_to(root).parts}
    return out


def test_zip_holds_exactly_the_package_part(package, ecs, tmp_path):
    result = build_package(package, tmp_path / "out", ecs=ecs)
    version = read_yaml(package / "manifest.yml")["version"]
    assert result.zip_path == tmp_path / "out" / "packages" / f"cloudflare-{version}.zip"
    with zipfile.ZipFile(result.zip_path) as zf:
        names = set(zf.namelist())
    prefix = f"cloudflare-{version}/"
    assert all(n.startswith(prefix) for n in names)
    assert {n[len(prefix):] for n in names} == _source_files(package)
    assert not any("/_dev/" in n or n.endswith((".py", "pyproject.toml")) for n in names)


def test_external_fields_are_resolved_from_ecs(package, ecs, tmp_path):
    result = build_package(package, tmp_path / "out", ecs=ecs)
    with zipfile.ZipFile(result.zip_path) as zf:
        ecs_fields = loads(zf.read(f"cloudflare-{result.version}/data_stream/example/fields/ecs.yml").decode())
        all_text = "\n".join(zf.read(n).decode() for n in zf.namelist() if n.endswith(".yml"))
    by_name = {f["name"]: f for f in ecs_fields}
    assert "external:" not in all_text
    assert by_name["source.ip"]["type"] == "ip"
    assert by_name["event.category"]["normalize"] == ["array"]
    assert by_name["error.message"]["type"] == "match_only_text"
    assert by_name["user.email"]["description"] == ecs.get("user.email")["description"]


def test_docs_are_rendered_with_fields_table_and_event(package, ecs, tmp_path):
    readme = package / "docs" / "README.md"
    readme.write_text("stale\n")
    result = build_package(package, tmp_path / "out", ecs=ecs)
    assert result.docs_updated == ["docs/README.md"]
    text = readme.read_text()
    assert "**Exported fields**" in text
    assert "| source.ip | IP address of the source (IPv4 or IPv6). | ip |" in text
    assert "| cloudflare.example.latency_ms | Time the action took. | long | ms |" in text
    assert "An example event for `example` looks as following:" in text
    sample = json.loads((package / "data_stream/example/sample_event.json").read_text())
    section = text.split("An example event for `example` looks as following:", 1)[1]
    block = section.split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(block) == sample
    built = (result.folder / "docs" / "README.md").read_text()
    assert built == text


def test_kibana_embedded_json_is_serialised(package, ecs, tmp_path):
    result = build_package(package, tmp_path / "out", ecs=ecs)
    dashboard = json.loads((result.folder / "kibana/dashboard/cloudflare-example-overview.json").read_text())
    assert isinstance(dashboard["attributes"]["panelsJSON"], str)
    assert json.loads(dashboard["attributes"]["panelsJSON"])[0]["panelRefName"] == "panel_1"


BUILD_FIXTURES = Path(__file__).parent / "fixtures" / "build"


def test_kibana_objects_are_encoded_byte_for_byte_as_elastic_package_does(package, ecs, tmp_path):
    """The reference output was written by Go's encoding/json with elastic-package's list (fixtures/build)."""
    source = BUILD_FIXTURES / "saved-object.json"
    shutil.copy(source, package / "kibana" / "dashboard" / "cloudflare-encoding.json")
    result = build_package(package, tmp_path / "out", ecs=ecs, validate=False, make_zip=False)
    built = (result.folder / "kibana" / "dashboard" / "cloudflare-encoding.json").read_bytes()
    assert built == (BUILD_FIXTURES / "saved-object.built.json").read_bytes()


def test_the_packages_dashboards_build_encoded_and_decode_back(tmp_path, ecs):
    root = copy_real_package(tmp_path / "pkg")
    result = build_package(root, tmp_path / "out", ecs=ecs, make_zip=False, update_source_docs=False)
    sources = sorted(p for kind in ("dashboard", "search") for p in (root / "kibana" / kind).glob("*.json"))
    assert len(sources) == 4
    for source in sources:
        rel = source.relative_to(root)
        text = (result.folder / rel).read_text(encoding="utf-8")
        built = json.loads(text)
        assert text == go_json(built, indent="  ")  # Go's MarshalIndent layout: 2 spaces, keys sorted
        attributes = built["attributes"]
        assert isinstance(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"], str)
        if built["type"] == "dashboard":
            assert isinstance(attributes["panelsJSON"], str) and isinstance(attributes["optionsJSON"], str)
            controls = attributes["controlGroupInput"]
            assert isinstance(controls, dict)  # only its JSON attributes are strings
            assert isinstance(controls["panelsJSON"], str) and isinstance(controls["ignoreParentSettingsJSON"], str)
            lens = [p for p in json.loads(attributes["panelsJSON"]) if p["type"] == "lens"]
            assert lens and all(isinstance(p["embeddableConfig"]["attributes"]["state"], dict) for p in lens)
        assert decode_saved_object(built) == json.loads(source.read_text(encoding="utf-8"))


def test_encoding_leaves_strings_and_objects_without_embedded_json_alone():
    obj = {"attributes": {"panelsJSON": "[]", "optionsJSON": "{}", "title": "t",
                          "controlGroupInput": {"panelsJSON": "{}"}}, "id": "x", "type": "dashboard"}
    assert encode_saved_object(obj) is False and obj["attributes"]["panelsJSON"] == "[]"
    rule = {"attributes": {"name": "r", "fields": [1]}, "id": "r", "type": "security-rule"}
    assert encode_saved_object(rule) is False and rule["attributes"]["fields"] == [1]
    with pytest.raises(IntpkgError, match="panelsJSON is not a list"):
        encode_saved_object({"attributes": {"panelsJSON": {"a": 1}}})


@pytest.mark.parametrize(("value", "written"), [
    (1.0, "1"), (0.5, "0.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (1e-7, "1e-7"),
    (1.5e-7, "1.5e-7"), (-0.0, "-0"), (2 ** 53 + 1, "9007199254740992"), (95, "95"),
    ("<&>\u2028é", '"\\u003c\\u0026\\u003e\\u2028é"'), ({"b": 1, "a": [True, None]}, '{"a":[true,null],"b":1}'),
])
def test_go_json_writes_values_as_go(value, written):
    assert go_json(value) == written


def test_build_is_reproducible(package, ecs, tmp_path):
    first = build_package(package, tmp_path / "a", ecs=ecs).zip_path.read_bytes()
    second = build_package(package, tmp_path / "b", ecs=ecs).zip_path.read_bytes()
    assert first == second


def test_built_package_is_revalidated(package, ecs, tmp_path):
    (package / "data_stream/example/fields/fields.yml").write_text("- name: x\n  type: nope\n", encoding="utf-8")
    with pytest.raises(IntpkgError, match="FLD004"):
        build_package(package, tmp_path / "out", ecs=ecs, update_source_docs=False)


def test_unknown_ecs_field_fails_the_build(package, ecs, tmp_path):
    path = package / "data_stream/example/fields/ecs.yml"
    path.write_text(path.read_text() + "- name: event.not_in_ecs\n  external: ecs\n")
    with pytest.raises(IntpkgError, match="event.not_in_ecs"):
        build_package(package, tmp_path / "out", ecs=ecs)


def test_a_package_naming_no_ecs_version_is_an_error_naming_the_setting(package, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("INTPKG_ECS_DIR", raising=False)
    (package / "_dev" / "build" / "build.yml").unlink()
    assert main(["build", str(package), "--build-dir", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "build.yml" in err and "INTPKG_ECS_DIR" in err and "--ecs-dir" in err and "Traceback" not in err


def test_ecs_dir_flag_and_package_argument(package, ecs_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("INTPKG_ECS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["check", str(package), "--ecs-dir", str(ecs_dir), "--build-dir", "out"]) == 0
    assert (tmp_path / "out" / "packages").is_dir()
    assert "zip:" in capsys.readouterr().out


def test_check_stops_at_lint_problems(package, tmp_path, capsys):
    (package / "changelog.yml").write_text("- version: nope\n  changes: []\n")
    assert main(["check", str(package), "--build-dir", str(tmp_path / "out")]) == 1
    assert "CHG002" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_build_mode_validation_rejects_dev_and_external(package, ecs, tmp_path):
    from intpkg.packagespec import errors, lint_package

    folder = build_package(package, tmp_path / "out", ecs=ecs, make_zip=False).folder
    assert errors(lint_package(folder, ecs=ecs, mode="build")) == []
    (folder / "_dev").mkdir()
    (folder / "_dev" / "x.yml").write_text("a: 1\n")
    fields = folder / "data_stream/example/fields/extra.yml"
    fields.write_text("- name: host.name\n  external: ecs\n")
    found = {(p.code, p.path) for p in lint_package(folder, ecs=ecs, mode="build")}
    assert ("PKG005", "_dev/") in found
    assert ("PKG005", "data_stream/example/fields/extra.yml") in found


@pytest.mark.parametrize("kind", ["file link", "folder link", "dangling link", "fifo"])
def test_links_out_of_the_package_and_fifos_are_refused_by_build_and_flagged_by_lint(package, tmp_path, kind):
    import os

    from intpkg.packagespec.lint import lint_package

    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0\n")
    entry = package / "docs" / "extra.md"
    if kind == "file link":
        entry.symlink_to(secret)
    elif kind == "folder link":
        entry.symlink_to(secret.parent)
    elif kind == "dangling link":
        entry.symlink_to(tmp_path / "nowhere")
    else:
        os.mkfifo(entry)
    with pytest.raises(IntpkgError, match="docs/extra.md: (symbolic link|not a regular file)"):
        build_package(package, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    problems = [p for p in lint_package(package) if p.code == "PKG006"]
    assert [p.path for p in problems] == ["docs/extra.md"]


def test_links_inside_the_package_are_built(package, tmp_path, ecs):
    (package / "docs" / "again.md").symlink_to(package / "docs" / "README.md")
    result = build_package(package, tmp_path / "out", ecs=ecs, update_source_docs=False)
    assert "docs/again.md" in result.files
