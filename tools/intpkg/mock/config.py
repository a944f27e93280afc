"""Load a stream-format mock config (`config.yml`) plus the intpkg extensions, with positioned errors.

Stream keys: `as_sequence`, `rules[]` (`path`, `methods`, `user`, `password`, `query_params`,
`request_headers`, `request_body`, `responses[]` of `status_code`, `headers`, `body`).
intpkg keys (ignored by the stream image): a rule's `x-intpkg-handler` and `x-intpkg-faults`, and the top-level
`x-intpkg` block, kept as `settings` for the server's HandlerSet to read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from intpkg.errors import IntpkgError
from intpkg.mock.muxpattern import MuxPattern, path_pattern, query_pattern
from intpkg.yamlpos import Loaded, ParseError, load_file

RULE_KEYS = {"path", "methods", "user", "password", "query_params", "request_headers", "request_body",
             "responses", "x-intpkg-handler", "x-intpkg-faults"}
RESPONSE_KEYS = {"status_code", "headers", "body"}


class ConfigError(IntpkgError):
    """A mock config problem, located as `path:line:col: field: message`."""


@dataclass
class ResponseSpec:
    status_code: int
    headers: dict[str, list[Any]]  # name -> compiled templates
    body: Any  # compiled template
    where: str


@dataclass
class RuleSpec:
    index: int
    path: MuxPattern
    methods: set[str]
    user: str
    password: str
    query_params: list[tuple[str, MuxPattern | None, bool]]  # (name, value pattern, must_be_absent)
    request_headers: list[tuple[str, re.Pattern[str]]]
    request_body: str
    body_regex: re.Pattern[str] | None
    responses: list[ResponseSpec]
    handler: dict[str, Any] | None
    faults: list[dict[str, Any]]
    where: str


@dataclass
class MockConfig:
    """A loaded config: the rules, the intpkg settings and how container paths map to host paths."""

    path: Path
    as_sequence: bool
    rules: list[RuleSpec]
    settings: dict[str, Any]
    path_map: list[tuple[PurePosixPath, Path]] = field(default_factory=list)
    loaded: Loaded | None = None

    def host_path(self, container_path: str) -> Path:
        """Map a path used inside templates (`/files/x.json`) to the host (volume mappings first)."""
        p = PurePosixPath(container_path)
        for inside, outside in self.path_map:
            try:
                return outside / p.relative_to(inside)
            except ValueError:
                continue
        if p.is_absolute():
            return Path(container_path)
        return self.path.parent / container_path

    def locate(self, keys: tuple[Any, ...]) -> str:
        if self.loaded is None:
            return str(self.path)
        line, col = self.loaded.pos(keys)
        return f"{self.path}:{line}:{col}"


class _Reader:
    """Validation helpers that raise ConfigError pointing at the offending node."""

    def __init__(self, loaded: Loaded) -> None:
        self.loaded = loaded

    def fail(self, keys: tuple[Any, ...], message: str) -> ConfigError:
        line, col = self.loaded.pos(keys)
        name = _dotted(keys)
        return ConfigError(f"{self.loaded.path}:{line}:{col}: {name + ': ' if name else ''}{message}")

    def where(self, keys: tuple[Any, ...]) -> str:
        line, col = self.loaded.pos(keys)
        return f"{self.loaded.path}:{line}:{col}"


def _dotted(keys: tuple[Any, ...]) -> str:
    out = ""
    for k in keys:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


def _str_list(r: _Reader, value: Any, keys: tuple[Any, ...]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [str(value)]
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
        raise r.fail(keys, "expected a list of strings")
    return ["" if v is None else str(v) for v in value]


def load_config(path: Path, *, path_map: list[tuple[PurePosixPath, Path]] | None = None,
                compile_template=None) -> MockConfig:
    """Read and validate a mock config file; templates are compiled with `compile_template(src, where)`."""
    if compile_template is None:
        from intpkg.mock.templates import compile_template
    try:
        loaded = load_file(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: mock config not found") from None
    except ParseError as exc:
        raise ConfigError(str(exc)) from None
    r = _Reader(loaded)
    data = loaded.data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise r.fail((), "the config must be a mapping with `rules`")
    for keys, (line, col) in loaded.duplicate_keys:
        raise ConfigError(f"{path}:{line}:{col}: {_dotted(keys)}: duplicate key")
    as_sequence = data.get("as_sequence", False)
    if not isinstance(as_sequence, bool):
        raise r.fail(("as_sequence",), "expected true or false")
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise r.fail(("rules",), "expected a list of rules")
    rules = [_rule(r, i, raw, compile_template) for i, raw in enumerate(raw_rules)]
    if as_sequence and any(rule.handler for rule in rules):
        raise r.fail(("as_sequence",), "x-intpkg-handler rules cannot be used with as_sequence: true")
    settings = data.get("x-intpkg") or {}
    if not isinstance(settings, dict):
        raise r.fail(("x-intpkg",), "expected a mapping")
    config = MockConfig(path=path, as_sequence=as_sequence, rules=rules, settings=settings,
                        path_map=list(path_map or []), loaded=loaded)
    return config


def _rule(r: _Reader, i: int, raw: Any, compile_template) -> RuleSpec:
    keys: tuple[Any, ...] = ("rules", i)
    if not isinstance(raw, dict):
        raise r.fail(keys, "expected a mapping")
    for key in raw:
        if key not in RULE_KEYS:
            raise r.fail(keys + (key,), f"unknown rule key (expected one of {', '.join(sorted(RULE_KEYS))})")
    if not isinstance(raw.get("path"), str) or not raw["path"]:
        raise r.fail(keys + ("path",), "a rule needs a `path` (gorilla/mux pattern)")
    try:
        pattern = path_pattern(raw["path"])
    except ValueError as exc:
        raise r.fail(keys + ("path",), str(exc)) from None
    methods = {m.upper() for m in _str_list(r, raw.get("methods"), keys + ("methods",))}
    query: list[tuple[str, MuxPattern | None, bool]] = []
    qp = raw.get("query_params") or {}
    if not isinstance(qp, dict):
        raise r.fail(keys + ("query_params",), "expected a mapping of name: [values]")
    for name, values in qp.items():
        vals = _str_list(r, values, keys + ("query_params", name))
        if not vals:
            query.append((str(name), None, True))
        for j, value in enumerate(vals):
            try:
                query.append((str(name), query_pattern(value) if value else None, False))
            except ValueError as exc:
                raise r.fail(keys + ("query_params", name, j), str(exc)) from None
    headers: list[tuple[str, re.Pattern[str]]] = []
    rh = raw.get("request_headers") or {}
    if not isinstance(rh, dict):
        raise r.fail(keys + ("request_headers",), "expected a mapping of name: [regex]")
    for name, values in rh.items():
        for j, value in enumerate(_str_list(r, values, keys + ("request_headers", name))):
            try:
                headers.append((str(name), re.compile(value)))
            except re.error as exc:
                raise r.fail(keys + ("request_headers", name, j), f"invalid regex: {exc}") from None
    body = raw.get("request_body") or ""
    if not isinstance(body, str):
        raise r.fail(keys + ("request_body",), "expected a string or /regex/")
    body_re = None
    if len(body) >= 2 and body.startswith("/") and body.endswith("/"):
        try:
            body_re = re.compile(body[1:-1])
        except re.error as exc:
            raise r.fail(keys + ("request_body",), f"invalid regex: {exc}") from None
    responses = _responses(r, keys, raw.get("responses"), compile_template)
    handler = raw.get("x-intpkg-handler")
    if handler is not None:
        if not isinstance(handler, dict) or not isinstance(handler.get("kind"), str):
            raise r.fail(keys + ("x-intpkg-handler", "kind"),
                         "expected a mapping with a `kind` (the server's HandlerSet says which kinds exist)")
    faults = raw.get("x-intpkg-faults") or []
    if not isinstance(faults, list) or not all(isinstance(f, dict) for f in faults):
        raise r.fail(keys + ("x-intpkg-faults",), "expected a list of fault mappings")
    from intpkg.mock.faults import validate_fault
    for j, fault in enumerate(faults):
        problem = validate_fault(fault)
        if problem:
            raise r.fail(keys + ("x-intpkg-faults", j), problem)
    return RuleSpec(index=i, path=pattern, methods=methods, user=str(raw.get("user") or ""),
                    password=str(raw.get("password") or ""), query_params=query, request_headers=headers,
                    request_body=body, body_regex=body_re, responses=responses, handler=handler,
                    faults=faults, where=r.where(keys))


def _responses(r: _Reader, keys: tuple[Any, ...], raw: Any, compile_template) -> list[ResponseSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise r.fail(keys + ("responses",), "expected a list of responses")
    out = []
    for j, resp in enumerate(raw):
        rk = keys + ("responses", j)
        if not isinstance(resp, dict):
            raise r.fail(rk, "expected a mapping with status_code, headers, body")
        for key in resp:
            if key not in RESPONSE_KEYS:
                raise r.fail(rk + (key,), "unknown response key (expected status_code, headers, body)")
        status = resp.get("status_code")
        if isinstance(status, str) and status.isdigit():
            status = int(status)
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 999:
            raise r.fail(rk + ("status_code",), "a response needs an integer status_code (100-999)")
        headers: dict[str, list[Any]] = {}
        raw_headers = resp.get("headers") or {}
        if not isinstance(raw_headers, dict):
            raise r.fail(rk + ("headers",), "expected a mapping of name: [template]")
        for name, values in raw_headers.items():
            hk = rk + ("headers", name)
            headers[str(name)] = [_compile(r, hk + (n,), v, compile_template)
                                  for n, v in enumerate(_str_list(r, values, hk))]
        body = resp.get("body")
        if body is not None and not isinstance(body, str):
            raise r.fail(rk + ("body",), "expected a string (Go template)")
        out.append(ResponseSpec(status, headers, _compile(r, rk + ("body",), body or "", compile_template),
                                r.where(rk)))
    return out


def _compile(r: _Reader, keys: tuple[Any, ...], source: str, compile_template) -> Any:
    try:
        return compile_template(source, r.where(keys))
    except ValueError as exc:
        raise r.fail(keys, f"invalid template: {exc}") from None
