"""README templates render through Go text/template with elastic-package's functions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from intpkg.build.docs import GENERATED_HEADER, DocsError, render

SAMPLE = '{"message": "hi"}'


def _render(template: str) -> str:
    fieldset = SimpleNamespace(flat={"message": {"type": "keyword", "description": "The line."}})
    return render(template, fieldset_for=lambda ds: fieldset, sample_for=lambda ds: SAMPLE if ds == "logs" else None,
                  data_streams=["logs", "bare"])


def test_functions_render_the_fields_table_the_sample_event_and_the_header():
    out = _render('{{generatedHeader}}# Logs\n{{event "logs"}}\n{{fields "logs"}}')
    assert out.startswith(GENERATED_HEADER + "# Logs\nAn example event for `logs` looks as following:\n")
    assert '```json\n{\n    "message": "hi"\n}\n```\n' in out
    assert out.endswith("| message | The line. | keyword |\n")


def test_go_template_actions_work_as_in_elastic_package():
    template = 'A {{- /* trimmed */ -}} B\n{{if true}}{{fields "logs" | printf "%.19s"}}{{end}}\n{{.x}}'
    assert _render(template) == "AB\n**Exported fields**\n<no value>"


@pytest.mark.parametrize(("template", "line", "column", "message"), [
    ('intro\n  {{fields "nope"}}', 2, 5, "fields: data stream 'nope' does not exist"),
    ("{{fields}}", 1, 3, '{{fields "<data_stream>"}} takes one quoted data stream name'),
    ('x\n{{event "bare"}}', 2, 3, "event: data stream 'bare' has no sample_event.json"),
    ("{{url \"a\"}}", 1, 3, 'function "url" not defined'),
    ("{{if true}}", 1, 12, "unexpected EOF"),
])
def test_errors_name_line_column_and_reason(template, line, column, message):
    with pytest.raises(DocsError) as info:
        _render(template)
    assert (info.value.line, info.value.column, info.value.message) == (line, column, message)
