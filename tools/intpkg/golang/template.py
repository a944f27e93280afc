"""A Go `text/template` implementation: lexer, parser and evaluator with Go semantics.

Data is plain Python (dict = Go map, list = slice, None = nil); objects expose Go methods under their
Go names (capitalised callables, e.g. `GoTime.Unix`); objects with `go_lookup`/`go_items` behave as Go
maps that also have methods (e.g. an HTTP header: `.header.Get "X"` and `.header.Link`).
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from intpkg.golang import fmt as gofmt

__all__ = ["Template", "TemplateError", "TemplateParseError", "TemplateExecError", "MISSING", "truth"]


class TemplateError(Exception):
    """Base class of template errors.

    `line`/`column` (1-based; 0 when not known) locate the error in the source; `reason` is the message
    without the `template: NAME:LINE:COL: ` prefix.
    """

    def __init__(self, message: str, *, line: int = 0, column: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.line, self.column, self.reason = line, column, reason or message


class TemplateParseError(TemplateError):
    """The template source is invalid; the message names line:col."""


class TemplateExecError(TemplateError):
    """Execution failed; `cause` holds the exception raised by a function, if any."""

    def __init__(self, message: str, cause: BaseException | None = None, *, line: int = 0, column: int = 0,
                 reason: str = "") -> None:
        super().__init__(message, line=line, column=column, reason=reason)
        self.cause = cause


class _Missing:
    """A Go invalid reflect.Value (missing map key with missingkey=default); prints "<no value>"."""

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()
NO_VALUE = "<no value>"

# --------------------------------------------------------------------------- lexer

_SPACE = " \t\r\n"


@dataclass
class Token:
    kind: str  # text, field, var, ident, string, number, char, bool, nil, dot, lparen, rparen,
    # pipe, declare, assign, comma, left, right, eof, keyword
    value: Any
    pos: int
    text: str = ""


_KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]+(?:\.[0-9a-fA-F_]*)?(?:[pP][+-]?\d+)?|0[bB][01_]+|0[oO][0-7_]+|"
    r"(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)i?"
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _line_col(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    col = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return line, col


class _Lexer:
    def __init__(self, source: str, left: str, right: str, name: str):
        self.src = source
        self.left = left
        self.right = right
        self.name = name
        self.tokens: list[Token] = []

    def error(self, pos: int, message: str) -> TemplateParseError:
        line, col = _line_col(self.src, pos)
        return TemplateParseError(f"template: {self.name}:{line}:{col}: {message}", line=line, column=col,
                                  reason=message)

    def run(self) -> list[Token]:
        src, pos = self.src, 0
        trim_next = False
        while True:
            start = src.find(self.left, pos)
            text_end = len(src) if start < 0 else start
            text = src[pos:text_end]
            if trim_next:
                text = text.lstrip(_SPACE)
                trim_next = False
            if start < 0:
                if text:
                    self.tokens.append(Token("text", text, pos))
                break
            after = start + len(self.left)
            trim_left = src.startswith("-", after) and after + 1 < len(src) and src[after + 1] in _SPACE
            if trim_left:
                text = text.rstrip(_SPACE)
                after += 2
            if text:
                self.tokens.append(Token("text", text, pos))
            if src.startswith("/*", after):
                cend = src.find("*/", after + 2)
                if cend < 0:
                    raise self.error(start, "unclosed comment")
                cend += 2
                if src.startswith(self.right, cend):
                    pos, trim_next = cend + len(self.right), False
                elif cend < len(src) and src[cend] in _SPACE and src.startswith("-" + self.right, cend + 1):
                    pos, trim_next = cend + 2 + len(self.right), True
                else:
                    raise self.error(after, "comment ends before closing delimiter")
                continue
            self.tokens.append(Token("left", None, start))
            pos, trim_next = self._lex_action(after)
        self.tokens.append(Token("eof", None, len(src)))
        return self.tokens

    def _lex_action(self, pos: int) -> tuple[int, bool]:
        src, right = self.src, self.right
        paren = 0
        while True:
            if pos >= len(src):
                raise self.error(pos, "unclosed action")
            # right delimiter, possibly with trim marker
            if src[pos] in _SPACE:
                end = pos
                while end < len(src) and src[end] in _SPACE:
                    end += 1
                if src.startswith("-" + right, end - 0) and end > pos:
                    if paren:
                        raise self.error(pos, "unclosed left paren")
                    self.tokens.append(Token("right", None, end))
                    return end + 1 + len(right), True
                self.tokens.append(Token("space", None, pos))
                pos = end
                continue
            if src.startswith(right, pos):
                if paren:
                    raise self.error(pos, "unclosed left paren")
                self.tokens.append(Token("right", None, pos))
                return pos + len(right), False
            c = src[pos]
            if src.startswith("/*", pos):
                raise self.error(pos, "comment must be alone in an action")
            if c == '"':
                end = pos + 1
                while True:
                    if end >= len(src) or src[end] == "\n":
                        raise self.error(pos, "unterminated quoted string")
                    if src[end] == "\\":
                        end += 2
                        continue
                    if src[end] == '"':
                        break
                    end += 1
                raw = src[pos:end + 1]
                self.tokens.append(Token("string", _unquote(raw, self, pos), pos, raw))
                pos = end + 1
            elif c == "`":
                end = src.find("`", pos + 1)
                if end < 0:
                    raise self.error(pos, "unterminated raw quoted string")
                self.tokens.append(Token("string", src[pos + 1:end], pos, src[pos:end + 1]))
                pos = end + 1
            elif c == "'":
                match = re.match(r"'(\\.[^']*|[^'\\])'", src[pos:])
                if not match:
                    raise self.error(pos, "unterminated character constant")
                value = _unquote('"' + match.group(1) + '"', self, pos)
                self.tokens.append(Token("number", ord(value[0]), pos, match.group()))
                pos += match.end()
            elif c == "$":
                match = _IDENT.match(src, pos + 1)
                name = "$" + (match.group() if match else "")
                self.tokens.append(Token("var", name, pos))
                pos += len(name)
            elif c == "." and not _is_digit_at(src, pos + 1):
                match = _IDENT.match(src, pos + 1)
                if match:
                    self.tokens.append(Token("field", match.group(), pos))
                    pos = match.end()
                else:
                    self.tokens.append(Token("dot", None, pos))
                    pos += 1
            elif c.isdigit() or (c in "+-." and _is_digit_at(src, pos + 1)) or \
                    (c in "+-" and src.startswith(".", pos + 1) and _is_digit_at(src, pos + 2)):
                match = _NUMBER.match(src, pos)
                if not match:
                    raise self.error(pos, f"bad number syntax: {src[pos:pos + 10]!r}")
                text = match.group()
                nxt = match.end()
                if nxt < len(src) and (src[nxt].isalnum() or src[nxt] == "_"):
                    raise self.error(pos, f'bad number syntax: "{text}{src[nxt]}"')
                self.tokens.append(Token("number", _parse_number(text, self, pos), pos, text))
                pos = nxt
            elif c == "(":
                paren += 1
                self.tokens.append(Token("lparen", None, pos))
                pos += 1
            elif c == ")":
                paren -= 1
                if paren < 0:
                    raise self.error(pos, "unexpected right paren")
                self.tokens.append(Token("rparen", None, pos))
                pos += 1
            elif c == "|":
                self.tokens.append(Token("pipe", None, pos))
                pos += 1
            elif c == ",":
                self.tokens.append(Token("comma", None, pos))
                pos += 1
            elif src.startswith(":=", pos):
                self.tokens.append(Token("declare", None, pos))
                pos += 2
            elif c == "=":
                self.tokens.append(Token("assign", None, pos))
                pos += 1
            elif c.isalpha() or c == "_":
                match = _IDENT.match(src, pos)
                word = match.group()
                if word in ("true", "false"):
                    self.tokens.append(Token("bool", word == "true", pos, word))
                elif word == "nil":
                    self.tokens.append(Token("nil", None, pos, word))
                elif word in _KEYWORDS:
                    self.tokens.append(Token("keyword", word, pos, word))
                else:
                    self.tokens.append(Token("ident", word, pos, word))
                pos = match.end()
            else:
                raise self.error(pos, f"unrecognized character in action: {c!r}")


def _is_digit_at(src: str, pos: int) -> bool:
    return pos < len(src) and src[pos].isdigit()


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
            '"': '"', "'": "'"}


def _unquote(raw: str, lexer: _Lexer, pos: int) -> str:
    body = raw[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "x":
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        elif nxt == "u":
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif nxt == "U":
            out.append(chr(int(body[i + 2:i + 10], 16)))
            i += 10
        elif nxt in "01234567":
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            raise lexer.error(pos, f"invalid syntax in quoted string {raw}")
    return "".join(out)


def _parse_number(text: str, lexer: _Lexer, pos: int) -> int | float:
    if text.endswith("i"):
        raise lexer.error(pos, f"complex numbers are not supported: {text}")
    clean = text.replace("_", "")
    try:
        if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", clean):
            return int(clean, 16)
        if re.fullmatch(r"[+-]?0[bB][01]+", clean):
            return int(clean, 2)
        if re.fullmatch(r"[+-]?0[oO][0-7]+", clean):
            return int(clean, 8)
        if re.fullmatch(r"[+-]?0[0-7]+", clean):
            return int(clean, 8)
        if re.fullmatch(r"[+-]?\d+", clean):
            return int(clean)
        if clean.lower().startswith(("0x", "+0x", "-0x")):
            return float.fromhex(clean)
        value = float(clean)
        return int(value) if value.is_integer() and "e" not in clean.lower() and "." not in clean else value
    except ValueError:
        raise lexer.error(pos, f"bad number syntax: {text}") from None


# --------------------------------------------------------------------------- parse tree


@dataclass
class Node:
    pos: int


@dataclass
class TextNode(Node):
    text: str


@dataclass
class FieldNode(Node):
    names: list[str]


@dataclass
class VariableNode(Node):
    names: list[str]  # names[0] is "$x"


@dataclass
class DotNode(Node):
    pass


@dataclass
class NilNode(Node):
    pass


@dataclass
class LiteralNode(Node):
    value: Any
    text: str = ""  # as written in the source


@dataclass
class IdentifierNode(Node):
    name: str


@dataclass
class ChainNode(Node):
    node: Node
    names: list[str]


@dataclass
class CommandNode(Node):
    args: list[Node]


@dataclass
class PipeNode(Node):
    decls: list[str]
    is_assign: bool
    cmds: list[CommandNode]


@dataclass
class ActionNode(Node):
    pipe: PipeNode


@dataclass
class ListNode(Node):
    nodes: list[Node] = field(default_factory=list)


@dataclass
class BranchNode(Node):
    kind: str  # if, with, range
    pipe: PipeNode
    body: ListNode
    else_body: ListNode | None


@dataclass
class TemplateCallNode(Node):
    name: str
    pipe: PipeNode | None


@dataclass
class BreakNode(Node):
    pass


@dataclass
class ContinueNode(Node):
    pass


def node_text(node: Node) -> str:
    """Go's `Node.String()` of an expression node, as error messages quote it."""
    if isinstance(node, LiteralNode):
        return node.text
    if isinstance(node, DotNode):
        return "."
    if isinstance(node, NilNode):
        return "nil"
    if isinstance(node, FieldNode):
        return "".join(f".{name}" for name in node.names)
    if isinstance(node, VariableNode):
        return ".".join(node.names)
    if isinstance(node, IdentifierNode):
        return node.name
    if isinstance(node, ChainNode):
        return _operand_text(node.node) + "".join(f".{name}" for name in node.names)
    if isinstance(node, CommandNode):
        return " ".join(_operand_text(arg) for arg in node.args)
    if isinstance(node, PipeNode):
        decls = f"{', '.join(node.decls)} {'=' if node.is_assign else ':='} " if node.decls else ""
        return decls + " | ".join(node_text(cmd) for cmd in node.cmds)
    return type(node).__name__


