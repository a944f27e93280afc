"""handlebars.js running in V8 (PyPI `mini-racer`): render as Fleet does, parse, tokenize.

One `Engine` is one V8 context holding handlebars.js, Fleet's helpers (`fleet_helpers.js`) and the
entry points of `bridge.js`. Calls are serialized by the engine's lock, so threads may share it.
Values cross as JSON. `engine()` is the process's engine: made on first use (about 0.2 s)
and closed when the interpreter exits (an open context can keep the process from exiting).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from intpkg.errors import IntpkgError
from intpkg.handlebars.source import VERSION, HandlebarsUnavailable, handlebars_js

_SCRIPTS = ("fleet_helpers.js", "bridge.js")


class HandlebarsError(IntpkgError):
    """handlebars.js refused a template; `line` (1-based) and `column` (1-based) when it said where."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 token: str | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column, self.token = message, line, column, token


@dataclass(frozen=True)
class Token:
    """One token of handlebars' lexer (`kind` as its grammar names it: OPEN_BLOCK, ID, CLOSE, EOF...)."""

    kind: str
    text: str
    line: int
    column: int  # 1-based


@dataclass(frozen=True)
class Tokens:
    tokens: list[Token]
    error_offset: int | None = None  # where the lexer stopped on text it does not recognize
    error: str | None = None


class Engine:
    """handlebars.js (the file at `script`) in its own V8 context."""

    def __init__(self, script: Path) -> None:
        try:
            from py_mini_racer import MiniRacer
        except ImportError:
            raise HandlebarsUnavailable("the JavaScript engine for handlebars.js is missing: mini-racer is not "
                                        "installed (run scripts/setup.sh)") from None
        self._lock = threading.Lock()
        self._context = MiniRacer()
        try:
            self._context.eval(script.read_text(encoding="utf-8"))
            version = self._context.eval("typeof Handlebars === 'object' ? String(Handlebars.VERSION) : 'none'")
        except Exception as exc:  # mini-racer's JSEvalException, an unreadable file
            self.close()
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise HandlebarsUnavailable(f"{script} is not a usable handlebars.js: {reason}") from None
        if version != VERSION:
            self.close()
            raise HandlebarsUnavailable(f"{script} is not handlebars.js {VERSION}, the version Fleet uses "
                                        f"(Handlebars.VERSION: {version})")
        for name in _SCRIPTS:
            self._context.eval(resources.files("intpkg.handlebars").joinpath(name).read_text(encoding="utf-8"))
        self.version = version

    def _call(self, function: str, *args: Any) -> dict[str, Any]:
        with self._lock:
            if self._context is None:
                raise HandlebarsUnavailable("the handlebars.js engine is closed")
            return self._context.call(f"intpkg.{function}", *args, encoder=_Encoder)

    def render(self, source: str, context: Any) -> str:
        """`source` compiled as Fleet compiles it (`noEscape`, Fleet's helpers) and applied to `context`."""
        result = self._call("render", source, context)
        if "error" in result:
            raise _error(result["error"])
        return result["text"]

    def parse(self, source: str) -> dict[str, Any]:
        """`Handlebars.parse(source)`: the AST (nodes with `type` and `loc`); HandlebarsError if it does not parse."""
        result = self._call("parse", source)
        if "error" in result:
            raise _error(result["error"])
        return result["ast"]

    def tokens(self, source: str) -> Tokens:
        """handlebars' lexer over `source`, to EOF or to the first text it cannot tokenize."""
        result = self._call("tokens", source)
        tokens = [Token(kind, text, line, column + 1) for kind, text, line, column in result["tokens"]]
        error = result.get("error")
        return Tokens(tokens, error["offset"] if error else None, error["message"] if error else None)

    def close(self) -> None:
        context, self._context = self._context, None
        if context is not None:
            context.close()


_engine: Engine | None = None
_engine_pid: int | None = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    """The process's engine, loading handlebars.js (and provisioning it) on first use."""
    global _engine, _engine_pid
    with _engine_lock:
        if _engine is None or _engine_pid != os.getpid():  # a forked child cannot use its parent's V8
            _engine, _engine_pid = Engine(handlebars_js()), os.getpid()
            atexit.register(_engine.close)
        return _engine


class _Encoder(json.JSONEncoder):
    """Values JSON has no form for (dates from YAML, say) cross as their text."""

    def default(self, o: Any) -> Any:
        return str(o)


def _error(error: dict[str, Any]) -> HandlebarsError:
    column = error.get("column")
    return HandlebarsError(error.get("message") or "handlebars.js failed", error.get("line"),
                           column + 1 if isinstance(column, int) else None, error.get("token"))
