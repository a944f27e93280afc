"""Errors that the CLI reports as one plain paragraph (no traceback)."""

from __future__ import annotations


class IntpkgError(Exception):
    """A problem the user can act on; `str()` is the whole message."""

    exit_code = 1
