"""A small Handlebars scanner for agent stream templates: syntax check and the variables a template reads.

It checks what Fleet's compiler would reject (unclosed tags, unbalanced or mismatched blocks, `else` outside
a block, partials) and lists the context variables referenced outside `each`/`with` blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HELPERS = {"if", "unless", "each", "with", "contains", "escape_string", "escape_multiline_string", "to_json",
           "url_encode", "lookup", "log"}
BLOCK_HELPERS = {"if", "unless", "each", "with", "contains"}
SCOPE_HELPERS = {"each", "with"}
LITERALS = {"true", "false", "null", "undefined", "this", "else"}
_TOKEN = re.compile(r"""\s*(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\(|\)|as\s+\|[^|]*\||[^\s()=]+=|[^\s()]+)""")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class TemplateError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


@dataclass
class Reference:
    name: str
    line: int
    column: int


@dataclass
class Template:
    references: list[Reference] = field(default_factory=list)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _tokens(expr: str) -> list[str]:
    return [t.strip() for t in _TOKEN.findall(expr) if t.strip()]


def parse(text: str) -> Template:
    """Scan `text`; raise TemplateError at the first syntax problem."""
    template = Template()
    stack: list[tuple[str, int, set[str]]] = []  # (helper, offset, block params)
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            break
        if start > 0 and text[start - 1] == "\\":
            pos = start + 2
            continue
        if text.startswith("{{!--", start):
            end = text.find("--}}", start)
            if end < 0:
                raise TemplateError(*_position(text, start), "unclosed comment {{!-- ... --}}")
            pos = end + 4
            continue
        triple = text.startswith("{{{", start)
        close = "}}}" if triple else "}}"
        end = text.find(close, start + len(close))
        nxt = text.find("{{", start + 2 + triple)
        if end < 0 or (0 <= nxt < end and not text.startswith("{{!", start)):
            raise TemplateError(*_position(text, start), f"unclosed tag: missing {close!r}")
        inner = text[start + 2 + triple:end].strip().lstrip("~").rstrip("~").strip()
        pos = end + len(close)
        if inner.startswith("!"):
            continue
        line, col = _position(text, start)
        if not inner:
            raise TemplateError(line, col, "empty tag {{}}")
        sigil = inner[0]
        if sigil == ">":
            raise TemplateError(line, col, "partials ({{> ...}}) are not available to Fleet templates")
        if sigil in "#^" and len(inner) > 1 or sigil == "#":
            tokens = _tokens(inner[1:])
            if not tokens:
                raise TemplateError(line, col, "block without a helper name")
            params = set()
            if tokens[-1].startswith("as"):
                params = set(tokens[-1].split("|")[1].split())
                tokens = tokens[:-1]
            helper = tokens[0]
            if helper not in BLOCK_HELPERS:
                raise TemplateError(line, col, f"unknown block helper {helper!r}")
            if len(tokens) < 2:
                raise TemplateError(line, col, f"{{{{#{helper}}}}} needs an argument")
            _references(template, tokens[1:], stack, line, col)
            stack.append((helper, start, params))
            continue
        if sigil == "/":
            helper = inner[1:].strip()
            if not stack:
                raise TemplateError(line, col, f"{{{{/{helper}}}}} closes no open block")
            opened, offset, _ = stack.pop()
            if opened != helper:
                oline, _ = _position(text, offset)
                raise TemplateError(line, col, f"{{{{/{helper}}}}} closes {{{{#{opened}}}}} opened on line {oline}")
            continue
        tokens = _tokens(inner)
        if tokens[0] in ("else", "^"):
            if not stack:
                raise TemplateError(line, col, "{{else}} outside a block")
            if len(tokens) > 1:  # {{else if x}}
                _references(template, tokens[2:], stack, line, col)
            continue
        if tokens[0] in HELPERS:
            _references(template, tokens[1:], stack, line, col)
        elif len(tokens) > 1:
            raise TemplateError(line, col, f"unknown helper {tokens[0]!r}")
        else:
            _references(template, tokens, stack, line, col)
    if stack:
        helper, offset, _ = stack[-1]
        raise TemplateError(*_position(text, offset), f"{{{{#{helper}}}}} is never closed")
    return template


def _references(template: Template, tokens: list[str], stack: list, line: int, col: int) -> None:
    in_scope = any(helper in SCOPE_HELPERS for helper, _, _ in stack)
    params = set().union(*(p for _, _, p in stack)) if stack else set()
    depth = 0
    for token in tokens:
        if token == "(":
            depth += 1
            continue
        if token == ")":
            depth -= 1
            continue
        if token.endswith("=") and not token.startswith(("'", '"')):
            continue
        if token[0] in "\"'" or _NUMBER.match(token) or token in LITERALS or token.startswith("@"):
            continue
        if token in HELPERS and (depth or token == tokens[0]):
            continue
        root_ref = token.startswith("../") or token.startswith("@root.")
        name = re.sub(r"^(\.\./)+|^@root\.", "", token)
        if name.startswith("this.") or name.split(".")[0] in params:
            continue
        if in_scope and not root_ref:
            continue
        template.references.append(Reference(name, line, col))
    if depth:
        raise TemplateError(line, col, "unbalanced parentheses in sub-expression")
