"""Why handlebars.js refused a template, in words a template author acts on.

handlebars' parser says where it stopped ("Parse error on line 3 ... Expecting 'OPEN_ENDBLOCK', got
'EOF'"), which for an unclosed block is the end of the file. `explain` reads handlebars' own lexer
tokens to name the cause at its place: the block never closed, a close that matches no open block,
an `{{else}}` outside a block, a tag missing its `}}`, a comment never closed, an empty tag. When the
tokens show none of these, the parser's own message and position stand.
"""

from __future__ import annotations

import re

from intpkg.handlebars import HandlebarsError, Token, engine

_OPENERS = {"OPEN", "OPEN_UNESCAPED", "OPEN_BLOCK", "OPEN_INVERSE", "OPEN_INVERSE_CHAIN", "OPEN_ENDBLOCK",
            "OPEN_PARTIAL", "OPEN_PARTIAL_BLOCK", "OPEN_RAW_BLOCK"}
_NAMED = {"OPEN_BLOCK", "OPEN_INVERSE", "OPEN_PARTIAL_BLOCK", "OPEN_ENDBLOCK"}  # tags that name their block
_CLOSERS = {"CLOSE": "}}", "CLOSE_UNESCAPED": "}}}", "CLOSE_RAW_BLOCK": "}}}}"}
_CLOSER_OF = {"OPEN_UNESCAPED": "}}}", "OPEN_RAW_BLOCK": "}}}}"}  # every other tag closes with }}
_POSITION_SUFFIX = re.compile(r" - \d+:\d+$")

Explanation = tuple[int, int, str]  # line, column (1-based), message


def explain(text: str, error: HandlebarsError) -> Explanation:
    """Where and why `text` does not parse, given the parser's `error` for it."""
    lexed = engine().tokens(text)
    found = _from_tokens(lexed.tokens)
    if found is not None:
        return found
    if lexed.error_offset is not None:
        line, column = _position(text, lexed.error_offset)
        if text.startswith("{{!", lexed.error_offset):
            return line, column, "unclosed comment {{!-- ... --}}"
        return line, column, (lexed.error or "unrecognized text").splitlines()[0]
    return _parser_error(lexed.tokens, error)


class _Walk:
    """Tags and blocks as the tokens open and close them; `found` is the first problem."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, Token]] = []  # open blocks: helper name, opening token
        self.tag: Token | None = None  # the opening token of the tag being read
        self.name: list[str] | None = None  # the helper name being read after a _NAMED opener
        self.previous: Token | None = None
        self.found: Explanation | None = None

    def step(self, token: Token) -> None:
        if self.name is not None:
            expected = "SEP" if len(self.name) % 2 else "ID"  # a path: ID (SEP ID)*
            if token.kind == expected:
                self.name.append(token.text)
            else:
                self._named()
        if self.found is None:
            self._token(token)
        self.previous = token

    def _token(self, token: Token) -> None:
        tag = self.tag
        if token.kind in _OPENERS or token.kind == "INVERSE":
            if tag is not None:
                self._at(tag, f"unclosed tag: missing {_closer(tag)!r}")
            elif token.kind in ("INVERSE", "OPEN_INVERSE_CHAIN") and not self.blocks:
                self._at(token, "{{else}} outside a block")
            elif token.kind != "INVERSE":  # {{else}} is a whole tag
                self.tag = token
                self.name = [] if token.kind in _NAMED else None
        elif token.kind in _CLOSERS and tag is not None:
            closer, expected = _CLOSERS[token.kind], _closer(tag)
            if self.previous is tag and tag.kind == "OPEN":
                self._at(tag, "empty tag {{}}")
            elif len(closer) < len(expected):
                self._at(tag, f"unclosed tag: missing {expected!r}")
            elif len(closer) > len(expected):
                self._at(token, f"{token.text!r} closes a tag opened with {tag.text!r}")
            self.tag = None
        elif token.kind == "EOF":
            if tag is not None:
                self._at(tag, f"unclosed tag: missing {_closer(tag)!r}")
            elif self.blocks:
                name, opened = self.blocks[-1]
                self._at(opened, f"{{{{#{name}}}}} is never closed")

    def _named(self) -> None:
        """The helper name of the current block tag is complete: open or close the block."""
        name, opener = "".join(self.name or []).rstrip("./"), self.tag
        self.name = None
        if opener is None:
            return
        if not name:
            self._at(opener, "block without a helper name")
        elif opener.kind != "OPEN_ENDBLOCK":
            self.blocks.append((name, opener))
        elif not self.blocks:
            self._at(opener, f"{{{{/{name}}}}} closes no open block")
        elif self.blocks[-1][0] != name:
            opened, at = self.blocks[-1]
            self._at(opener, f"{{{{/{name}}}}} closes {{{{#{opened}}}}} opened on line {at.line}")
        else:
            self.blocks.pop()

    def _at(self, token: Token, message: str) -> None:
        if self.found is None:
            self.found = (token.line, token.column, message)


def _closer(tag: Token) -> str:
    return _CLOSER_OF.get(tag.kind, "}}")


def _from_tokens(tokens: list[Token]) -> Explanation | None:
    walk = _Walk()
    for token in tokens:
        walk.step(token)
        if walk.found is not None:
            break
    return walk.found


def _parser_error(tokens: list[Token], error: HandlebarsError) -> Explanation:
    """The parser's message, placed at the token it could not take when the lexer shows it."""
    line, column = error.line or 1, error.column or 1
    for token in tokens:
        if token.kind == error.token and (token.line, token.column) >= (line, column):
            return token.line, token.column, f"{_plain(error.message)} ({token.text!r})"
    return line, column, _plain(error.message)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _plain(message: str) -> str:
    """handlebars' message without the excerpt and the position the problem already carries."""
    lines = message.splitlines()
    if lines and lines[0].startswith("Parse error"):
        expecting = [line for line in lines if line.startswith(("Expecting", "Unexpected"))]
        return "Parse error: " + (expecting[0] if expecting else lines[0].split(": ", 1)[-1])
    return _POSITION_SUFFIX.sub("", lines[0] if lines else message)
