"""KQL (Kibana query language) to Elasticsearch query DSL.

No maintained KQL library exists for Python (`kibana-ql` 0.2 only parses, and Elastic's
`detection-rules` KQL module is not on PyPI), so this is a small recursive-descent parser following
Kibana's grammar (`kuery.peggy`):

    query    := or?                          (empty: match everything)
    or       := and ( OR and )*              OR  = space+ "or" space+   (any case)
    and      := not ( AND not )*             AND = space+ "and" space+
    not      := NOT sub | sub                NOT = "not" space+
    sub      := "(" or ")" | expr
    expr     := field rangeop literal        rangeop = <= >= < >
              | field ":" values
              | value                        (free text: every field)
    values   := "(" value-or ")" | value     value-or/and/not: the same operators over values
    value    := "quoted" | unquoted          unquoted may hold spaces, `*` wildcards and \\-escapes

Unquoted text runs until a special character `\\ ( ) : < > " * { }` (escape one with `\\`) or a
keyword; it is trimmed. So `event.action:login event.outcome:failure` is a syntax error, as in Kibana:
write `and` between the two.

Translation (no index mapping is at hand, so field types are left to the engine):

- `f:v` → `match {f: v}`; `f:"a b"` → `match_phrase {f: "a b"}`; `f:*` → `exists {field: f}`;
- `f:a*` → `wildcard {f: {value: "a*"}}` (not `query_string`, whose wildcards miss on OpenSearch's
  `wildcard` fields);
- `f >= 10` → `range {f: {gte: "10"}}` (also `>`, `<`, `<=`);
- `v`, `"a b"` with no field → `multi_match` on every field, lenient (`best_fields`, or `phrase` when
  quoted); `a*` with no field → `query_string` with the wildcard, lenient; `*` and `*:*` → `match_all`;
- `f*:v` (a field pattern) → `multi_match` on the pattern, lenient;
- `and` / `or` / `not` → `bool` `filter` / `should` (minimum 1) / `must_not`.

Nested-field queries (`f:{ … }`) are refused. `query_to_dsl` takes a saved object's
`{"language": "kuery"|"lucene", "query": …}`: Lucene text goes to `query_string` as Kibana sends it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from intpkg.dashboards import DashboardError
from intpkg.dashboards.filters import filters_to_dsl

__all__ = ["KqlError", "Literal", "kql_to_dsl", "parse_kql", "query_to_dsl", "filters_to_dsl"]

SPECIAL = set('\\():<>"*{}')
SPACE = " \t\r\n"
_OR = re.compile(r"[ \t\r\n]+or[ \t\r\n]+", re.IGNORECASE)
_AND = re.compile(r"[ \t\r\n]+and[ \t\r\n]+", re.IGNORECASE)
_NOT = re.compile(r"not[ \t\r\n]+", re.IGNORECASE)
_ESCAPED_KEYWORD = re.compile(r"\\(or|and|not)", re.IGNORECASE)
_ESCAPED_SPACE = {"t": "\t", "r": "\r", "n": "\n"}
MATCH_ALL: dict[str, Any] = {"match_all": {}}


class KqlError(DashboardError):
    """A KQL syntax error; `position` is the 0-based offset in `query` where parsing stopped."""

    def __init__(self, query: str, position: int, message: str) -> None:
        pointer = f"\n    {query}\n    {' ' * position}^" if "\n" not in query else ""
        super().__init__(f"KQL syntax error at column {position + 1}: {message}{pointer}")
        self.query, self.position, self.reason = query, position, message


@dataclass(frozen=True)
class Literal:
    """A field name or value as written: `text` unescaped; `parts` keeps which `*` are wildcards."""

    text: str
    quoted: bool
    position: int
    parts: tuple[tuple[str, bool], ...] = ()  # (chunk, is_wildcard) for unquoted values

    @property
    def wildcard(self) -> bool:
        return any(is_wild for _, is_wild in self.parts)

    @property
    def only_wildcard(self) -> bool:
        return self.wildcard and self.text == "*"

    def pattern(self, escape: str) -> str:
        """The value with its wildcards as `*` and every character of `escape` backslash-escaped."""
        out = []
        for chunk, is_wild in self.parts:
            if is_wild:
                out.append("*")
            else:
                out.append("".join("\\" + c if c in escape else c for c in chunk))
        return "".join(out)


@dataclass(frozen=True)
class Or:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class And:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass(frozen=True)
class FieldValue:
    field: Literal
    value: Any  # a Literal, or Or/And/Not over Literals


@dataclass(frozen=True)
class Range:
    field: Literal
    operator: str  # lt, lte, gt, gte
    value: Literal


@dataclass(frozen=True)
class FreeText:
    value: Literal


RANGE_OPERATORS = (("<=", "lte"), (">=", "gte"), ("<", "lt"), (">", "gt"))


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # -- helpers
    def error(self, message: str, position: int | None = None) -> KqlError:
        return KqlError(self.text, self.pos if position is None else position, message)

    def found(self) -> str:
        return f"{self.text[self.pos]!r} found" if self.pos < len(self.text) else "end of input found"

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in SPACE:
            self.pos += 1

    def keyword(self, pattern: re.Pattern[str]) -> bool:
        found = pattern.match(self.text, self.pos)
        if found:
            self.pos = found.end()
            return True
        return False

    def at_keyword(self, pos: int) -> bool:
        if _OR.match(self.text, pos) or _AND.match(self.text, pos):
            return True
        # `not` counts at the start of a word only (Kibana's grammar would also stop `cannot ` at `not`)
        return bool(_NOT.match(self.text, pos)) and (pos == 0 or self.text[pos - 1] in SPACE + "(")

    # -- grammar
    def parse(self) -> Any:
        self.skip_space()
        if self.at_end():
            return None
        node = self.or_query(values=False)
        self.skip_space()
        if not self.at_end():
            raise self.error(f"Expected AND, OR or end of input but {self.found()}")
        return node

    def or_query(self, values: bool) -> Any:
        items = [self.and_query(values)]
        while self.keyword(_OR):
            items.append(self.and_query(values))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_query(self, values: bool) -> Any:
        items = [self.not_query(values)]
        while self.keyword(_AND):
            items.append(self.not_query(values))
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_query(self, values: bool) -> Any:
        if self.keyword(_NOT):
            self.skip_space()
            return Not(self.sub_query(values))
        return self.sub_query(values)

    def sub_query(self, values: bool) -> Any:
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            opened = self.pos
            self.pos += 1
            self.skip_space()
            if self.at_end() or self.text[self.pos] == ")":
                raise self.error(f"Expected a query inside the parentheses but {self.found()}")
            node = self.or_query(values)
            self.skip_space()
            if self.at_end():
                raise self.error(f"Expected ')' to close the '(' at column {opened + 1} but end of input found")
            if self.text[self.pos] != ")":
                raise self.error(f"Expected AND, OR or ')' but {self.found()}")
            self.pos += 1
            return node
        if values:
            return self.value()
        return self.expression()

    def expression(self) -> Any:
        start = self.pos
        literal = self.literal()
        after = self.pos
        self.skip_space()
        for symbol, name in RANGE_OPERATORS:
            if self.text.startswith(symbol, self.pos):
                self.pos += len(symbol)
                self.skip_space()
                if self.at_end() or self.text[self.pos] in "()<>:{}":
                    raise self.error(f"Expected a value after {symbol!r} but {self.found()}")
                return Range(literal, name, self.literal())
        if self.text.startswith(":", self.pos):
            self.pos += 1
            self.skip_space()
            if self.text.startswith("{", self.pos):
                raise self.error("Nested field queries (field:{ … }) are not supported")
            if self.at_end():
                raise self.error(f"Expected a value after ':' but {self.found()}")
            if self.text[self.pos] == "(":
                return FieldValue(literal, self.sub_query(values=True))
            return FieldValue(literal, self.value())
        self.pos = after
        if literal.text == "" and not literal.quoted:
            raise self.error(f"Expected a field, a value or '(' but {self.found()}", start)
        return FreeText(literal)

    def value(self) -> Literal:
        if self.at_end() or self.text[self.pos] in "():<>{}":
            raise self.error(f"Expected a value but {self.found()}")
        return self.literal()

    def literal(self) -> Literal:
        if self.pos < len(self.text) and self.text[self.pos] == '"':
            return self.quoted()
        return self.unquoted()

    def quoted(self) -> Literal:
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while True:
            if self.at_end():
                raise self.error(f"Unterminated quoted string (opened at column {start + 1})", start)
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                break
            if char == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                if nxt in _ESCAPED_SPACE:
                    chars.append(_ESCAPED_SPACE[nxt])
                    self.pos += 2
                    continue
                if nxt in '\\"':
                    chars.append(nxt)
                    self.pos += 2
                    continue
            chars.append(char)
            self.pos += 1
        text = "".join(chars)
        return Literal(text, True, start, ((text, False),))

    def unquoted(self) -> Literal:
        start = self.pos
        parts: list[tuple[str, bool]] = []
        chunk: list[str] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\\":
                if self.pos + 1 >= len(text):
                    raise self.error("Expected an escaped character after '\\' but end of input found")
                nxt = text[self.pos + 1]
                if nxt in _ESCAPED_SPACE:
                    chunk.append(_ESCAPED_SPACE[nxt])
                    self.pos += 2
                    continue
                if nxt in SPECIAL or nxt in SPACE:
                    chunk.append(nxt)
                    self.pos += 2
                    continue
                keyword = _ESCAPED_KEYWORD.match(text, self.pos)
                if keyword:
                    chunk.append(keyword.group(1))
                    self.pos = keyword.end()
                    continue
                raise self.error(f"Unknown escape '\\{nxt}': escape only \\ ( ) : < > \" * {{ }}, spaces and "
                                 "the keywords or, and, not")
            if char == "*":
                if chunk:
                    parts.append(("".join(chunk), False))
                    chunk = []
                parts.append(("*", True))
                self.pos += 1
                continue
            if char in SPECIAL or self.at_keyword(self.pos):
                break
            chunk.append(char)
            self.pos += 1
        if chunk:
            parts.append(("".join(chunk), False))
        # trailing spaces are not part of the value (Kibana trims unquoted literals)
        while parts and not parts[-1][1] and parts[-1][0] != parts[-1][0].rstrip(SPACE):
            stripped = parts[-1][0].rstrip(SPACE)
            parts[-1:] = [(stripped, False)] if stripped else []
        value = "".join(c for c, _ in parts)
        if not value and self.pos == start:
            raise self.error(f"Expected a field, a value or '(' but {self.found()}")
        return Literal(value, False, start, tuple(parts))


def parse_kql(text: str) -> Any:
    """The syntax tree of `text` (None when empty); raise KqlError with the position of a syntax error."""
    return _Parser(text or "").parse()


def kql_to_dsl(text: str) -> dict[str, Any]:
    """Elasticsearch query DSL for the KQL `text` (`match_all` when empty); KqlError on a syntax error."""
    tree = parse_kql(text)
    return MATCH_ALL if tree is None else _dsl(tree, None)


def query_to_dsl(query: Any) -> dict[str, Any]:
    """DSL of a saved object's query `{"language": "kuery"|"lucene", "query": …}` (or bare KQL text)."""
    if query is None:
        return MATCH_ALL
    if isinstance(query, str):
        return kql_to_dsl(query)
    language = str(query.get("language") or "kuery").lower()
    text = query.get("query")
    if isinstance(text, dict):  # older objects keep Lucene as DSL already
        return text or MATCH_ALL
    if not text or not str(text).strip():
        return MATCH_ALL
    if language == "lucene":
        return {"query_string": {"query": str(text), "analyze_wildcard": True, "lenient": True}}
    if language != "kuery":
        raise DashboardError(f"Unsupported query language {language!r} (KQL and Lucene are).")
    return kql_to_dsl(str(text))


