"""Fault injection: stream's random faults (`--fault-rate`, `--delay-rate`) and scripted faults.

A scripted fault is a mapping:

    kind: status | truncate | disconnect | error_streaming | delay
    requests: [1, 3]       # the rule's request numbers it hits (default: every request); or
    every: 5               # every 5th request of the rule
    status_code: 503       # status: the reply (body/headers optional; by default the API's error reply)
    body: "..."            # status: reply body
    headers: {Retry-After: "7"}
    keep: 0.5              # truncate/disconnect/error_streaming: fraction of the body kept
    seconds: 1.5           # delay: wait before answering

`truncate` sends a complete HTTP reply whose body is cut short (invalid JSON); `disconnect` promises the full
length and closes the connection midway; `error_streaming` keeps the first lines of the body and ends it
with the Logpull marker line `Error streaming data`.
"""

from __future__ import annotations

import gzip
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from intpkg.mock.reply import Reply

KINDS = {"status", "truncate", "disconnect", "error_streaming", "delay"}
STREAM_ERROR_MARKER = b"Error streaming data"


def validate_fault(spec: dict[str, Any]) -> str | None:
    """A problem with a fault mapping, or None."""
    if spec.get("kind") not in KINDS:
        return f"kind: expected one of {', '.join(sorted(KINDS))}"
    requests = spec.get("requests")
    if requests is not None and (not isinstance(requests, list)
                                 or not all(isinstance(n, int) and n >= 1 for n in requests)):
        return "requests: expected a list of request numbers (1-based)"
    every = spec.get("every")
    if every is not None and (not isinstance(every, int) or every < 1):
        return "every: expected a positive integer"
    if spec["kind"] == "status":
        code = spec.get("status_code")
        if not isinstance(code, int) or not 100 <= code <= 599:
            return "status_code: a status fault needs an HTTP status (100-599)"
    keep = spec.get("keep", 0.5)
    if not isinstance(keep, (int, float)) or not 0 <= keep <= 1:
        return "keep: expected a fraction between 0 and 1"
    if spec["kind"] == "delay" and not isinstance(spec.get("seconds"), (int, float)):
        return "seconds: a delay fault needs seconds"
    return None


def fault_applies(spec: dict[str, Any], req_num: int) -> bool:
    if "requests" in spec and spec["requests"] is not None:
        return req_num in spec["requests"]
    if spec.get("every"):
        return req_num % int(spec["every"]) == 0
    return True


def status_reply(spec: dict[str, Any], default: Callable[[int, str], Reply]) -> Reply:
    """The reply of a status fault: its own body, else `default(status, reason phrase)`."""
    code = int(spec["status_code"])
    if spec.get("body") is not None:
        reply = Reply(code, str(spec["body"]).encode(), [("Content-Type", "application/json")])
    else:
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Error"
        reply = default(code, phrase)
    for name, value in (spec.get("headers") or {}).items():
        reply.set_header(str(name), str(value))
    return reply


def transform_body(spec: dict[str, Any], reply: Reply) -> tuple[Reply, int | None]:
    """Apply a body fault; returns the reply and, for `disconnect`, how many body bytes to send."""
    kind, keep = spec["kind"], float(spec.get("keep", 0.5))
    gzipped = (reply.header("Content-Encoding") or "").lower() == "gzip"
    body = gzip.decompress(reply.body) if gzipped and reply.body else reply.body
    if kind == "truncate":
        body = body[: int(len(body) * keep)]
    elif kind == "error_streaming":
        lines = body.splitlines(keepends=True)
        kept = lines[: int(len(lines) * keep)]
        body = b"".join(kept) + STREAM_ERROR_MARKER + b"\n"
    if gzipped and body:
        body = gzip.compress(body, mtime=0)
    reply.body = body
    if kind == "disconnect":
        return reply, int(len(body) * keep)
    return reply, None


@dataclass
class RuntimeFault:
    """A fault queued from Python: lets `skip` matching requests through, then hits the next `times`
    requests whose path matches `path` (only every `every`-th of them when the spec has `every`)."""

    spec: dict[str, Any]
    path: re.Pattern[str] | None
    times: int | None
    hits: int = 0
    skip: int = 0
    seen: int = 0  # matching requests after the skipped ones (`every` counts them)


@dataclass
class FaultPlan:
    """Random faults (seeded) plus faults queued at run time."""

    fault_rate: float = 0.0
    fault_error_code: int = 500
    delay_rate: float = 0.0
    delay_seconds: float = 0.0
    seed: int | None = None
    queued: list[RuntimeFault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def random_faults(self) -> tuple[float, int | None]:
        """(delay seconds, error status or None) for one request."""
        with self._lock:
            delay = self.delay_seconds if self.delay_rate and self._rng.random() < self.delay_rate else 0.0
            error = self.fault_error_code if self.fault_rate and self._rng.random() < self.fault_rate else None
        return delay, error

    def add(self, spec: dict[str, Any], path: str | None, times: int | None, skip: int = 0) -> RuntimeFault:
        problem = validate_fault(spec)
        if problem:
            raise ValueError(f"invalid fault: {problem}")
        fault = RuntimeFault(spec, re.compile(path) if path else None, times, skip=skip)
        with self._lock:
            self.queued.append(fault)
        return fault

    def take(self, path: str) -> list[dict[str, Any]]:
        """Specs of queued faults hitting this request (consumes one use of each)."""
        out = []
        with self._lock:
            for fault in list(self.queued):
                if fault.path is not None and not fault.path.search(path):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.seen += 1
                every = fault.spec.get("every")
                if every and fault.seen % every:
                    continue
                fault.hits += 1
                out.append(fault.spec)
                if fault.times is not None and fault.hits >= fault.times:
                    self.queued.remove(fault)
        return out
