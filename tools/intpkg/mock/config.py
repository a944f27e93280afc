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
from intpkg.validation import dotted, findings, schema_file
from intpkg.yamlpos import Loaded, ParseError, load_file


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
        name = dotted(keys)
        return ConfigError(f"{self.loaded.path}:{line}:{col}: {name + ': ' if name else ''}{message}")

    def where(self, keys: tuple[Any, ...]) -> str:
        line, col = self.loaded.pos(keys)
        return f"{self.loaded.path}:{line}:{col}"


def _str_list(value: Any) -> list[str]:
    """A schema-checked `strings` value as a list of strings."""
    if value is None:
        return []
    return ["" if v is None else str(v) for v in (value if isinstance(value, list) else [value])]


SCHEMA = Path(__file__).with_name("config.schema.yml")


def load_config(path: Path, *, path_map: list[tuple[PurePosixPath, Path]] | None = None,
                compile_template=None) -> MockConfig:
    """Read and validate a mock config file; templates are compiled with `compile_template(src, where)`.

    The shape is checked against `config.schema.yml` (all problems at once, each at its line and
    column); then patterns, regexes, templates and faults are compiled, the first failure reported.
    """
    if compile_template is None:
        from intpkg.mock.templates import compile_template
    try:
        loaded = load_file(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: mock config not found") from None
    except ParseError as exc:
        raise ConfigError(str(exc)) from None
    problems = [f"{path}:{line}:{col}: {dotted(keys)}: duplicate key" for keys, (line, col) in loaded.duplicate_keys]
    problems += [finding.located(path) for finding in findings(schema_file(SCHEMA), loaded)]
    if problems:
        raise ConfigError("\n".join(problems))
    r = _Reader(loaded)
    data = loaded.data or {}
    as_sequence = data.get("as_sequence", False)
    rules = [_rule(r, i, raw, compile_template) for i, raw in enumerate(data.get("rules") or [])]
    if as_sequence and any(rule.handler for rule in rules):
        raise r.fail(("as_sequence",), "x-intpkg-handler rules cannot be used with as_sequence: true")
    return MockConfig(path=path, as_sequence=as_sequence, rules=rules, settings=data.get("x-intpkg") or {},
                      path_map=list(path_map or []), loaded=loaded)


def _rule(r: _Reader, i: int, raw: dict[str, Any], compile_template) -> RuleSpec:
    keys: tuple[Any, ...] = ("rules", i)
    try:
        pattern = path_pattern(raw["path"])
    except ValueError as exc:
        raise r.fail(keys + ("path",), str(exc)) from None
    methods = {m.upper() for m in _str_list(raw.get("methods"))}
    query: list[tuple[str, MuxPattern | None, bool]] = []
    for name, values in (raw.get("query_params") or {}).items():
        vals = _str_list(values)
        if not vals:
            query.append((str(name), None, True))
        for j, value in enumerate(vals):
            try:
                query.append((str(name), query_pattern(value) if value else None, False))
            except ValueError as exc:
                raise r.fail(keys + ("query_params", name, j), str(exc)) from None
    headers: list[tuple[str, re.Pattern[str]]] = []
    for name, values in (raw.get("request_headers") or {}).items():
        for j, value in enumerate(_str_list(values)):
            try:
                headers.append((str(name), re.compile(value)))
            except re.error as exc:
                raise r.fail(keys + ("request_headers", name, j), f"invalid regex: {exc}") from None
    body = raw.get("request_body") or ""
    body_re = None
    if len(body) >= 2 and body.startswith("/") and body.endswith("/"):
        try:
            body_re = re.compile(body[1:-1])
        except re.error as exc:
            raise r.fail(keys + ("request_body",), f"invalid regex: {exc}") from None
    responses = _responses(r, keys, raw.get("responses") or [], compile_template)
    faults = raw.get("x-intpkg-faults") or []
    from intpkg.mock.faults import validate_fault
    for j, fault in enumerate(faults):
        problem = validate_fault(fault)
        if problem:
            raise r.fail(keys + ("x-intpkg-faults", j), problem)
    return RuleSpec(index=i, path=pattern, methods=methods, user=str(raw.get("user") or ""),
                    password=str(raw.get("password") or ""), query_params=query, request_headers=headers,
                    request_body=body, body_regex=body_re, responses=responses, handler=raw.get("x-intpkg-handler"),
                    faults=faults, where=r.where(keys))


def _responses(r: _Reader, keys: tuple[Any, ...], raw: list[dict[str, Any]], compile_template) -> list[ResponseSpec]:
    out = []
    for j, resp in enumerate(raw):
        rk = keys + ("responses", j)
        headers = {str(name): [_compile(r, rk + ("headers", name, n), v, compile_template)
                               for n, v in enumerate(_str_list(values))]
                   for name, values in (resp.get("headers") or {}).items()}
        out.append(ResponseSpec(int(resp["status_code"]), headers,
                                _compile(r, rk + ("body",), resp.get("body") or "", compile_template), r.where(rk)))
    return out


def _compile(r: _Reader, keys: tuple[Any, ...], source: str, compile_template) -> Any:
    try:
        return compile_template(source, r.where(keys))
    except ValueError as exc:
        raise r.fail(keys, f"invalid template: {exc}") from None