def _operand_text(node: Node) -> str:
    return f"({node_text(node)})" if isinstance(node, PipeNode) else node_text(node)


class _Parser:
    def __init__(self, tokens: list[Token], lexer: _Lexer, funcs: dict[str, Callable]):
        self.tokens = tokens
        self.i = 0
        self.lexer = lexer
        self.funcs = funcs
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.defines: dict[str, ListNode] = {}

    def error(self, tok: Token, message: str) -> TemplateParseError:
        return self.lexer.error(tok.pos, message)

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def next_non_space(self) -> Token:
        tok = self.next()
        while tok.kind == "space":
            tok = self.next()
        return tok

    def peek_non_space(self) -> Token:
        j = self.i
        while self.tokens[j].kind == "space":
            j += 1
        return self.tokens[j]

    def expect(self, kind: str, context: str) -> Token:
        tok = self.next_non_space()
        if tok.kind != kind:
            raise self.error(tok, f"unexpected {self._describe(tok)} in {context}")
        return tok

    @staticmethod
    def _describe(tok: Token) -> str:
        if tok.kind == "right":
            return "right delimiter"
        if tok.kind == "eof":
            return "EOF"
        return f'"{tok.text or tok.value or tok.kind}"'

    # top level
    def parse(self) -> ListNode:
        root, end = self.item_list(top=True)
        return root

    def item_list(self, top: bool = False) -> tuple[ListNode, str]:
        """Parse until {{end}} / {{else}} (returned as the terminator) or EOF."""
        nodes = ListNode(self.peek().pos)
        while True:
            tok = self.peek()
            if tok.kind == "eof":
                if not top:
                    raise self.error(tok, "unexpected EOF")
                return nodes, "eof"
            if tok.kind == "text":
                self.next()
                nodes.nodes.append(TextNode(tok.pos, tok.value))
                continue
            self.next()  # left delim
            word = self.peek_non_space()
            if word.kind == "keyword" and word.value in ("end", "else"):
                if top:
                    raise self.error(word, f"unexpected {{{{{word.value}}}}}")
                self.next_non_space()
                if word.value == "end":
                    self.expect("right", "end")
                return nodes, word.value
            node = self.action()
            if node is not None:
                nodes.nodes.append(node)

    def action(self) -> Node | None:
        tok = self.peek_non_space()
        if tok.kind == "keyword":
            self.next_non_space()
            kw = tok.value
            if kw in ("if", "with", "range"):
                return self.branch(kw, tok)
            if kw == "break" or kw == "continue":
                if not self.range_depth:
                    raise self.error(tok, f"{{{{{kw}}}}} outside {{{{range}}}}")
                self.expect("right", kw)
                return BreakNode(tok.pos) if kw == "break" else ContinueNode(tok.pos)
            if kw in ("template", "block"):
                return self.template_call(kw, tok)
            if kw == "define":
                name_tok = self.expect("string", "define clause")
                self.expect("right", "define clause")
                self.define(kw, tok, name_tok.value)
                return None
        pipe = self.pipeline("command", allow_decl=True)
        return ActionNode(tok.pos, pipe)

    def template_call(self, kw: str, tok: Token) -> Node:
        name_tok = self.expect("string", f"{kw} clause")
        pipe = None
        if self.peek_non_space().kind != "right":
            pipe = self.pipeline(kw, allow_decl=False)
        else:
            self.expect("right", kw)
        node = TemplateCallNode(tok.pos, name_tok.value, pipe)
        if kw == "block":
            self.define(kw, tok, name_tok.value)
        return node

    def define(self, kw: str, tok: Token, name: str) -> None:
        """The body of `{{define}}`/`{{block}}` up to its `{{end}}`, as template `name` (own variables)."""
        saved = self.vars
        self.vars = ["$"]
        body, end = self.item_list()
        self.vars = saved
        if end != "end":
            raise self.error(tok, f"unexpected {{{{else}}}} in {kw}")
        self.defines[name] = body

    def branch(self, kind: str, tok: Token) -> BranchNode:
        mark = len(self.vars)
        pipe = self.pipeline(kind, allow_decl=True, allow_two=(kind == "range"))
        if kind == "range":
            self.range_depth += 1
        body, end = self.item_list()
        if kind == "range":
            self.range_depth -= 1
        else_body = None
        if end == "else":
            nxt = self.peek_non_space()
            if nxt.kind == "keyword" and nxt.value == kind and kind in ("if", "with"):
                # {{if}}..{{else if}} / {{with}}..{{else with}}: a nested branch closed by the same {{end}}
                self.next_non_space()
                nested = self.branch(nxt.value, nxt)
                else_body = ListNode(nxt.pos, [nested])
            else:
                self.expect("right", "else")
                else_body, end2 = self.item_list()
                if end2 != "end":
                    raise self.error(tok, f"expected end; found {{{{else}}}} in {kind}")
        del self.vars[mark:]
        return BranchNode(tok.pos, kind, pipe, body, else_body)

    def pipeline(self, context: str, allow_decl: bool, allow_two: bool = False) -> PipeNode:
        start = self.peek_non_space()
        decls: list[str] = []
        is_assign = False
        if allow_decl and start.kind == "var":
            save = self.i
            v = self.next_non_space()
            nxt = self.peek_non_space()
            if nxt.kind in ("declare", "assign"):
                self.next_non_space()
                decls = [v.value]
                is_assign = nxt.kind == "assign"
            elif nxt.kind == "comma" and allow_two:
                self.next_non_space()
                v2 = self.expect("var", "range declaration")
                op = self.next_non_space()
                if op.kind not in ("declare", "assign"):
                    raise self.error(op, "expected := or = after range variables")
                decls = [v.value, v2.value]
                is_assign = op.kind == "assign"
            elif nxt.kind == "comma":
                raise self.error(nxt, f"too many declarations in {context}")
            else:
                self.i = save
            if decls:
                if is_assign:
                    for name in decls:
                        if name not in self.vars:
                            raise self.error(start, f"undefined variable \"{name}\"")
                else:
                    self.vars.extend(decls)
        cmds: list[CommandNode] = []
        while True:
            tok = self.peek_non_space()
            if tok.kind in ("right", "rparen"):
                closing = self.next_non_space()
                if closing.kind == "rparen" and context != "paren":
                    raise self.error(closing, "unexpected right paren")
                if closing.kind == "right" and context == "paren":
                    raise self.error(closing, "unclosed left paren")
                break
            cmds.append(self.command(context))
        if not cmds:
            raise self.error(start, f"missing value for {context}")
        for stage, cmd in enumerate(cmds[1:], start=2):
            if isinstance(cmd.args[0], (LiteralNode, NilNode, DotNode)):
                raise self.lexer.error(cmd.pos, f"non executable command in pipeline stage {stage}")
        return PipeNode(start.pos, decls, is_assign, cmds)

    def command(self, context: str) -> CommandNode:
        args: list[Node] = []
        start = self.peek_non_space()
        while True:
            tok = self.peek_non_space()
            if tok.kind in ("right", "rparen"):
                break
            if tok.kind == "pipe":
                self.next_non_space()
                if not args:
                    raise self.error(tok, "missing command")
                return CommandNode(start.pos, args)
            if args and self.peek().kind != "space":
                raise self.error(self.peek(), f"missing space? unexpected {self._describe(self.peek())}")
            self.next_non_space()
            args.append(self.operand(tok))
        if not args:
            raise self.error(start, "empty command")
        return CommandNode(start.pos, args)

    def operand(self, tok: Token) -> Node:
        node = self.term(tok)
        if self.peek().kind == "field":
            names = []
            while self.peek().kind == "field":
                names.append(self.next().value)
            if isinstance(node, FieldNode):
                return FieldNode(node.pos, node.names + names)
            if isinstance(node, VariableNode):
                return VariableNode(node.pos, node.names + names)
            if isinstance(node, (LiteralNode, NilNode)):
                raise self.error(tok, f"unexpected . after term {tok.text!r}")
            return ChainNode(tok.pos, node, names)
        return node

    def term(self, tok: Token) -> Node:
        kind = tok.kind
        if kind == "field":
            names = [tok.value]
            return FieldNode(tok.pos, names)
        if kind == "var":
            if tok.value not in self.vars:
                raise self.error(tok, f'undefined variable "{tok.value}"')
            return VariableNode(tok.pos, [tok.value])
        if kind == "dot":
            return DotNode(tok.pos)
        if kind == "nil":
            return NilNode(tok.pos)
        if kind in ("string", "number", "bool"):
            return LiteralNode(tok.pos, tok.value, tok.text)
        if kind == "ident":
            if tok.value not in self.funcs and tok.value not in BUILTINS:
                raise self.error(tok, f'function "{tok.value}" not defined')
            return IdentifierNode(tok.pos, tok.value)
        if kind == "lparen":
            pipe = self.pipeline("paren", allow_decl=True)
            return pipe
        raise self.error(tok, f"unexpected {self._describe(tok)} in operand")


