"""One HTTP response the mock sends, and JSON bodies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from intpkg import jsoncodec


@dataclass
class Reply:
    """One HTTP response the mock will send."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunked: bool = False
    #: a body produced while it is sent (chunked), for bodies too large to hold; `materialize()` joins it
    stream: Iterator[bytes] | None = field(default=None, repr=False)

    def materialize(self) -> None:
        """Turn a streamed body into `body` (faults that cut or rewrite a body need all of it)."""
        if self.stream is not None:
            self.body, self.stream = b"".join(self.stream), None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def set_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))


def json_reply(status: int, data: Any) -> Reply:
    return Reply(status, jsoncodec.dumpb(data), [("Content-Type", "application/json")])
