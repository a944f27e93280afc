"""The Handlebars scanner behind HBS001/HBS002: syntax errors with positions, variables read."""

from __future__ import annotations

import pytest

from intpkg.spec.hbs import TemplateError, parse


def names(text: str) -> list[str]:
    return [r.name for r in parse(text).references]


def test_references_outside_scopes():
    text = """{{!-- a comment with {{ braces }} --}}
url: {{url}}/{{{path}}}
{{#if proxy.url}}proxy: {{proxy.url}}{{else if ssl}}ssl: {{to_json ssl}}{{else}}none{{/if}}
token: {{escape_string (to_json api_token)}}
{{#contains "forwarded" tags}}x{{/contains}}
{{#each tags as |tag i|}}- {{tag}} {{i}} {{@index}} {{../interval}}{{/each}}
{{#each processors}}{{this}}{{name}}{{/each}}
id: {{_meta.stream.id}}
"""
    assert names(text) == ["url", "path", "proxy.url", "proxy.url", "ssl", "ssl", "api_token", "tags", "tags",
                           "interval", "processors", "_meta.stream.id"]


@pytest.mark.parametrize(("text", "line", "fragment"), [
    ("a: 1\n{{#if x}}\nb: 2\n", 2, "never closed"),
    ("{{#if x}}\n{{/unless}}\n", 2, "closes {{#if}} opened on line 1"),
    ("a\n{{/if}}", 2, "closes no open block"),
    ("{{else}}", 1, "outside a block"),
    ("x: {{url\ny: 2\n", 1, "unclosed tag"),
    ("{{> partial}}", 1, "partials"),
    ("{{#frob x}}{{/frob}}", 1, "unknown block helper"),
    ("{{frob x}}", 1, "unknown helper"),
    ("{{#if}}{{/if}}", 1, "needs an argument"),
    ("{{!-- never closed", 1, "unclosed comment"),
])
def test_syntax_errors_have_positions(text, line, fragment):
    with pytest.raises(TemplateError) as err:
        parse(text)
    assert err.value.line == line
    assert fragment in err.value.message
