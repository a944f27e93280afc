"""gorilla/mux templates (`/accounts/{account}/logs`, `{id:[0-9a-f]{32}}`) compiled to Python regexes."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class MuxPattern:
    """A compiled template: `match(text)` returns the variables or None."""

    template: str
    regex: re.Pattern[str]
    names: tuple[str, ...]

    def match(self, text: str) -> dict[str, str] | None:
        m = self.regex.fullmatch(text)
        if m is None:
            return None
        return {name: m.group(f"v{i}") for i, name in enumerate(self.names)}


def _brace_spans(template: str) -> list[tuple[int, int]]:
    """Outermost `{...}` spans (nested braces inside a variable's regex are allowed, as in mux)."""
    spans, depth, start = [], 0, -1
    for i, ch in enumerate(template):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
            elif depth < 0:
                raise ValueError(f"unbalanced braces in {template!r}")
    if depth != 0:
        raise ValueError(f"unbalanced braces in {template!r}")
    return spans


def compile_template(template: str, default_pattern: str) -> MuxPattern:
    """Compile a mux template; `default_pattern` is used for `{name}` without a regex."""
    parts: list[str] = []
    names: list[str] = []
    pos = 0
    for start, end in _brace_spans(template):
        parts.append(re.escape(template[pos:start]))
        name, _, pattern = template[start + 1:end - 1].partition(":")
        name = name.strip()
        if not name:
            raise ValueError(f"missing variable name in {template!r}")
        pattern = pattern or default_pattern
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regex {pattern!r} for variable {name!r}: {exc}") from None
        parts.append(f"(?P<v{len(names)}>{pattern})")
        names.append(name)
        pos = end
    parts.append(re.escape(template[pos:]))
    return MuxPattern(template, re.compile("".join(parts)), tuple(names))


def path_pattern(template: str) -> MuxPattern:
    """A route path: variables default to one segment (`[^/]+`)."""
    return compile_template(template, "[^/]+")


def query_pattern(template: str) -> MuxPattern:
    """A query value: variables default to anything (`.*`); literals must match exactly."""
    return compile_template(template, ".*")