# --------------------------------------------------------------------------- values


def truth(value: Any) -> bool:
    """Go's notion of a non-empty value (structs/objects are always true)."""
    if value is None or value is MISSING:
        return False
    if isinstance(value, (bool, int, float, str, list, tuple, dict, bytes)):
        return bool(value)
    if hasattr(value, "go_items"):
        return bool(value.go_items())
    return True


def go_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def go_type_name(value: Any) -> str:
    if value is None or value is MISSING:
        return "<nil>"
    return {"bool": "bool", "int": "int", "float": "float64", "string": "string"}.get(
        go_kind(value),
        "[]interface {}" if isinstance(value, (list, tuple)) else
        "map[string]interface {}" if isinstance(value, dict) else type(value).__name__,
    )


def _go_methods(obj: Any, name: str) -> Callable | None:
    if obj is None or type(obj) in (dict, list, tuple, str, int, float, bool):
        return None
    if not name[:1].isupper():
        return None
    attr = getattr(type(obj), name, None)
    if attr is None or not callable(attr):
        return None
    return getattr(obj, name)


# --------------------------------------------------------------------------- builtins


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


def _incompatible(a: Any, b: Any) -> TemplateExecError:
    return TemplateExecError(f"incompatible types for comparison: {go_type_name(a)} and {go_type_name(b)}")


