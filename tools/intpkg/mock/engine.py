"""Request handling independent of the socket layer: faults, admission, rule matching, responses."""

from __future__ import annotations

import base64
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from intpkg import redact
from intpkg.golang.httpvalues import Header
from intpkg.mock import faults
from intpkg.mock.config import MockConfig, RuleSpec
from intpkg.mock.faults import FaultPlan
from intpkg.mock.handlerset import Call, HandlerSet
from intpkg.mock.reply import Reply
from intpkg.mock.templates import RequestURL, request_data

MAX_LOGGED = 100_000  # requests kept in the log (a long-running mock must not grow without bound)
NS = 1_000_000_000


@dataclass
class RawRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    client: str = "127.0.0.1"
    scheme: str = "http"


@dataclass
class RequestRecord:
    """One received request as logged (secrets redacted) and how it was answered."""

    time: float
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0
    rule: int | None = None
    note: str = ""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


def _sniff(body: bytes) -> str:
    """Go's http.DetectContentType for the cases a rule body can hit."""
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "text/html; charset=utf-8"
    try:
        body[:512].decode("utf-8")
        return "text/plain; charset=utf-8"
    except UnicodeDecodeError:
        return "application/octet-stream"


@dataclass
class _RuleState:
    count: int = 0


@dataclass
class Engine:
    """All mutable server state; `handle` is thread-safe."""

    config: MockConfig
    api: HandlerSet
    fault_plan: FaultPlan
    clock: Callable[[], float]
    sleep: Callable[[float], None] = time.sleep
    on_fatal: Callable[[str], None] | None = None
    requests: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=MAX_LOGGED))
    errors: list[str] = field(default_factory=list)
    fatal: str | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rule_state = [_RuleState() for _ in self.config.rules]
        self._sequence = [(rule.index, j) for rule in self.config.rules for j in range(len(rule.responses))]
        self._position = 0

    # ------------------------------------------------------------------ entry point

    def handle(self, raw: RawRequest) -> tuple[Reply, int | None, RequestRecord]:
        """The reply, for a `disconnect` fault how many body bytes to send before closing, and the log entry."""
        split = urlsplit(raw.target)
        path = unquote(split.path) or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        headers_lc: dict[str, str] = {}
        go_headers = Header()
        for name, value in raw.headers:
            headers_lc.setdefault(name.lower(), value.strip())
            go_headers.Add(name, value)
        content_type = headers_lc.get("content-type", "")
        if raw.method in ("POST", "PUT", "PATCH") and content_type.startswith("application/x-www-form-urlencoded"):
            for key, values in parse_qs(raw.body.decode("utf-8", "replace"), keep_blank_values=True).items():
                query.setdefault(key, []).extend(values)
        record = RequestRecord(self.clock(), raw.method, path, query,
                               {k: redact.header_value(k, v) for k, v in headers_lc.items()}, raw.body)
        with self._lock:
            self.requests.append(record)
        reply, cut = self._answer(raw, path, query, headers_lc, go_headers, record)
        record.status = reply.status
        return reply, cut, record

    def _answer(self, raw: RawRequest, path: str, query: dict[str, list[str]], headers: dict[str, str],
                go_headers: Header, record: RequestRecord) -> tuple[Reply, int | None]:
        if self.fatal:
            return Reply(500, self.fatal.encode(), [("Content-Type", "text/plain; charset=utf-8")]), None
        delay, error_code = self.fault_plan.random_faults()
        if delay:
            self.sleep(delay)
        if error_code:
            record.note = "random fault"
            return Reply(error_code, b"", []), None
        admission = self.api.admit(headers, raw.client)
        if admission.reply is not None:
            record.note = admission.note or "not admitted"
            admission.reply.headers.extend(admission.headers)
            return admission.reply, None
        pending = self.fault_plan.take(path)
        reply, cut = self._route(raw, path, query, headers, go_headers, record, pending)
        for name, value in admission.headers:
            reply.set_header(name, value)
        return reply, cut

    # ------------------------------------------------------------------ rules

    def _route(self, raw: RawRequest, path: str, query: dict[str, list[str]], headers: dict[str, str],
               go_headers: Header, record: RequestRecord, pending: list[dict[str, Any]]) -> tuple[Reply, int | None]:
        for spec in pending:
            if spec["kind"] == "delay":
                self.sleep(float(spec["seconds"]))
            elif spec["kind"] == "status":
                record.note = "injected status"
                return faults.status_reply(spec, self.api.fault_reply), None
        matched = self._match(raw, path, query, headers)
        if matched is None:
            record.note = "no rule matched"
            return Reply(404, b"404 page not found\n", [("Content-Type", "text/plain; charset=utf-8")]), None
        rule, vars_ = matched
        record.rule = rule.index
        with self._lock:
            state = self._rule_state[rule.index]
            response_index = state.count
            state.count += 1
            req_num = state.count
            if self.config.as_sequence:
                problem = self._check_sequence(rule, response_index)
                if problem:
                    return self._fail(problem), None
        scripted = [f for f in rule.faults if faults.fault_applies(f, req_num)]
        for spec in scripted:
            if spec["kind"] == "delay":
                self.sleep(float(spec["seconds"]))
            elif spec["kind"] == "status":
                record.note = "scripted status fault"
                return faults.status_reply(spec, self.api.fault_reply), None
        try:
            if rule.handler is not None:
                reply = self._call_handler(rule, raw, path, query, headers, vars_, req_num)
            else:
                reply = self._template_reply(rule, response_index, raw, path, query, headers, go_headers,
                                             vars_, req_num)
        except RuntimeError as exc:
            with self._lock:
                self.errors.append(str(exc))
            return Reply(500, str(exc).encode(), [("Content-Type", "text/plain; charset=utf-8")]), None
        cut = None
        for spec in scripted + pending:
            if spec["kind"] in ("truncate", "disconnect", "error_streaming"):
                record.note = f"{spec['kind']} fault"
                reply.materialize()
                reply, cut = faults.transform_body(spec, reply)
        return reply, cut

    def _match(self, raw: RawRequest, path: str, query: dict[str, list[str]],
               headers: dict[str, str]) -> tuple[RuleSpec, dict[str, str]] | None:
        for rule in self.config.rules:
            vars_ = rule.path.match(path)
            if vars_ is None:
                continue
            if rule.methods and raw.method.upper() not in rule.methods:
                continue
            ok = True
            for name, pattern, absent in rule.query_params:
                values = query.get(name)
                if absent:
                    ok = not values
                elif not values:
                    ok = False
                elif pattern is not None:
                    found = pattern.match(values[0])
                    ok = found is not None
                    if found:
                        vars_.update(found)
                if not ok:
                    break
            if not ok:
                continue
            if not all(name.lower() in headers and regex.search(headers[name.lower()])
                       for name, regex in rule.request_headers):
                continue
            if (rule.user or rule.password) and not self._basic_auth_ok(rule, headers.get("authorization", "")):
                continue
            if rule.request_body:
                body = raw.body.decode("utf-8", "replace")
                if rule.body_regex is not None:
                    if not rule.body_regex.search(body):
                        continue
                elif body != rule.request_body:
                    continue
            return rule, vars_
        return None

    @staticmethod
    def _basic_auth_ok(rule: RuleSpec, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return (not rule.user or user == rule.user) and (not rule.password or password == rule.password)

    def _check_sequence(self, rule: RuleSpec, response_index: int) -> str | None:
        expected = self._sequence[self._position] if self._position < len(self._sequence) else None
        if expected != (rule.index, response_index):
            if expected is None:
                return (f"as_sequence: request matched rule #{rule.index} ({rule.where}) after the whole "
                        "sequence was served")
            return (f"as_sequence: request matched rule #{rule.index} ({rule.where}) response "
                    f"#{response_index}, expected rule #{expected[0]} response #{expected[1]}")
        self._position += 1
        return None

    def _fail(self, message: str) -> Reply:
        self.fatal = message
        self.errors.append(message)
        if self.on_fatal is not None:
            self.on_fatal(message)
        return Reply(500, message.encode(), [("Content-Type", "text/plain; charset=utf-8")])

    def _template_reply(self, rule: RuleSpec, response_index: int, raw: RawRequest, path: str,
                        query: dict[str, list[str]], headers: dict[str, str], go_headers: Header,
                        vars_: dict[str, str], req_num: int) -> Reply:
        if not rule.responses:
            return Reply(200, b"", [])
        response = rule.responses[response_index % len(rule.responses)]
        host = headers.get("host", "")
        all_vars = {k: v[0] for k, v in query.items() if v}
        all_vars.update(vars_)
        data = request_data(req_num, host, all_vars, RequestURL(path, query), go_headers)
        reply = Reply(response.status_code)
        for name, templates in response.headers.items():
            for template in templates:
                reply.headers.append((name, template.render(data)))
        reply.body = response.body.render(data).encode()
        if reply.body and reply.header("Content-Type") is None:
            reply.headers.append(("Content-Type", _sniff(reply.body)))
        return reply

    def _call_handler(self, rule: RuleSpec, raw: RawRequest, path: str, query: dict[str, list[str]],
                      headers: dict[str, str], vars_: dict[str, str], req_num: int) -> Reply:
        spec = rule.handler or {}
        call = Call(raw.method.upper(), path, query, headers, raw.body, vars_, req_num, int(self.clock() * NS))
        try:
            return self.api.handle(call, spec)
        except (ValueError, KeyError, TypeError) as exc:
            raise RuntimeError(f"{rule.where}: {spec['kind']} handler failed: {exc}") from exc
