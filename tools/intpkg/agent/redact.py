"""Keep secrets out of log output: every configured secret value is masked in every log record."""

from __future__ import annotations

import logging
import re

MASK = "[REDACTED]"
_AUTH_HEADER = re.compile(r"(?i)(authorization|x-auth-key|x-auth-email)(\"?\s*[:=]\s*\"?)([^\s\",}]+( [^\s\",}]+)?)")


class RedactingFilter(logging.Filter):
    """Masks known secret values and auth header values in formatted log messages."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = self.redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


_installed: RedactingFilter | None = None


def install_redaction(secrets: list[str]) -> RedactingFilter:
    """Attach (or extend) the redacting filter on every handler of the root logger."""
    global _installed
    if _installed is None:
        _installed = RedactingFilter(secrets)
    else:
        _installed.secrets = sorted(set(_installed.secrets) | {s for s in secrets if s and len(s) >= 4},
                                    key=len, reverse=True)
    root = logging.getLogger()
    for handler in root.handlers:
        if _installed not in handler.filters:
            handler.addFilter(_installed)
    return _installed