def _eq_one(a: Any, b: Any) -> bool:
    ka, kb = go_kind(a), go_kind(b)
    if ka != "other" and kb != "other":
        if ka != kb:
            raise _incompatible(a, b)
        return a == b
    for value in (a, b):
        if isinstance(value, (list, tuple, dict)):
            raise TemplateExecError(f"non-comparable type {go_type_name(value)}")
    a_nil, b_nil = a is None or a is MISSING, b is None or b is MISSING
    if a_nil or b_nil:
        return a_nil and b_nil
    if ka != kb:
        raise _incompatible(a, b)
    return a == b


def _lt_one(a: Any, b: Any) -> bool:
    ka, kb = go_kind(a), go_kind(b)
    if "other" in (ka, kb) or "bool" in (ka, kb):
        raise TemplateExecError("invalid type for comparison")
    if ka != kb:
        raise _incompatible(a, b)
    return a < b


def _eq(arg1, *args):
    if not args:
        raise TemplateExecError("missing argument for comparison")
    return any(_eq_one(arg1, arg) for arg in args)


def _ne(a, b):
    return not _eq_one(a, b)


def _lt(a, b):
    return _lt_one(a, b)


def _le(a, b):
    return _lt_one(a, b) or _eq_one(a, b)


def _gt(a, b):
    return not _le(a, b)


