"""handlebars.js' parser behind HBS001/HBS002/HBS004: syntax errors with positions, variables read."""

from __future__ import annotations

from pathlib import Path

import pytest

from intpkg.spec.hbs import TemplateError, parse

REPO = Path(__file__).resolve().parents[1]


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


def test_scopes_follow_handlebars_depths_not_the_text() -> None:
    """`../` climbs one each/with body, and an if is none (handlebars renders {{../c}} below from the root);
    an else branch reads the outer context; `this.x` is x; a block parameter is no variable."""
    text = ("{{#with a}}{{#if b}}{{../c}}{{/if}}{{#each d}}{{../e}}{{../../f}}{{@root.g}}{{/each}}"
            "{{else}}{{h}}{{/with}}{{this.i}}{{#each xs as |x|}}{{x.y}}{{else}}{{x}}{{/each}}")
    assert names(text) == ["a", "c", "f", "g", "h", "i", "xs", "x"]


def test_references_are_placed_at_their_path_and_hash_values_count() -> None:
    refs = parse('url: {{ url }}\n{{log "x" level=lvl}}').references
    assert [(r.name, r.line, r.column) for r in refs] == [("url", 1, 9), ("lvl", 2, 17)]


@pytest.mark.parametrize(("text", "position", "message"), [
    ("{{to_json (frob x)}}", (1, 11), "unknown helper 'frob'"),
    ("{{* deco}}", (1, 1), "decorators ({{* ...}}) are not available to Fleet templates"),
    ("{{{x}}", (1, 1), "unclosed tag: missing '}}}'"),
    ("{{x}}}", (1, 4), "'}}}' closes a tag opened with '{{'"),
    ("{{}}", (1, 1), "empty tag {{}}"),
    ("{{#}}{{/}}", (1, 1), "block without a helper name"),
    ("a\n  {{#if x}}\n{{else}}\n{{#each y}}\n{{/if}}", (5, 1), "{{/if}} closes {{#each}} opened on line 4"),
    ("{{#if a}}{{else if b}}{{/if}}{{else if c}}", (1, 30), "{{else}} outside a block"),
    ("{{foo ;}}", (1, 7), "Parse error: Expecting 'CLOSE_RAW_BLOCK', 'CLOSE'"),  # handlebars' own words
])
def test_problems_have_handlebars_positions(text, position, message) -> None:
    with pytest.raises(TemplateError) as err:
        parse(text)
    assert (err.value.line, err.value.column) == position
    assert err.value.message.startswith(message)


def test_without_handlebars_js_each_template_is_reported_unchecked(monkeypatch, tmp_path) -> None:
    from intpkg.handlebars import v8
    from intpkg.spec.package import Package
    from intpkg.spec.rules import templates
    from intpkg.spec.rules.context import LintContext

    monkeypatch.setattr(v8, "_engine", None)  # the next use loads afresh; the session's engine comes back
    monkeypatch.setenv("INTPKG_HANDLEBARS_JS", str(tmp_path / "missing.js"))
    problems = templates.check(LintContext(pkg=Package(REPO)))
    assert sorted((p.path, p.line, p.code) for p in problems) == [
        (f"data_stream/{ds}/agent/stream/httpjson.yml.hbs", 1, "HBS004") for ds in ("audit", "logpull")]
    assert all("INTPKG_HANDLEBARS_JS names" in p.message for p in problems)
