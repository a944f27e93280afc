"""The README as the UI shows it: GFM rendered, sanitized, folded and with package images, as Fleet does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from intpkg.ui.readme import package_path, render_inline, render_markdown

REPO = Path(__file__).resolve().parents[1]


def render(text: str) -> str:
    return render_markdown(text, asset_url=lambda path: f"/assets/{path}")


def details(html: str, summary: str) -> list[str]:
    """Bodies of the `<details>` blocks with this summary."""
    return re.findall(rf"<details><summary>{summary}</summary>(.*?)</details>", html, re.S)


@pytest.fixture(scope="module")
def real_readme() -> tuple[str, str]:
    text = (REPO / "docs" / "README.md").read_text(encoding="utf-8")
    return text, render(text)


def test_real_readme_folds_each_fields_table_and_example_event(real_readme) -> None:
    text, html = real_readme
    streams = re.findall(r"^An example event for `([^`]+)` looks as following:$", text, re.M)
    assert streams == ["audit", "logpull"]
    fields = details(html, "Exported fields")
    assert len(fields) == text.count("\n**Exported fields**\n") == 2
    assert all(body.strip().startswith("<table>") and body.strip().endswith("</table>") for body in fields)
    assert "| source.ip" not in html and "<td>source.ip</td>" in fields[0]
    assert "<strong>Exported fields</strong>" not in html  # the paragraph became the summary
    events = details(html, "Example event")
    assert len(events) == 2
    assert all(body.strip().startswith('<pre><code class="language-json">{') for body in events)
    for stream in streams:  # the sentence naming the stream stays above its folded event
        assert f"<p>An example event for <code>{stream}</code> looks as following:</p>\n<details>" in html


def test_real_readme_other_tables_stay_open_and_headings_get_anchors(real_readme) -> None:
    text, html = real_readme
    outside = re.sub(r"<details>.*?</details>", "", html, flags=re.S)
    assert "<td>Audit logs v2</td>" in outside  # the permissions table is not a fields table
    assert outside.count("<table>") == html.count("<table>") - 2
    for heading, anchor in (("## Audit logs", "audit-logs"), ("## Logpull (HTTP request logs)",
                                                                 "logpull-http-request-logs")):
        assert heading in text
        assert f'<h2 id="{anchor}">' in html


def test_scripts_event_handlers_and_javascript_urls_are_removed() -> None:
    html = render(
        "<script>alert('x')</script>\n\n"
        '<img src="img/ok.png" onerror="alert(1)">\n\n'
        '<a href="javascript:alert(2)" onclick="alert(3)">link</a> [md](javascript:alert(4))\n\n'
        "<p onmouseover=\"alert(5)\">text</p>\n\n<iframe src=\"https://e.example/\"></iframe>\n"
    )
    assert "alert" not in html.replace("[md](javascript:alert(4))", "")
    assert "<script" not in html and "onerror" not in html and "onclick" not in html
    assert "javascript:" not in html.replace("[md](javascript:alert(4))", "")
    assert "<iframe" not in html
    assert '<img src="/assets/img/ok.png">' in html and ">link</a>" in html


def test_gfm_output_survives_sanitizing() -> None:
    html = render(
        "| a | b |\n|:-:|--:|\n| 1 | 2 |\n\n~~old~~\n\n```json\n{}\n```\n\n"
        '<details open><summary>More</summary>x</details>\n\n<pre><code class="evil language-js">y</code></pre>\n\n'
        '<table><tr><td style="position:fixed;text-align:left">z</td></tr></table>\n'
    )
    assert '<th style="text-align:center">a</th>' in html and '<td style="text-align:right">2</td>' in html
    assert "<s>old</s>" in html
    assert '<code class="language-json">' in html
    assert "<details open" in html and "<summary>More</summary>" in html
    assert "evil" not in html and "position" not in html and '<td style="text-align:left">z</td>' in html


def test_only_a_bare_exported_fields_paragraph_folds_the_table_after_it() -> None:
    html = render("**Exported fields**\n\n| f | t |\n|---|---|\n| a | keyword |\n\n"
                  "Some **Exported fields** words\n\n| g |\n|---|\n| b |\n")
    assert len(details(html, "Exported fields")) == 1
    assert "<td>b</td>" not in "".join(details(html, "Exported fields"))


def test_example_event_folds_only_the_code_block_after_the_sentence() -> None:
    html = render("An example event for `audit` looks as following:\n\n```json\n{\"a\": 1}\n```\n\n"
                  "```json\n{\"b\": 2}\n```\n")
    (body,) = details(html, "Example event")
    assert "{\"a\": 1}" in body and "{\"b\": 2}" not in body and "{\"b\": 2}" in html


@pytest.mark.parametrize("src, expected", [
    ("../img/shot.png", "/assets/img/shot.png"),
    ("/img/logo.svg", "/assets/img/logo.svg"),
    ("img/shot.png", "/assets/img/shot.png"),
    ("./shot.png", "/assets/docs/shot.png"),
    ("../img/with%20space.png", "/assets/img/with space.png"),
])
def test_relative_images_load_from_the_package(src: str, expected: str) -> None:
    assert f'<img src="{expected}" alt="x">' in render(f"![x]({src})")
    assert f'<img src="{expected}">' in render(f'<img src="{src}">')


def test_absolute_images_stay_and_escaping_or_foreign_schemes_lose_their_source() -> None:
    html = render("![a](https://img.example/a.png) ![b](../../etc/passwd) ![c](data:image/png;base64,AAAA) "
                  "![d](//cdn.example/d.png)")
    assert '<img src="https://img.example/a.png" alt="a">' in html
    for alt in "bcd":
        assert f'<img alt="{alt}">' in html
    assert package_path("../../secret") is None and package_path("/../x") is None


def test_duplicate_headings_get_distinct_anchors() -> None:
    html = render("# Setup\n\n## Setup\n\n### `code` & more!\n")
    assert '<h1 id="setup">' in html and '<h2 id="setup-1">' in html
    assert '<h3 id="code--more">' in html


def test_inline_markdown_renders_code_emphasis_and_links_and_shows_html_as_text() -> None:
    html = render_inline("Needs **Account › Read**; sent as `Authorization: Bearer`, see "
                         "[docs](https://docs.example/) or [x](javascript:alert(1)) <b onclick=y>z</b>")
    assert html.startswith("Needs <strong>Account › Read</strong>") and "<p>" not in html
    assert "<code>Authorization: Bearer</code>" in html
    assert '<a href="https://docs.example/" rel="noopener noreferrer">docs</a>' in html
    assert "<b" not in html and "&lt;b onclick=y&gt;z&lt;/b&gt;" in html
    assert 'href="javascript' not in html
