"""Agent stream templates as handlebars.js parses them: Fleet's limits, and the variables a template reads.

`parse(text)` walks the AST of `Handlebars.parse` (handlebars.js 4.7.8, `intpkg.handlebars`) and raises
TemplateError at the first problem in document order:

- the text does not parse (the cause in plain words where handlebars' tokens show it: `hbs_syntax`);
- a partial (`{{> x}}`) or a decorator (`{{* x}}`): Fleet registers none;
- a helper Fleet does not have, as a block (`{{#frob x}}`), with arguments (`{{frob x}}`) or in a
  sub-expression (`(frob x)`); a block helper without argument (`{{#if}}`).

`Template.references` lists, in document order, the context variables read from the root context: paths
outside `each`/`with` bodies, and inside them those that climb out (`../x` past every enclosing body,
`@root.x`). Block parameters (`as |x|`), `@data` variables and helper names are not variables. Lines
and columns are 1-based; a reference is placed at its path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from intpkg.handlebars import HandlebarsError, engine
from intpkg.spec.hbs_syntax import explain

HELPERS = {"if", "unless", "each", "with", "contains", "escape_string", "escape_multiline_string", "to_json",
           "url_encode", "lookup", "log"}
BLOCK_HELPERS = {"if", "unless", "each", "with", "contains"}
SCOPE_HELPERS = {"each", "with"}  # their body runs with another context
_LITERALS = {"StringLiteral", "NumberLiteral", "BooleanLiteral", "UndefinedLiteral", "NullLiteral"}

Node = dict[str, Any]


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


@dataclass(frozen=True)
class _Scope:
    bodies: int = 0  # enclosing each/with bodies: a path climbs out of them with as many `../`
    params: frozenset[str] = frozenset()  # block parameters in reach


def parse(text: str) -> Template:
    """Parse `text` with handlebars.js; raise TemplateError at the first problem."""
    try:
        ast = engine().parse(text)
    except HandlebarsError as exc:
        raise TemplateError(*explain(text, exc)) from None
    template = Template()
    _program(ast, _Scope(), template)
    return template


def _program(program: Node, scope: _Scope, template: Template) -> None:
    for statement in program.get("body") or []:
        _statement(statement, scope, template)


def _statement(node: Node, scope: _Scope, template: Template) -> None:
    kind = node.get("type")
    if kind in ("PartialStatement", "PartialBlockStatement"):
        raise _error(node, "partials ({{> ...}}) are not available to Fleet templates")
    if kind in ("Decorator", "DecoratorBlock"):
        raise _error(node, "decorators ({{* ...}}) are not available to Fleet templates")
    if kind == "MustacheStatement":
        _call(node, scope, template, "mustache")
    elif kind == "BlockStatement":
        helper = _call(node, scope, template, "block")
        if node.get("program"):
            body = node["program"]
            inner = _Scope(scope.bodies + (helper in SCOPE_HELPERS), scope.params | set(body.get("blockParams") or []))
            _program(body, inner, template)
        if node.get("inverse"):  # {{else}}: the block's own context
            _program(node["inverse"], scope, template)


def _call(node: Node, scope: _Scope, template: Template, form: str) -> str:
    """Check the helper that `node` (a mustache, block or sub-expression) calls; note the variables it reads."""
    path, params = node["path"], node.get("params") or []
    pairs = (node.get("hash") or {}).get("pairs") or []
    name = str(path.get("original"))
    if form == "block":
        if name not in BLOCK_HELPERS:
            raise _error(node, f"unknown block helper {name!r}")
        if not params:
            raise _error(node, f"{{{{#{name}}}}} needs an argument")
    elif form == "subexpression" or params or pairs:
        if name not in HELPERS:
            raise _error(node, f"unknown helper {name!r}")
    elif path.get("type") == "PathExpression" and name not in HELPERS:
        _reference(path, scope, template)
    for value in [*params, *(pair["value"] for pair in pairs)]:
        if value.get("type") == "SubExpression":
            _call(value, scope, template, "subexpression")
        elif value.get("type") == "PathExpression":
            _reference(value, scope, template)
    return name


def _reference(path: Node, scope: _Scope, template: Template) -> None:
    parts = [str(p) for p in path.get("parts") or []]
    if path.get("data"):  # @index, @key...: only @root.x reads the root context
        if parts[:1] != ["root"] or len(parts) < 2:
            return
        parts = parts[1:]
    elif not parts or (path.get("depth", 0) == 0 and parts[0] in scope.params):
        return  # `this`, `..`, a block parameter
    elif path.get("depth", 0) < scope.bodies:
        return  # a value of an each/with body, not of the root context
    line, column = _start(path)
    template.references.append(Reference(".".join(parts), line, column))


def _start(node: Node) -> tuple[int, int]:
    start = (node.get("loc") or {}).get("start") or {}
    return int(start.get("line") or 1), int(start.get("column") or 0) + 1


def _error(node: Node, message: str) -> TemplateError:
    return TemplateError(*_start(node), message)