def _ge(a, b):
    return not _lt(a, b)


def _len(value):
    if value is None or value is MISSING:
        raise TemplateExecError("len of nil pointer")
    if hasattr(value, "go_items"):
        return len(value.go_items())
    if isinstance(value, (str, list, tuple, dict, bytes)):
        return len(value.encode() if isinstance(value, str) else value)
    raise TemplateExecError(f"len of type {go_type_name(value)}")


def _index(item, *indexes):
    for idx in indexes:
        if item is None or item is MISSING:
            raise TemplateExecError("index of untyped nil")
        if isinstance(item, dict) or hasattr(item, "go_lookup"):
            if not isinstance(idx, str) and isinstance(item, dict):
                raise TemplateExecError(f"value has type {go_type_name(idx)}; should be string")
            if isinstance(item, dict):
                item = item.get(idx, MISSING)
            else:
                found, value = item.go_lookup(idx)
                item = value if found else MISSING
        elif isinstance(item, (list, tuple, str)):
            if not isinstance(idx, int) or isinstance(idx, bool):
                raise TemplateExecError(f"cannot index slice/array with type {go_type_name(idx)}")
            seq = item.encode() if isinstance(item, str) else item
            if not 0 <= idx < len(seq):
                raise TemplateExecError(f"index out of range: {idx}")
            item = seq[idx]
        else:
            raise TemplateExecError(f"can't index item of type {go_type_name(item)}")
    return item


