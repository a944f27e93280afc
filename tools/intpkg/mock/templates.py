"""Go text/template responses of stream rules: functions and data as the stream image provides them.

The engine is `intpkg.golang.template`; this module only supplies the stream functions (`hostname`, `env`,
`sum`, `file`, `glob`, `minify_json`, `now`) and the request data (`.req_num`, `.request.*`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from intpkg.golang.httpvalues import Header, URLValues


class StaticTemplate:
    """A body/header without actions: rendered as is."""

    def __init__(self, source: str) -> None:
        self.source = source

    def render(self, data: dict[str, Any]) -> str:
        return self.source


class GoTemplate:
    """A compiled Go template; `render` raises RuntimeError with the rule location on failure."""

    def __init__(self, template: Any, where: str) -> None:
        self.template, self.where = template, where

    def render(self, data: dict[str, Any]) -> str:
        try:
            return self.template.execute(data)
        except Exception as exc:  # template runtime errors are reported, the request gets a 500
            raise RuntimeError(f"{self.where}: executing template: {exc}") from exc


class RequestURL:
    """Go's server-side `*url.URL` of a request: Path and RawQuery only (no scheme/host), as in net/http."""

    def __init__(self, path: str, query: dict[str, list[str]]) -> None:
        self.Scheme, self.Host, self.Path = "", "", path
        self.RawQuery = URLValues(query).Encode()  # stream re-encodes the merged query + form, sorted

    def Query(self) -> URLValues:  # noqa: N802 - Go method name
        return URLValues.parse(self.RawQuery)

    def String(self) -> str:  # noqa: N802
        return self.Path + (f"?{self.RawQuery}" if self.RawQuery else "")

    def RequestURI(self) -> str:  # noqa: N802
        return self.String()

    def go_json(self) -> str:
        return self.String()

    def __str__(self) -> str:
        return self.String()


class TemplateEnv:
    """Compiles templates with the stream functions bound to the mock's files and clock."""

    def __init__(self, host_path: Callable[[str], Path], clock_ns: Callable[[], int]) -> None:
        self.host_path, self.clock_ns = host_path, clock_ns

    def funcs(self) -> dict[str, Callable[..., Any]]:
        return {
            "hostname": socket.gethostname,
            "env": lambda key: os.environ.get(str(key), ""),
            "sum": lambda a, b: int(a) + int(b),
            "file": self._file,
            "glob": self._glob,
            "minify_json": _minify_json,
            "now": self._now,
        }

    def compile(self, source: str, where: str) -> Any:
        if "{{" not in source:
            return StaticTemplate(source)
        try:
            from intpkg.golang.template import Template
        except ImportError as exc:  # pragma: no cover - the engine ships with intpkg
            raise ValueError(f"the Go template engine is not available ({exc})") from None
        try:
            template = Template(source, delims=("{{", "}}"), funcs=self.funcs(), missingkey_error=False)
            return GoTemplate(template, where)
        except Exception as exc:
            raise ValueError(str(exc)) from None

    def _file(self, path: str) -> str:
        return self.host_path(str(path)).read_text(encoding="utf-8")

    def _glob(self, pattern: str) -> list[str]:
        """File names matching the pattern, spelled as the pattern is (container paths stay container paths)."""
        pure = PurePosixPath(str(pattern))
        folder = self.host_path(str(pure.parent))
        if not folder.is_dir():
            return []
        names = sorted(p.name for p in folder.iterdir() if fnmatch.fnmatchcase(p.name, pure.name))
        return [str(pure.parent / name) for name in names]

    def _now(self, offset: str = "") -> Any:
        from intpkg.golang.gotime import GoTime, parse_duration
        ns = self.clock_ns() + (int(parse_duration(offset)) if offset else 0)
        return GoTime.from_unix_nano(ns)


def _minify_json(text: str) -> str:
    """Compact JSON keeping every token as written (like Go's json.Compact); invalid JSON is an error."""
    json.loads(text)
    out, in_string, escaped = [], False, False
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif ch not in " \t\r\n":
            out.append(ch)
    return "".join(out)


def request_data(req_num: int, host: str, vars_: dict[str, str], url: RequestURL, headers: Header) -> dict[str, Any]:
    return {"req_num": req_num,
            "request": {"host": host, "vars": vars_, "url": url, "headers": headers}}
