"""Compare pipeline output with the expected documents."""

from __future__ import annotations

import json
import re
from typing import Any

from intpkg import dotted


def strip_dynamic(doc: dict[str, Any] | None, dynamic: dict[str, str]) -> tuple[Any, list[str]]:
    """A copy without the dynamic fields, and the dynamic values that do not match their regex."""
    if doc is None:
        return None, []
    copy = json.loads(json.dumps(doc))
    problems = []
    for name, pattern in dynamic.items():
        value = dotted.find(copy, name)
        if value is dotted.MISSING:
            continue
        for item in value if isinstance(value, list) else [value]:
            if not re.search(str(pattern), str(item)):
                problems.append(f'dynamic field "{name}" value {item!r} does not match {pattern!r}')
        dotted.delete(copy, name, dotted_keys=True, prune=True)
    return copy, problems


def normalize(value: Any) -> Any:
    """Numbers compared by value (1 == 1.0); everything else as is."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def differences(expected: Any, actual: Any, path: str = "", limit: int = 10) -> list[str]:
    """Human-readable differences (dotted path: expected vs actual), at most `limit`."""
    out: list[str] = []
    _diff(normalize(expected), normalize(actual), path, out, limit)
    return out


def _diff(exp: Any, act: Any, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit or exp == act:
        return
    where = path or "<document>"
    if isinstance(exp, dict) and isinstance(act, dict):
        for key in sorted(set(exp) | set(act)):
            sub = f"{path}.{key}" if path else key
            if key not in act:
                out.append(f"{sub}: expected {_short(exp[key])}, missing in output")
            elif key not in exp:
                out.append(f"{sub}: unexpected {_short(act[key])}")
            else:
                _diff(exp[key], act[key], sub, out, limit)
            if len(out) >= limit:
                return
    elif isinstance(exp, list) and isinstance(act, list) and len(exp) == len(act):
        for i, (e, a) in enumerate(zip(exp, act, strict=True)):
            _diff(e, a, f"{path}[{i}]", out, limit)
    else:
        out.append(f"{where}: expected {_short(exp)}, got {_short(act)}")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