def _slice(item, *indexes):
    if not isinstance(item, (list, tuple, str)):
        raise TemplateExecError(f"can't slice item of type {go_type_name(item)}")
    if len(indexes) > 3 or (len(indexes) == 3 and isinstance(item, str)):
        raise TemplateExecError("too many slice indexes")
    size = len(item.encode()) if isinstance(item, str) else len(item)
    idx = [int(i) for i in indexes]
    for i in idx:
        if i < 0 or i > size:
            raise TemplateExecError(f"index out of range: {i}")
    start = idx[0] if idx else 0
    end = idx[1] if len(idx) > 1 else size
    if start > end:
        raise TemplateExecError(f"invalid slice index: {start} > {end}")
    if isinstance(item, str):
        return item.encode()[start:end].decode(errors="replace")
    return item[start:end]


def _not(value):
    return not truth(value)


def _print(*args):
    return gofmt.sprint(*args)


def _println(*args):
    return gofmt.sprintln(*args)


def _printf(fmt, *args):
    return gofmt.sprintf(fmt, *args)


def _eval_args_string(args) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return gofmt.sprint(*args)


def _urlquery(*args):
    return quote_plus(_eval_args_string(args), safe="")


def _html_escape(*args):
    text = _eval_args_string(args)
    return _html.escape(text, quote=True).replace("&#x27;", "&#39;").replace("&quot;", "&#34;").replace(
        "\x00", "\ufffd")


def _js_escape(*args):
    out = []
    for ch in _eval_args_string(args):
        if ch == "\\":
            out.append("\\\\")
        elif ch in "'\"":
            out.append("\\" + ch)
        elif ch in "<>&=":
            out.append(f"\\u{ord(ch):04X}")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _call(fn, *args):
    if not callable(fn):
        raise TemplateExecError(f"non-function of type {go_type_name(fn)}")
    return fn(*args)


BUILTINS: dict[str, Callable] = {
    "and": None, "or": None,  # short-circuit: handled by the evaluator
    "not": _not, "len": _len, "index": _index, "slice": _slice, "print": _print, "printf": _printf,
    "println": _println, "urlquery": _urlquery, "html": _html_escape, "js": _js_escape, "call": _call,
    "eq": _eq, "ne": _ne, "lt": _lt, "le": _le, "gt": _gt, "ge": _ge,
}

# --------------------------------------------------------------------------- evaluation


