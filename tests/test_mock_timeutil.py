"""The mock's duration syntax: Go's, with surrounding spaces and (where asked) days."""

from __future__ import annotations

import pytest

from intpkg.mock.timeutil import NS, parse_duration, resolve_instant


@pytest.mark.parametrize(("text", "allow_days", "nanos"), [
    (" -5m ", False, -300 * NS), ("1h30m", False, 5400 * NS), ("500ms", False, NS // 2), ("0", False, 0),
    ("-7d", True, -7 * 86400 * NS), ("1.5d", True, 36 * 3600 * NS), (".5s", False, NS // 2),
])
def test_durations(text, allow_days, nanos):
    assert parse_duration(text, allow_days=allow_days) == nanos


@pytest.mark.parametrize(("text", "allow_days"), [("7d", False), ("5", False), ("", False), ("1h 2m", True),
                                                  ("1w", True)])
def test_invalid_durations_name_the_text(text, allow_days):
    with pytest.raises(ValueError, match=f"^invalid duration {text!r}$"):
        parse_duration(text, allow_days=allow_days)


def test_instants_offset_from_the_anchor():
    assert resolve_instant("-7d", 100 * 86400 * NS) == 93 * 86400 * NS
    assert resolve_instant("now", 5) == 5
