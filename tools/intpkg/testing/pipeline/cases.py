"""Find pipeline test cases, read their configuration and turn the input files into events."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intpkg.errors import IntpkgError
from intpkg.yamlpos import read_yaml

CASE_NAME = re.compile(r"^test-[a-z0-9-]+\.(json|log)$")
CONFIG_KEYS = {"fields", "dynamic_fields", "numeric_keyword_fields", "string_number_fields", "multiline",
               "skip", "expect_failure"}


@dataclass
class CaseConfig:
    fields: dict[str, Any] = field(default_factory=dict)
    dynamic_fields: dict[str, str] = field(default_factory=dict)
    numeric_keyword_fields: list[str] = field(default_factory=list)
    string_number_fields: list[str] = field(default_factory=list)
    multiline: dict[str, Any] | None = None
    skip: dict[str, Any] | None = None
    # True: every event must fail (error.message set); a list: indexes (0-based) of events that must fail.
    expect_failure: bool | list[int] = False

    def overlay(self, raw: dict[str, Any], source: Path) -> CaseConfig:
        """A copy with the keys of `raw` (one config file) applied on top."""
        unknown = sorted(set(raw) - CONFIG_KEYS)
        if unknown:
            allowed = ", ".join(sorted(CONFIG_KEYS))
            raise IntpkgError(f"{source}: unknown key(s) {', '.join(unknown)} (allowed: {allowed}).")
        merged = CaseConfig(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        for key, value in raw.items():
            if key == "fields":
                merged.fields = {**merged.fields, **(value or {})}
            elif key == "dynamic_fields":
                merged.dynamic_fields = {**merged.dynamic_fields, **(value or {})}
            else:
                setattr(merged, key, value)
        _check(merged, source)
        return merged

    def expects_failure(self, index: int) -> bool:
        if isinstance(self.expect_failure, list):
            return index in self.expect_failure
        return bool(self.expect_failure)


def _check(config: CaseConfig, source: Path) -> None:
    ef = config.expect_failure
    if not (isinstance(ef, bool) or (isinstance(ef, list) and all(isinstance(i, int) for i in ef))):
        raise IntpkgError(f"{source}: `expect_failure` must be true/false or a list of event indexes.")
    for name, pattern in config.dynamic_fields.items():
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise IntpkgError(f"{source}: dynamic_fields.{name}: invalid regex: {exc}") from None


@dataclass
class Case:
    path: Path
    config: CaseConfig

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def expected_path(self) -> Path:
        return self.path.with_name(self.path.name + "-expected.json")

    def events(self) -> list[dict[str, Any]]:
        """Input documents: one per line (`.log`) or the `events` list (`.json`), `fields` merged in."""
        if self.path.suffix == ".log":
            docs = [{"message": m} for m in _log_messages(self.path, self.config.multiline)]
        else:
            data = read_json(self.path)
            if not isinstance(data, dict) or not isinstance(data.get("events"), list):
                raise IntpkgError(f"{self.path}: expected an object with an `events` list.")
            docs = data["events"]
        return [_merge(_expand(doc), _expand(self.config.fields)) for doc in docs]


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise IntpkgError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except OSError as exc:
        raise IntpkgError(f"{path}: cannot read: {exc.strerror}") from None


def _log_messages(path: Path, multiline: dict[str, Any] | None) -> list[str]:
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    pattern = (multiline or {}).get("first_line_pattern")
    if not pattern:
        return lines
    first = re.compile(pattern)
    messages: list[str] = []
    for line in lines:
        if first.search(line) or not messages:
            messages.append(line)
        else:
            messages[-1] += "\n" + line
    return messages


def _expand(obj: Any) -> Any:
    """Turn dotted keys into nested objects (`a.b: 1` -> `a: {b: 1}`)."""
    if not isinstance(obj, dict):
        return obj
    out: dict[str, Any] = {}
    for key, value in obj.items():
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _merge(node.get(parts[-1]), _expand(value))
    return out


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for key, value in extra.items():
            out[key] = _merge(out.get(key), value)
        return out
    return extra if extra is not None else base


def discover(test_dir: Path) -> list[Case]:
    """Cases of one `_dev/test/pipeline` folder, each with its merged configuration."""
    common = CaseConfig()
    common_path = test_dir / "test-common-config.yml"
    if common_path.is_file():
        common = common.overlay(read_yaml(common_path) or {}, common_path)
    cases = []
    for path in sorted(test_dir.iterdir()):
        if not CASE_NAME.match(path.name):
            continue
        config = common
        own = path.with_name(path.name + "-config.yml")
        if own.is_file():
            config = common.overlay(read_yaml(own) or {}, own)
        cases.append(Case(path, config))
    return cases