# -- translation


def _dsl(node: Any, field: Literal | None) -> dict[str, Any]:
    if isinstance(node, Or):
        return {"bool": {"should": [_dsl(i, field) for i in node.items], "minimum_should_match": 1}}
    if isinstance(node, And):
        return {"bool": {"filter": [_dsl(i, field) for i in node.items]}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [_dsl(node.item, field)]}}
    if isinstance(node, FieldValue):
        return _dsl(node.value, node.field)
    if isinstance(node, Range):
        return _range(node)
    if isinstance(node, FreeText):
        return _free_text(node.value)
    if isinstance(node, Literal):
        assert field is not None
        return _field_value(field, node)
    raise TypeError(f"unknown KQL node {node!r}")


def _range(node: Range) -> dict[str, Any]:
    if node.field.wildcard:
        raise KqlError(node.field.text, 0, "A range needs one field, not a wildcard pattern")
    return {"range": {node.field.text: {node.operator: node.value.text}}}


def _free_text(value: Literal) -> dict[str, Any]:
    if value.only_wildcard:
        return MATCH_ALL
    if value.wildcard:
        return {"query_string": {"query": value.pattern(_QUERY_STRING_SPECIAL), "analyze_wildcard": True,
                                 "lenient": True}}
    kind = "phrase" if value.quoted else "best_fields"
    return {"multi_match": {"type": kind, "query": value.text, "lenient": True}}


_QUERY_STRING_SPECIAL = '\\+-=&|><!(){}[]^"~*?:/ '
_WILDCARD_SPECIAL = "\\*?"


def _field_value(field: Literal, value: Literal) -> dict[str, Any]:
    if field.only_wildcard:
        return _free_text(value)
    if field.wildcard:
        if value.only_wildcard:
            raise KqlError(field.text, 0, "'field*:*' (exists on a field pattern) is not supported")
        fields = [field.pattern("")]
        if value.wildcard:
            return {"query_string": {"fields": fields, "query": value.pattern(_QUERY_STRING_SPECIAL),
                                     "analyze_wildcard": True, "lenient": True}}
        kind = "phrase" if value.quoted else "best_fields"
        return {"multi_match": {"type": kind, "query": value.text, "fields": fields, "lenient": True}}
    name = field.text
    if value.only_wildcard:
        return {"exists": {"field": name}}
    if value.wildcard:
        return {"wildcard": {name: {"value": value.pattern(_WILDCARD_SPECIAL)}}}
    if value.quoted:
        return {"match_phrase": {name: value.text}}
    return {"match": {name: value.text}}
