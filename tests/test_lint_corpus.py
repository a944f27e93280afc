"""A corpus of broken variants of the package: each must fail lint with its code at its file and line.

Every variant mutates a fresh copy of the real package plus the small `example` data stream from
tests/fixtures/lint (the real data streams stay in the copy but are not mutated). Problems that the
unmutated copy already has are subtracted, so each case sees only what its mutation caused.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.lint.pkgcopy import make_package
from intpkg.packagespec import RULES, lint_package
from intpkg.packagespec.rules.schemas import schema_for

DS = "data_stream/example"
PIPE = f"{DS}/elasticsearch/ingest_pipeline"
TEMPLATE = f"{DS}/agent/stream/httpjson.yml.hbs"
TESTS = f"{DS}/_dev/test/pipeline"
DASH = "kibana/dashboard/cloudflare-example-overview.json"
SEARCH = "kibana/search/cloudflare-example-search.json"


@pytest.fixture(scope="module")
def base(tmp_path_factory, ecs) -> Path:
    return make_package(tmp_path_factory.mktemp("base") / "pkg", ecs)


@pytest.fixture(scope="module")
def base_problems(base, ecs) -> set:
    return set(lint_package(base, ecs=ecs))


def edit(rel: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, count), encoding="utf-8")
    return apply


def write(rel: str, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return apply


def delete(rel: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return apply


def json_edit(rel: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        data = json.loads((root / rel).read_text(encoding="utf-8"))
        change(data)
        (root / rel).write_text(json.dumps(data, indent=4) + "\n", encoding="utf-8")
    return apply


@dataclass
class Case:
    id: str
    mutate: Callable[[Path], None]
    code: str
    path: str
    line: int | str  # a number, or a text whose first line in the mutated file is the expected line


CASES = [
    # parsing
    Case("yaml-unparseable", edit(f"{DS}/fields/fields.yml", "    - name: id\n", "    - name: [id\n"),
         "PRS001", f"{DS}/fields/fields.yml", "      type: keyword"),
    Case("json-unparseable", edit(f"{DS}/sample_event.json", '"id": "a1b2c3",', '"id": "a1b2c3",,'),
         "PRS001", f"{DS}/sample_event.json", '"id": "a1b2c3",,'),
    Case("duplicate-key", edit(f"{DS}/manifest.yml", "type: logs\n", "type: logs\ntitle: Again\n"),
         "PRS002", f"{DS}/manifest.yml", "title: Again"),
    # structure
    Case("unknown-file-in-data-stream", write(f"{DS}/notes.txt", "todo\n"), "PKG001", f"{DS}/notes.txt", 1),
    Case("unknown-file-at-root", write("extra.yml", "a: 1\n"), "PKG001", "extra.yml", 1),
    Case("missing-changelog", delete("changelog.yml"), "PKG002", "changelog.yml", 1),
    Case("bad-fields-file-name", write(f"{DS}/fields/Extra_Fields.yml", "- name: x\n  type: keyword\n"),
         "PKG003", f"{DS}/fields/Extra_Fields.yml", 1),
    Case("pipeline-without-dashes", edit(f"{PIPE}/actor.yml", "---\n", ""), "PKG004", f"{PIPE}/actor.yml", 1),
    # schemas
    Case("manifest-unknown-key", edit("manifest.yml", "title: Cloudflare Logs\n",
                                      "title: Cloudflare Logs\nlicence: MIT\n"),
         "SCH001", "manifest.yml", "licence: MIT"),
    Case("manifest-owner-type", edit("manifest.yml", "type: community", "type: company"),
         "SCH001", "manifest.yml", "type: company"),
    Case("ds-manifest-type", edit(f"{DS}/manifest.yml", "type: logs", "type: log"),
         "SCH002", f"{DS}/manifest.yml", "type: log"),
    Case("field-unknown-key", edit(f"{DS}/fields/fields.yml", "      description: Record identifier.",
                                   "      descripton: Record identifier."),
         "SCH003", f"{DS}/fields/fields.yml", "descripton"),
    Case("changelog-change-type", edit("changelog.yml", "type: enhancement", "type: feature"),
         "SCH004", "changelog.yml", "type: feature"),
    Case("pipeline-unknown-processor", edit(f"{PIPE}/default.yml", "  - remove:\n      tag: remove_when",
                                            "  - remve:\n      tag: remove_when"),
         "SCH005", f"{PIPE}/default.yml", "  - remve:"),
    Case("build-yml-reference", edit("_dev/build/build.yml", "git@v8.17.0", "v8.17.0"),
         "SCH006", "_dev/build/build.yml", "reference: v8.17.0"),
    Case("pipeline-test-config-key", edit(f"{TESTS}/test-common-config.yml", "dynamic_fields:", "dynamic_field:"),
         "SCH007", f"{TESTS}/test-common-config.yml", "dynamic_field:"),
    Case("system-test-config", edit(f"{DS}/_dev/test/system/test-default-config.yml", "hit_count: 2",
                                    "hit_count: many"),
         "SCH008", f"{DS}/_dev/test/system/test-default-config.yml", "hit_count: many"),
    Case("kibana-envelope", json_edit("kibana/search/cloudflare-example-search.json",
                                      lambda d: d.pop("attributes")),
         "SCH009", "kibana/search/cloudflare-example-search.json", 1),
    Case("sample-event-timestamp", edit(f"{DS}/sample_event.json", '"2024-05-01T10:00:00.000Z"', '"yesterday"'),
         "SCH010", f"{DS}/sample_event.json", '"yesterday"'),
    # manifest and changelog
    Case("manifest-version-ahead", edit("manifest.yml", "version: 0.1.0", "version: 0.2.0"),
         "CHG001", "manifest.yml", "version: 0.2.0"),
    Case("changelog-not-semver", edit("changelog.yml", '"0.1.0"', '"0.1"'), "CHG002", "changelog.yml", '"0.1"'),
    Case("changelog-not-descending", edit("changelog.yml", '- version: "0.1.0"',
                                          '- version: "0.1.0"\n  changes:\n    - description: Older.\n'
                                          '      type: bugfix\n      link: https://github.com/o/r/pull/2\n'
                                          '- version: "0.1.0"'),
         "CHG003", "changelog.yml", 7),
    Case("changelog-no-link", edit("changelog.yml", "      link: https://github.com/cloudflare-siem/integrations/pull/1\n",
                                   ""),
         "CHG004", "changelog.yml", "    - description:"),
    Case("changelog-issue-link", edit("changelog.yml", "integrations/pull/1", "integrations/issues/1"),
         "CHG004", "changelog.yml", "issues/1"),
    Case("icon-missing", edit("manifest.yml", "/img/cloudflare-logo.svg", "/img/nope.svg"),
         "MAN001", "manifest.yml", "/img/nope.svg"),
    Case("policy-template-unknown-ds", edit("manifest.yml", "  - example\n", "  - example\n  - examples\n"),
         "MAN002", "manifest.yml", "  - examples"),
    # variables
    Case("secret-on-plain-var", edit(f"{DS}/manifest.yml", "title: Page size\n",
                                     "title: Page size\n        secret: true\n"),
         "VAR001", f"{DS}/manifest.yml", "secret: true"),
    Case("password-without-secret", edit("manifest.yml", "      secret: true\n", ""),
         "VAR002", "manifest.yml", "name: api_token"),
    Case("integer-default-string", edit(f"{DS}/manifest.yml", "default: 100", "default: '100'"),
         "VAR003", f"{DS}/manifest.yml", "default: '100'"),
    Case("bool-default-yes", edit(f"{DS}/manifest.yml", "default: false", "default: yes"),
         "VAR003", f"{DS}/manifest.yml", "default: yes"),
    Case("multi-default-scalar", edit(f"{DS}/manifest.yml", "default: [forwarded, example]", "default: forwarded"),
         "VAR003", f"{DS}/manifest.yml", "default: forwarded"),
    Case("select-default-not-option", edit(f"{DS}/manifest.yml", "default: v2", "default: v3"),
         "VAR004", f"{DS}/manifest.yml", "default: v3"),
    Case("duration-default-over-max", edit(f"{DS}/manifest.yml", "default: 5m", "default: 2h"),
         "VAR005", f"{DS}/manifest.yml", "default: 2h"),
    Case("url-default-scheme", edit("manifest.yml", "https://api.example.com", "http://api.example.com"),
         "VAR003", "manifest.yml", "http://api.example.com"),
    # inputs and templates
    Case("stream-input-not-offered", edit(f"{DS}/manifest.yml", "input: httpjson", "input: cel"),
         "POL001", f"{DS}/manifest.yml", "input: cel"),
    Case("template-unclosed-block", edit(TEMPLATE, "{{/if}}\nresponse.split", "\nresponse.split"),
         "HBS001", TEMPLATE, "{{#if proxy_url}}"),
    Case("template-undeclared-var", edit(TEMPLATE, "interval: {{interval}}", "interval: {{intervall}}"),
         "HBS002", TEMPLATE, "{{intervall}}"),
    Case("template-path-missing", edit(f"{DS}/manifest.yml", "template_path: httpjson.yml.hbs",
                                       "template_path: cel.yml.hbs"),
         "HBS003", f"{DS}/manifest.yml", "template_path: cel.yml.hbs"),
    # fields
    Case("field-defined-twice", edit(f"{DS}/fields/fields.yml", "    - name: latency_ms",
                                     "    - name: id\n      type: keyword\n    - name: latency_ms"),
         "FLD001", f"{DS}/fields/fields.yml", 15),
    Case("external-without-build-yml", delete("_dev/build/build.yml"), "FLD002", f"{DS}/fields/ecs.yml", 1),
    Case("external-not-in-ecs", edit(f"{DS}/fields/ecs.yml", "- name: event.action", "- name: event.actions"),
         "FLD003", f"{DS}/fields/ecs.yml", "event.actions"),
    Case("field-bad-type", edit(f"{DS}/fields/fields.yml", "      type: boolean", "      type: bool"),
         "FLD004", f"{DS}/fields/fields.yml", "- name: action.result"),
    Case("field-missing-timestamp", edit(f"{DS}/fields/base-fields.yml", "- name: '@timestamp'\n  type: date\n"
                                         "  description: Event timestamp.\n", ""),
         "FLD005", f"{DS}/fields", 1),
    # ingest pipelines
    Case("processor-without-tag", edit(f"{PIPE}/actor.yml", "      tag: rename_actor_ip\n", ""),
         "ING001", f"{PIPE}/actor.yml", "  - rename:\n      field: cloudflare.example.actor.ip"),
    Case("nested-processor-without-tag", edit(f"{PIPE}/default.yml", "            tag: append_date_error\n", ""),
         "ING001", f"{PIPE}/default.yml", "        - append:"),
    Case("duplicate-tag", edit(f"{PIPE}/actor.yml", "tag: remove_actor", "tag: rename_actor_ip"),
         "ING002", f"{PIPE}/actor.yml", "tag: rename_actor_ip\n      field: cloudflare.example.actor\n"),
    Case("pipeline-without-on-failure", edit(f"{PIPE}/actor.yml", "on_failure:", "on_failures_removed:"),
         "ING003", f"{PIPE}/actor.yml", 2),
    Case("on-failure-without-error-message", edit(f"{PIPE}/actor.yml", "field: error.message", "field: error.msg"),
         "ING003", f"{PIPE}/actor.yml", "on_failure:"),
    Case("ingest-pipeline-ref", edit(f"{PIPE}/default.yml", 'IngestPipeline "actor"', 'IngestPipeline "actors"'),
         "ING004", f"{PIPE}/default.yml", "actors"),
    Case("no-entry-pipeline", lambda root: (root / PIPE / "default.yml").rename(root / PIPE / "main.yml"),
         "ING005", PIPE, 1),
    # kibana
    Case("kibana-id-prefix", json_edit("kibana/search/cloudflare-example-search.json",
                                       lambda d: d.update(id="example-search")),
         "KIB001", "kibana/search/cloudflare-example-search.json", '"id": "example-search"'),
    Case("kibana-dangling-reference", json_edit("kibana/dashboard/cloudflare-example-overview.json",
                                                lambda d: d["references"][0].update(id="cloudflare-gone")),
         "KIB002", "kibana/dashboard/cloudflare-example-overview.json", '"id": "cloudflare-gone"'),
    Case("kibana-reference-other-type", json_edit(DASH, lambda d: d["references"][0].update(type="dashboard")),
         "KIB002", DASH, '"type": "dashboard"'),
    Case("kibana-type-not-folder", json_edit(SEARCH, lambda d: d.update(type="visualization")),
         "KIB003", SEARCH, '"type": "visualization"'),
    Case("kibana-import-needs-migration-version", json_edit(SEARCH, lambda d: d.pop("coreMigrationVersion")),
         "SCH009", SEARCH, 1),
    Case("lens-source-field-misspelled", edit(DASH, '"cloudflare.example.resource.type"',
                                              '"cloudflare.example.resource.typ"'),
         "KIB004", DASH, '"cloudflare.example.resource.typ"'),
    Case("lens-query-field-misspelled", edit(DASH, "event.outcome:(success", "event.outcom:(success"),
         "KIB004", DASH, "event.outcom:("),
    Case("lens-filter-unknown-dataset", edit(DASH, '"cloudflare.example"', '"cloudflare.exampel"', count=2),
         "KIB004", DASH, '"data_stream.dataset": "cloudflare.exampel"'),
    Case("control-field-misspelled", edit(DASH, '"fieldName": "event.action"', '"fieldName": "event.actions"'),
         "KIB004", DASH, '"event.actions"'),
    Case("search-column-misspelled", edit(SEARCH, '"cloudflare.example.resource.type"',
                                          '"cloudflare.example.resource.kind"'),
         "KIB004", SEARCH, '"cloudflare.example.resource.kind"'),
    Case("lens-average-of-keyword", edit(DASH, '"cloudflare.example.latency_ms"', '"cloudflare.example.id"'),
         "KIB005", DASH, '"cloudflare.example.id"'),
    Case("lens-terms-on-text", edit(DASH, '"cloudflare.example.resource.type"', '"error.message"'),
         "KIB005", DASH, '"error.message"'),
    Case("panel-ref-dangling", edit(DASH, '"panelRefName": "panel_1"', '"panelRefName": "panel_9"'),
         "KIB006", DASH, '"panel_9"'),
    Case("lens-layer-without-reference", edit(DASH, '"2:indexpattern-datasource-layer-l1"',
                                              '"2:indexpattern-datasource-layer-l9"'),
         "KIB006", DASH, '"l1": {'),
    Case("lens-chart-names-missing-column", edit(DASH, '"columnId": "latency"', '"columnId": "latencyy"'),
         "KIB006", DASH, '"columnId": "latencyy"'),
    Case("panel-past-grid", edit(DASH, '"w": 24,\n' + " " * 20 + '"x": 0,', '"w": 24,\n' + " " * 20 + '"x": 30,'),
         "KIB007", DASH, '"x": 30'),
    Case("panel-index-not-grid-i", edit(DASH, '"panelIndex": "2"', '"panelIndex": "3"'),
         "KIB007", DASH, '"i": "2"'),
    # samples, docs, tests
    Case("sample-undefined-field", json_edit(f"{DS}/sample_event.json",
                                             lambda d: d["cloudflare"]["example"].update(colour="red")),
         "SMP001", f"{DS}/sample_event.json", '"colour"'),
    Case("sample-unexpected-value", edit(f"{DS}/sample_event.json", '"type": "zone"', '"type": "bucket"'),
         "SMP001", f"{DS}/sample_event.json", '"type": "bucket"'),
    Case("sample-wrong-type", edit(f"{DS}/sample_event.json", '"result": true', '"result": "yes"'),
         "SMP001", f"{DS}/sample_event.json", '"result": "yes"'),
    Case("readme-outdated", edit("docs/README.md", "## Authentication", "## Auth"),
         "DOC001", "docs/README.md", "## Auth"),
    Case("readme-template-unknown-ds", edit("_dev/build/docs/README.md", '{{fields "example"}}',
                                            '{{fields "examples"}}'),
         "DOC002", "_dev/build/docs/README.md", '{{fields "examples"}}'),
    Case("pipeline-case-without-expected", delete(f"{TESTS}/test-example.json-expected.json"),
         "TST001", f"{TESTS}/test-example.json", 1),
    Case("orphan-test-config", write(f"{TESTS}/test-gone.log-config.yml", "fields: {}\n"),
         "TST002", f"{TESTS}/test-gone.log-config.yml", 1),
]


def _line_of(root: Path, case: Case) -> int:
    if isinstance(case.line, int):
        return case.line
    text = (root / case.path).read_text(encoding="utf-8")
    assert case.line in text, f"marker {case.line!r} not in mutated {case.path}"
    return text[: text.index(case.line)].count("\n") + 1 + (1 if case.line.startswith("\n") else 0)


def test_corpus_is_large_and_covers_many_rules():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.code for c in CASES} <= set(RULES)
    assert len({c.code for c in CASES}) >= 40


def test_unmutated_copy_has_no_problem_in_the_example(base_problems):
    assert [p for p in base_problems if "example" in p.path or p.path in ("manifest.yml", "changelog.yml")] == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_variant_is_reported(case: Case, base: Path, base_problems: set, ecs, tmp_path: Path):
    root = tmp_path / "pkg"
    shutil.copytree(base, root)
    case.mutate(root)
    new = set(lint_package(root, ecs=ecs)) - base_problems
    expected_line = _line_of(root, case)
    found = [(p.code, p.path, p.line) for p in new]
    assert (case.code, case.path, expected_line) in found, "\n".join(str(p) for p in sorted(new))


@pytest.mark.parametrize("content", ["[]\n", "a: [1, {b: null}]\nfields: 3\nprocessors: {x: 1}\nid: 4\n", ""])
def test_any_file_kind_with_unexpected_shape_is_reported_not_raised(content: str, base: Path, ecs,
                                                                     tmp_path: Path):
    root = tmp_path / "pkg"
    shutil.copytree(base, root)
    by_kind: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        kind = schema_for(rel) or (path.suffix if path.suffix == ".hbs" else None)
        if kind and path.is_file():
            by_kind.setdefault(kind, path)
    assert len(by_kind) >= 12
    for path in by_kind.values():
        original = path.read_bytes()
        path.write_text(content, encoding="utf-8")
        problems = lint_package(root, ecs=ecs)  # must not raise
        rel = path.relative_to(root).as_posix()
        if path.suffix != ".hbs" and "docker-compose" not in rel and "-config.yml" not in rel:
            assert problems, f"{rel} holding {content!r} passed lint"
        path.write_bytes(original)


FUZZ_FILES = ["manifest.yml", "changelog.yml", "_dev/build/build.yml", f"{DS}/manifest.yml", f"{DS}/fields/fields.yml",
              f"{PIPE}/default.yml", f"{DS}/sample_event.json", "kibana/dashboard/cloudflare-example-overview.json"]
FUZZ_VALUES = [3, "x", [], {}, None, [3], {"a": 3}]


def _node_paths(node, prefix=()):
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _node_paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _node_paths(value, prefix + (i,))


def test_rules_survive_values_of_any_type(base: Path, ecs, tmp_path: Path):
    """Replace nodes all over the main files with values of other types: lint reports, never raises/LNT001."""
    import copy

    import yaml

    from intpkg.yamlpos import load_file

    root = tmp_path / "pkg"
    shutil.copytree(base, root)
    count = 0
    for rel in FUZZ_FILES:
        path = root / rel
        original = path.read_text(encoding="utf-8")
        data = load_file(path).data
        for n, node_path in enumerate(_node_paths(data)):
            if n % 12:
                continue  # a deterministic sample keeps the test fast
            mutated = copy.deepcopy(data)
            target = mutated
            for part in node_path[:-1]:
                target = target[part]
            target[node_path[-1]] = FUZZ_VALUES[count % len(FUZZ_VALUES)]
            text = json.dumps(mutated) if rel.endswith(".json") else yaml.safe_dump(mutated)
            path.write_text(("---\n" if "ingest_pipeline" in rel else "") + text, encoding="utf-8")
            problems = lint_package(root, ecs=ecs)
            assert not [p for p in problems if p.code == "LNT001"], (rel, node_path, problems)
            count += 1
        path.write_text(original, encoding="utf-8")
    assert count > 20
