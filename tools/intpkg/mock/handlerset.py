"""The registration API of the generic mock: an API's handlers and hooks, plugged into the engine.

The engine serves stream-format rules on its own. A rule with `x-intpkg-handler: {kind: K, ...}` is
answered by the handler registered under `K` in the server's `HandlerSet`, which also decides whether
a request is admitted at all (an API's rate limit) and what an injected status fault's body looks like.
An API builds its set from the loaded config with an `ApiFactory`, given to `MockServer(api=...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from intpkg.mock.reply import Reply

if TYPE_CHECKING:
    from intpkg.mock.config import MockConfig


@dataclass
class Call:
    """What a handler sees of one request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names, first value
    body: bytes
    vars: dict[str, str]
    req_num: int
    now_ns: int

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Handler = Callable[[Call, dict[str, Any]], Reply]


@dataclass
class Admission:
    """Whether a request may reach the rules: `reply` answers it instead; `headers` go on every answer."""

    reply: Reply | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""


class HandlerSet:
    """Handlers by kind plus the engine's hooks; with nothing registered it serves rules only (the stream image)."""

    def __init__(self, handlers: Mapping[str, Handler] | None = None) -> None:
        self.handlers: dict[str, Handler] = dict(handlers or {})

    def register(self, kind: str, handler: Handler) -> None:
        """Answer rules whose `x-intpkg-handler.kind` is `kind` with `handler(call, spec)`."""
        self.handlers[kind] = handler

    def handle(self, call: Call, spec: dict[str, Any]) -> Reply:
        return self.handlers[spec["kind"]](call, spec)

    def admit(self, headers: dict[str, str], client: str) -> Admission:
        """Called before any rule matches (lower-cased headers, client address); default: admit."""
        return Admission()

    def fault_reply(self, status: int, message: str) -> Reply:
        """The reply of a status fault that gives no body of its own."""
        return Reply(status, message.encode(), [("Content-Type", "text/plain; charset=utf-8")])


ApiFactory = Callable[["MockConfig", Callable[[], float]], HandlerSet]
"""Builds a server's HandlerSet from its loaded config and clock; raises ConfigError for a bad config."""


def rules_only(config: MockConfig, clock: Callable[[], float]) -> HandlerSet:
    """The default ApiFactory: no handlers."""
    return HandlerSet()
