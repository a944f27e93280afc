"""A package's README as safe HTML, rendered the way Kibana Fleet shows it.

`render_inline(text)` renders one line of Markdown (a setting's description) the same safe way.

`render_markdown(text, asset_url=...)` renders GitHub-flavoured Markdown (CommonMark, tables,
strikethrough; raw HTML allowed in the source) and then sanitizes the result with nh3, so that what
comes out is safe to put in a page whatever the README holds: no scripts, no event handlers, no
`javascript:` URLs, only the tags and attributes that GFM output needs.

Like Fleet's README view:

- the table after a paragraph that is just `**Exported fields**` is folded into
  `<details><summary>Exported fields</summary>...</details>` (the paragraph becomes the summary);
- the code block after "An example event for `x` looks as following:" is folded into
  `<details><summary>Example event</summary>...</details>` (the sentence stays: it names the stream);
- headings get GitHub-style slug ids (`## Audit logs` -> `id="audit-logs"`) for anchors;
- relative image paths are package files: `/img/x.png` and `img/x.png` are taken from the package
  root, `../img/x.png` from `docs/` (where the README is); the page loads them from
  `asset_url("img/x.png")`. Absolute http(s) image URLs are left as they are; an image path that
  leaves the package, or has another scheme (`data:`, `javascript:`), loses its `src`.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

EXPORTED_FIELDS = "**Exported fields**"
EXAMPLE_EVENT = re.compile(r"^An example event for `[^`]+` looks as following:$")
CODE_LANGUAGE = re.compile(r"^language-[\w#+.-]+$")
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
TAGS = {"details", "summary", "table", "thead", "tbody", "tr", "th", "td", "pre", "code", "img", "del", "s",
        "p", "br", "hr", "a", "ul", "ol", "li", "blockquote", "em", "strong", "b", "i", "kbd", "sub", "sup",
        "span", "div", "dl", "dt", "dd", "caption"} | HEADINGS
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
    "ol": {"start"},
    "details": {"open"},
    **{tag: {"id"} for tag in HEADINGS},
}
URL_SCHEMES = {"http", "https", "mailto"}
INLINE_TAGS = {"a", "code", "em", "strong", "s", "br"}


def render_markdown(text: str, *, asset_url: Callable[[str], str]) -> str:
    """Safe HTML of the Markdown `text`; `asset_url(path)` gives the URL of a package file (`img/x.png`)."""
    html = _markdown().render(text)

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return _image_src(value, asset_url)
        if tag == "code" and attribute == "class":
            return value if CODE_LANGUAGE.match(value) else None
        return value

    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=keep, url_schemes=URL_SCHEMES,
                     filter_style_properties={"text-align"})


def render_inline(text: str) -> str:
    """Safe HTML of a line of Markdown (a setting's description): code, emphasis, strikethrough and
    http(s)/mailto links, no paragraph around it; raw HTML in `text` is shown as text."""
    html = _inline_markdown().renderInline(text)
    return nh3.clean(html, tags=INLINE_TAGS, attributes={"a": {"href", "title"}}, url_schemes=URL_SCHEMES)


def package_path(src: str) -> str | None:
    """Package-relative path of a relative image `src`, or None when it leaves the package.

    `/x` and `x` are from the package root, `../x` (and `./x`) from `docs/`.
    """
    path = unquote(urlsplit(src).path)
    if path.startswith("/"):
        joined = path.lstrip("/")
    elif path.startswith(("../", "./")):
        joined = "docs/" + path
    else:
        joined = path
    normal = posixpath.normpath(joined) if joined else ""
    if not normal or normal == "." or normal == ".." or normal.startswith("../"):
        return None
    return normal


def _image_src(value: str, asset_url: Callable[[str], str]) -> str | None:
    parts = urlsplit(value)
    if parts.scheme in ("http", "https"):
        return value
    if parts.scheme or parts.netloc:  # data:, javascript:, //host/...
        return None
    path = package_path(value)
    return asset_url(path) if path else None


@functools.cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.core.ruler.push("fleet_folds", _fold)
    md.core.ruler.push("heading_ids", _heading_ids)
    return md


@functools.cache
def _inline_markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable(["strikethrough"])


def _html(content: str) -> Token:
    token = Token("html_block", "", 0)
    token.content = content
    token.block = True
    return token


def _paragraph_text(tokens: list[Token], i: int) -> str | None:
    """Source text of the paragraph opening at `i`, else None."""
    if tokens[i].type == "paragraph_open" and i + 2 < len(tokens) and tokens[i + 1].type == "inline":
        return tokens[i + 1].content.strip()
    return None


def _fold(state: StateCore) -> None:
    tokens, out, i = state.tokens, [], 0
    while i < len(tokens):
        text = _paragraph_text(tokens, i)
        after = tokens[i + 3] if text is not None and i + 3 < len(tokens) else None
        if text == EXPORTED_FIELDS and after is not None and after.type == "table_open":
            end = next(j for j in range(i + 3, len(tokens)) if tokens[j].type == "table_close")
            out += [_html("<details><summary>Exported fields</summary>\n"), *tokens[i + 3:end + 1],
                    _html("</details>\n")]
            i = end + 1
            continue
        if text is not None and EXAMPLE_EVENT.match(text) and after is not None \
                and after.type in ("fence", "code_block"):
            out += [*tokens[i:i + 3], _html("<details><summary>Example event</summary>\n"), after,
                    _html("</details>\n")]
            i += 4
            continue
        out.append(tokens[i])
        i += 1
    state.tokens = out


def slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _heading_ids(state: StateCore) -> None:
    seen: dict[str, int] = {}
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or i + 1 >= len(tokens):
            continue
        children = tokens[i + 1].children or []
        base = slug("".join(c.content for c in children if c.type in ("text", "code_inline"))) or "section"
        count = seen.get(base, 0)
        seen[base] = count + 1
        token.attrSet("id", f"{base}-{count}" if count else base)
