"""Keep secrets out of log output: every log record is masked by the agent's `intpkg.redact.Redactor`."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from intpkg.redact import Redactor


class RedactingFilter(logging.Filter):
    """Masks known secret values and sensitive `name: value` pairs in formatted log messages."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def redact(self, text: str) -> str:
        return self.redactor.text(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = self.redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_installed: RedactingFilter | None = None


def install_redaction(secrets: Iterable[str | None]) -> RedactingFilter:
    """Attach (or extend) the redacting filter on every handler of the root logger; its redactor is shared."""
    global _installed
    if _installed is None:
        _installed = RedactingFilter(Redactor())
    for secret in secrets:
        _installed.redactor.add(secret)
    root = logging.getLogger()
    for handler in root.handlers:
        if _installed not in handler.filters:
            handler.addFilter(_installed)
    return _installed