class _State:
    def __init__(self, template: Template, out: list[str]):
        self.t = template
        self.out = out
        # (name, value, boxed): boxed values were taken out of a map or slice, so Go sees `interface {}`
        self.vars: list[tuple[str, Any, bool]] = []
        self.boxed_dot = False
        self.depth = 0

    def error(self, node: Node, message: str, cause: BaseException | None = None) -> TemplateExecError:
        line, col = _line_col(self.t.source, node.pos)
        return TemplateExecError(f"template: {self.t.name}:{line}:{col}: executing \"{self.t.name}\": "
                                 f"{message}", cause, line=line, column=col, reason=message)

    def var(self, name: str) -> tuple[Any, bool]:
        """(value, boxed) of the innermost variable `name`."""
        for vname, value, boxed in reversed(self.vars):
            if vname == name:
                return value, boxed
        raise TemplateExecError(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any, boxed: bool = False) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value, boxed)
                return
        raise TemplateExecError(f"undefined variable: {name}")

    # walk
    def walk(self, dot: Any, node: Node) -> None:
        if isinstance(node, TextNode):
            self.out.append(node.text)
        elif isinstance(node, ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decls:
                self.out.append(self.printable(node, value))
        elif isinstance(node, ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, BranchNode):
            self.walk_branch(dot, node)
        elif isinstance(node, BreakNode):
            raise _Break()
        elif isinstance(node, ContinueNode):
            raise _Continue()
        elif isinstance(node, TemplateCallNode):
            body = self.t.defines.get(node.name)
            if body is None:
                raise self.error(node, f'no such template "{node.name}"')
            new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe else None
            self.depth += 1
            if self.depth > 1000:
                raise self.error(node, "exceeded maximum template depth (1000)")
            saved, saved_boxed = self.vars, self.boxed_dot
            self.vars, self.boxed_dot = [("$", new_dot, False)], False
            try:
                self.walk(new_dot, body)
            finally:
                self.vars, self.boxed_dot = saved, saved_boxed
                self.depth -= 1
        else:  # pragma: no cover - parser produces only the nodes above
            raise self.error(node, f"unknown node {type(node).__name__}")

    def walk_list(self, dot: Any, body: ListNode) -> None:
        mark = len(self.vars)
        try:
            self.walk(dot, body)
        finally:
            del self.vars[mark:]

    def walk_new_dot(self, dot: Any, boxed: bool, body: ListNode) -> None:
        """Walk `body` with a new dot; `boxed` when it is an element of a map or slice."""
        saved, self.boxed_dot = self.boxed_dot, boxed
        try:
            self.walk_list(dot, body)
        finally:
            self.boxed_dot = saved

    def walk_branch(self, dot: Any, node: BranchNode) -> None:
        mark = len(self.vars)
        try:
            if node.kind == "range":
                self.walk_range(dot, node)
                return
            value = self.eval_pipeline(dot, node.pipe)
            if truth(value) and node.kind == "with":
                self.walk_new_dot(value, False, node.body)
            elif truth(value):
                self.walk_list(dot, node.body)
            elif node.else_body is not None:
                self.walk_list(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: BranchNode) -> None:
        pipe = node.pipe
        value = self.eval_pipeline(dot, PipeNode(pipe.pos, [], False, pipe.cmds))
        boxed = isinstance(value, (dict, list, tuple))  # elements of Go's map[string]interface {}, []interface {}
        if hasattr(value, "go_items"):
            value = dict(value.go_items())
        if isinstance(value, dict):
            items = [(k, value[k]) for k in sorted(value, key=_sort_key)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if pipe.decls and len(pipe.decls) > 1:
                raise self.error(node, "can't use two iteration variables when ranging over an int")
            items = [(i, i) for i in range(value)]
        elif value is None or value is MISSING:
            items = []
        else:
            raise self.error(node, f"range can't iterate over {gofmt.sprint(value)}")
        if not items:
            if node.else_body is not None:
                self.walk_list(dot, node.else_body)
            return
        mark = len(self.vars)
        for key, elem in items:
            if pipe.decls:
                if len(pipe.decls) == 1:
                    assignments = [(pipe.decls[0], elem, boxed)]
                else:
                    assignments = [(pipe.decls[0], key, False), (pipe.decls[1], elem, boxed)]
                for name, val, val_boxed in assignments:
                    if pipe.is_assign:
                        self.set_var(name, val, val_boxed)
                    else:
                        self.vars.append((name, val, val_boxed))
            try:
                self.walk_new_dot(elem, boxed, node.body)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[mark:]

    # pipelines
    def eval_pipeline(self, dot: Any, pipe: PipeNode) -> Any:
        value: Any = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for name in pipe.decls:
            if pipe.is_assign:
                try:
                    self.set_var(name, value)
                except TemplateExecError as exc:
                    raise self.error(pipe, str(exc)) from None
            else:
                self.vars.append((name, value, False))
        return value

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            return self.eval_field_chain(dot, dot, first, first.names, cmd.args, final, self.boxed_dot)
        if isinstance(first, ChainNode):
            receiver = self.eval_arg(dot, first.node)
            return self.eval_field_chain(dot, receiver, first, first.names, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, VariableNode):
            value, boxed = self.lookup_var(first, first.names[0])
            if len(first.names) == 1:
                self.not_function(first, cmd.args, final)
                return value
            return self.eval_field_chain(dot, value, first, first.names[1:], cmd.args, final, boxed)
        if isinstance(first, PipeNode):
            self.not_function(first, cmd.args, final)
            return self.eval_pipeline(dot, first)
        self.not_function(first, cmd.args, final)
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            raise self.error(first, "nil is not a command")
        if isinstance(first, LiteralNode):
            return first.value
        raise self.error(first, "can't evaluate command")

    def not_function(self, node: Node, args: list[Node], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            raise self.error(node, f"can't give argument to non-function {node_text(node)}")

    def lookup_var(self, node: Node, name: str) -> tuple[Any, bool]:
        try:
            return self.var(name)
        except TemplateExecError as exc:
            raise self.error(node, str(exc)) from None

    def eval_arg(self, dot: Any, node: Node) -> Any:
        if isinstance(node, DotNode):
            return dot
        if isinstance(node, NilNode):
            return None
        if isinstance(node, LiteralNode):
            return node.value
        if isinstance(node, FieldNode):
            return self.eval_field_chain(dot, dot, node, node.names, [node], _NO_FINAL, self.boxed_dot)
        if isinstance(node, VariableNode):
            value, boxed = self.lookup_var(node, node.names[0])
            if len(node.names) == 1:
                return value
            return self.eval_field_chain(dot, value, node, node.names[1:], [node], _NO_FINAL, boxed)
        if isinstance(node, PipeNode):
            return self.eval_pipeline(dot, node)
        if isinstance(node, IdentifierNode):
            return self.eval_function(dot, node, CommandNode(node.pos, [node]), [node], _NO_FINAL)
        if isinstance(node, ChainNode):
            receiver = self.eval_arg(dot, node.node)
            return self.eval_field_chain(dot, receiver, node, node.names, [node], _NO_FINAL)
        raise self.error(node, f"can't handle {type(node).__name__} as argument")

    def eval_field_chain(self, dot, receiver, node, names, args, final, boxed=False):
        """`receiver.names...`; `boxed`: the receiver came out of a map or slice (Go type `interface {}`)."""
        for name in names[:-1]:
            found = self.eval_field(dot, name, node, receiver, [], _NO_FINAL, boxed)
            receiver, boxed = found, isinstance(receiver, dict)
        return self.eval_field(dot, names[-1], node, receiver, args, final, boxed)

    def eval_field(self, dot, name, node, receiver, args, final, boxed=False):
        if receiver is None or receiver is MISSING:
            raise self.error(node, f"nil pointer evaluating interface {{}}.{name}")
        method = _go_methods(receiver, name)
        if method is not None:
            call_args = [self.eval_arg(dot, a) for a in args[1:]]
            if final is not _NO_FINAL:
                call_args.append(final)
            return self.call(node, name, method, call_args)
        has_args = len(args) > 1 or final is not _NO_FINAL
        if isinstance(receiver, dict) or hasattr(receiver, "go_lookup"):
            if has_args:
                raise self.error(node, f"{name} is not a method but has arguments")
            if isinstance(receiver, dict):
                if name in receiver:
                    return receiver[name]
            else:
                found, value = receiver.go_lookup(name)
                if found:
                    return value
            if self.t.missingkey_error:
                raise self.error(node, f'map has no entry for key "{name}"')
            return MISSING
        # public data attributes of Python objects act as struct fields (any case, for convenience)
        if not isinstance(receiver, (list, tuple, str, int, float, bool)) and not name.startswith("_") and \
                hasattr(receiver, name) and not callable(getattr(receiver, name)):
            if has_args:
                raise self.error(node, f"{name} has arguments but cannot be invoked as function")
            return getattr(receiver, name)
        receiver_type = "interface {}" if boxed else go_type_name(receiver)
        raise self.error(node, f"can't evaluate field {name} in type {receiver_type}")

    def eval_function(self, dot, ident: IdentifierNode, cmd: CommandNode, args, final):
        name = ident.name
        if name in ("and", "or") and name not in self.t.funcs:
            operands = args[1:]
            if not operands and final is _NO_FINAL:
                raise self.error(ident, f"wrong number of args for {name}: want at least 1 got 0")
            value: Any = None
            for op in operands:
                value = self.eval_arg(dot, op)
                if truth(value) != (name == "and"):
                    return value
            if final is not _NO_FINAL:
                value = final
            return value
        fn = self.t.funcs.get(name) or BUILTINS.get(name)
        call_args = [self.eval_arg(dot, a) for a in args[1:]]
        if final is not _NO_FINAL:
            call_args.append(final)
        return self.call(ident, name, fn, call_args)

    def call(self, node: Node, name: str, fn: Callable, args: list[Any]) -> Any:
        args = [None if a is MISSING else a for a in args]
        try:
            result = fn(*args)
        except TemplateExecError as exc:
            raise self.error(node, f"error calling {name}: {exc}", exc.cause or exc) from None
        except TypeError as exc:
            raise self.error(node, f"wrong number or type of args for {name}: {exc}", exc) from None
        except (_Break, _Continue):
            raise
        except Exception as exc:  # a function's error becomes an execution error
            raise self.error(node, f"error calling {name}: {exc}", exc) from None
        return result

    def printable(self, node: Node, value: Any) -> str:
        if value is MISSING or value is None:
            return NO_VALUE
        if callable(value) and not hasattr(value, "String"):
            raise self.error(node, "can't print value of type func")
        return gofmt.sprint(value)


def _sort_key(key: Any) -> tuple:
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return (0, key, "")
    return (1, 0, str(key))


class _NoFinal:
    pass


def _lone_field_path(root: ListNode) -> list[str] | None:
    """The names of a template that is one action printing one field chain (`{{.a.b}}`), else None.

    Such templates (cursor values read for every event) print the string at that path of plain dicts
    unchanged; any other case (a missing key, another type, an object with methods) takes the walk.
    """
    if len(root.nodes) != 1 or not isinstance(root.nodes[0], ActionNode):
        return None
    pipe = root.nodes[0].pipe
    if pipe.decls or len(pipe.cmds) != 1 or len(pipe.cmds[0].args) != 1:
        return None
    arg = pipe.cmds[0].args[0]
    return list(arg.names) if isinstance(arg, FieldNode) else None


_NO_FINAL = _NoFinal()


# --------------------------------------------------------------------------- public API


class Template:
    """A parsed Go text/template; `execute(data)` renders it to a string."""

    def __init__(self, source: str, delims: tuple[str, str] = ("{{", "}}"), funcs: dict | None = None,
                 missingkey_error: bool = True, name: str = "") -> None:
        self.source = source
        self.name = name
        self.funcs: dict[str, Callable] = dict(funcs or {})
        self.missingkey_error = missingkey_error
        left, right = delims
        lexer = _Lexer(source, left or "{{", right or "}}", name)
        parser = _Parser(lexer.run(), lexer, self.funcs)
        self.root = parser.parse()
        self.defines = parser.defines
        self._field_path = _lone_field_path(self.root)

    def execute(self, data: Any = None) -> str:
        if self._field_path is not None:  # `{{.a.b}}` printing a string: read it without a walk
            value = data
            for name in self._field_path:
                if type(value) is not dict or name not in value:
                    break
                value = value[name]
            else:
                if type(value) is str:
                    return value
        out: list[str] = []
        state = _State(self, out)
        state.vars = [("$", data, False)]
        try:
            state.walk(data, self.root)
        except RecursionError:
            raise TemplateExecError(f"template: {self.name}: exceeded maximum template depth") from None
        return "".join(out)

    def __repr__(self) -> str:
        return f"Template({self.source!r})"
