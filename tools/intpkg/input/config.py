"""Parse and validate a rendered httpjson stream config (dotted or nested keys) into typed settings."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intpkg.errors import IntpkgError
from intpkg.golang.gotime import GoTimeError, parse_duration
from intpkg.golang.template import Template, TemplateParseError
from intpkg.input.funcs import template_funcs
from intpkg.validation import findings, schema_file
from intpkg.yamlpos import Loaded

VERBATIM_KEYS = {"processors", "fields", "tags"}  # subtrees kept as written (not dotted-expanded)
SECTIONS = ("request", "response", "pagination")


class ConfigError(IntpkgError):
    """Invalid input config; the message starts with the offending key."""


# --------------------------------------------------------------------------- key normalisation


def expand_dotted(value: Any, path: str = "") -> Any:
    """Turn {"request.url": x} into {"request": {"url": x}}, recursively; conflicts are errors."""
    if isinstance(value, list):
        return [expand_dotted(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for raw_key, item in value.items():
        key = str(raw_key)
        parts = key.split(".")
        child_path = f"{path}.{key}" if path else key
        child = item if parts[-1] in VERBATIM_KEYS else expand_dotted(item, child_path)
        _merge(out, parts, child, path)
    return out


def _merge(out: dict, parts: list[str], item: Any, path: str) -> None:
    node = out
    for i, part in enumerate(parts[:-1]):
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            where = ".".join(filter(None, [path, *parts[: i + 1]]))
            raise ConfigError(f"{where}: is both a value and a section")
        node = nxt
    last = parts[-1]
    if last in node and isinstance(node[last], dict) and isinstance(item, dict):
        for key, value in item.items():
            _merge(node[last], [key], value, f"{path}.{last}" if path else last)
    elif last in node:
        where = ".".join(filter(None, [path, *parts]))
        raise ConfigError(f"{where}: set twice")
    else:
        node[last] = item


# --------------------------------------------------------------------------- typed config


@dataclass
class ValueTemplate:
    """A compiled `[[ ]]` value template with its source (for messages)."""

    source: str
    template: Template
    key: str


@dataclass
class TransformConfig:
    action: str  # set | append | delete
    target_type: str  # body | header | url.params | url.value
    target_name: str
    key: str  # config key, e.g. "request.transforms[2].set"
    value: ValueTemplate | None = None
    default: ValueTemplate | None = None
    value_type: str = "string"
    fail_on_template_error: bool = False
    do_not_log_failure: bool = False


@dataclass
class SplitConfig:
    target: str  # dotted path inside the body
    key: str
    type: str = "array"
    transforms: list[TransformConfig] = field(default_factory=list)
    keep_parent: bool = False
    key_field: str = ""
    delimiter: str = ""
    ignore_empty_value: bool = False
    split: SplitConfig | None = None

    @functools.cached_property
    def edits_elements(self) -> bool:
        """Whether this split or one nested in it writes into the elements it emits (transforms, key_field):
        the body it splits must then be a private copy of the page."""
        return bool(self.transforms or self.key_field) or (self.split is not None and self.split.edits_elements)


@dataclass
class CursorEntry:
    name: str
    value: ValueTemplate
    default: ValueTemplate | None = None
    ignore_empty_value: bool = True
    # intpkg extension (Filebeat ignores unknown cursor keys): also evaluate the value once at the end
    # of a successful interval, so that pages without events (an empty time window) still advance it
    update_on_empty: bool = False

    @functools.cached_property
    def reads_events(self) -> bool:
        """Whether the value depends on the event being published (else it is the same for a whole page)."""
        sources = [self.value.source] + ([self.default.source] if self.default else [])
        return any(".last_event" in s or ".first_event" in s for s in sources)


@dataclass
class RetryConfig:
    max_attempts: int = 5
    wait_min: float = 1.0
    wait_max: float = 60.0


@dataclass
class RateLimitConfig:
    limit: ValueTemplate | None = None
    remaining: ValueTemplate | None = None
    reset: ValueTemplate | None = None
    early_limit: float | None = None


@dataclass
class TracerConfig:
    enabled: bool = False
    filename: str = ""
    maxsize_mb: float = 1.0
    maxbackups: int = 5


@dataclass
class SSLConfig:
    enabled: bool = True
    verification_mode: str = "full"
    certificate_authorities: list[str] = field(default_factory=list)
    certificate: str = ""
    key: str = ""


@dataclass
class HttpJsonConfig:
    url: str
    interval: float = 60.0
    method: str = "GET"
    body: dict | None = None
    timeout: float = 30.0
    ssl: SSLConfig = field(default_factory=SSLConfig)
    proxy_url: str = ""
    retry: RetryConfig = field(default_factory=RetryConfig)
    forward_headers: bool = False
    headers_ban_list: list[str] = field(default_factory=list)
    max_redirects: int = 10
    rate_limit: RateLimitConfig | None = None
    request_transforms: list[TransformConfig] = field(default_factory=list)
    tracer: TracerConfig = field(default_factory=TracerConfig)
    decode_as: str = ""
    response_transforms: list[TransformConfig] = field(default_factory=list)
    split: SplitConfig | None = None
    pagination: list[TransformConfig] = field(default_factory=list)
    request_body_on_pagination: bool = False
    save_first_response: bool = False
    cursor: list[CursorEntry] = field(default_factory=list)
    basic_user: str = ""
    basic_password: str = ""
    id: str = ""
    tags: list[str] = field(default_factory=list)
    raw: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers

TRANSFORM_TARGETS = {
    "request": {"set": ("body", "header", "url.params", "url.value"), "append": ("body", "header", "url.params"),
                "delete": ("body", "header", "url.params")},
    "response": {"set": ("body",), "append": ("body",), "delete": ("body",)},
    "pagination": {"set": ("body", "header", "url.params", "url.value"),
                   "append": ("body", "header", "url.params"), "delete": ("body", "header", "url.params")},
}


def parse_config_duration(value: Any, key: str) -> float:
    """Beats durations: Go syntax ("30s", "1h30m") or a number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return parse_duration(str(value).strip()) / 1e9
    except GoTimeError:
        raise ConfigError(f"{key}: invalid duration {value!r} (use Go syntax such as 30s, 5m, 1h30m)") from None


def _positive_duration(value: Any, key: str) -> float:
    seconds = parse_config_duration(value, key)
    if seconds <= 0:
        raise ConfigError(f"{key}: must be greater than 0")
    return seconds


def _bool(value: Any) -> bool:
    """A schema-checked boolean (true/false, or the strings "true"/"false" as Beats accepts)."""
    return value if isinstance(value, bool) else str(value).lower() == "true"


_FUNCS = template_funcs()


def compile_template(source: Any, key: str) -> ValueTemplate:
    if not isinstance(source, (str, int, float)) or isinstance(source, bool):
        raise ConfigError(f"{key}: expected a template string, got {type(source).__name__}")
    text = str(source)
    try:
        template = Template(text, delims=("[[", "]]"), funcs=_FUNCS, name=key)
    except TemplateParseError as exc:
        raise ConfigError(f"{key}: invalid template: {exc}") from None
    return ValueTemplate(text, template, key)


def parse_target(target: Any, key: str) -> tuple[str, str]:
    if not isinstance(target, str) or not target:
        raise ConfigError(f"{key}.target: required")
    for prefix in ("body.", "header.", "url.params."):
        if target.startswith(prefix) and len(target) > len(prefix):
            return prefix[:-1], target[len(prefix):]
    if target == "url.value":
        return "url.value", ""
    raise ConfigError(f"{key}.target: invalid target {target!r} (use body.*, header.*, url.params.* or url.value)")


def parse_transforms(items: Any, key: str, namespace: str) -> list[TransformConfig]:
    """Typed transforms of a schema-checked list; a target must suit the action and the list."""
    out = []
    for i, item in enumerate(items or []):
        (action, spec), = item.items()
        spec_key = f"{key}[{i}].{action}"
        spec = spec or {}
        target_type, name = parse_target(spec.get("target"), spec_key)
        if target_type not in TRANSFORM_TARGETS[namespace][action]:
            raise ConfigError(f"{spec_key}.target: invalid target {spec['target']!r} for {action} in "
                              f"{namespace} transforms")
        transform = TransformConfig(action, target_type, name, spec_key)
        if action != "delete":
            transform.value = compile_template(spec["value"], f"{spec_key}.value")
            if spec.get("default") is not None:
                transform.default = compile_template(spec["default"], f"{spec_key}.default")
            transform.value_type = spec.get("value_type", "string")
            transform.fail_on_template_error = _bool(spec.get("fail_on_template_error", False))
            transform.do_not_log_failure = _bool(spec.get("do_not_log_failure", False))
        out.append(transform)
    return out


def parse_split(spec: Any, key: str) -> SplitConfig:
    """A typed split of a schema-checked mapping; `key_field` only with a map split."""
    kind = spec.get("type") or "array"
    split = SplitConfig(spec["target"][len("body."):], key, kind)
    split.transforms = parse_transforms(spec.get("transforms"), f"{key}.transforms", "response")
    split.keep_parent = _bool(spec.get("keep_parent", False))
    split.ignore_empty_value = _bool(spec.get("ignore_empty_value", False))
    if spec.get("key_field"):
        if kind != "map":
            raise ConfigError(f"{key}.key_field: can only be used with a map split")
        split.key_field = str(spec["key_field"])
    split.delimiter = str(spec.get("delimiter") or "")
    if spec.get("split") is not None:
        split.split = parse_split(spec["split"], f"{key}.split")
    return split


def parse_cursor(spec: Any) -> list[CursorEntry]:
    entries = []
    for name, entry in (spec or {}).items():
        key = f"cursor.{name}"
        entry = entry or {}
        cursor = CursorEntry(str(name), compile_template(entry["value"], f"{key}.value"))
        if entry.get("default") is not None:
            cursor.default = compile_template(entry["default"], f"{key}.default")
        cursor.ignore_empty_value = _bool(entry.get("ignore_empty_value", True))
        cursor.update_on_empty = _bool(entry.get("update_on_empty", False))
        entries.append(cursor)
    return entries


def _parse_ssl(spec: dict) -> SSLConfig:
    ssl = SSLConfig()
    ssl.enabled = _bool(spec.get("enabled", True))
    ssl.verification_mode = spec.get("verification_mode") or "full"
    cas = spec.get("certificate_authorities") or []
    ssl.certificate_authorities = [cas] if isinstance(cas, str) else [str(ca) for ca in cas]
    ssl.certificate = str(spec.get("certificate") or "")
    ssl.key = str(spec.get("key") or "")
    if bool(ssl.certificate) != bool(ssl.key):
        raise ConfigError("request.ssl: certificate and key must be given together")
    return ssl


SCHEMA = Path(__file__).with_name("config.schema.yml")


def validate(data: dict, *, input_id: str = "") -> None:
    """Check an expanded config against `config.schema.yml`; the error lists every problem by key."""
    found = findings(schema_file(SCHEMA), Loaded(path=Path(input_id or "input config"), data=data))
    if found:
        raise ConfigError("\n".join(f.message for f in found))


def parse_config(raw: dict, *, input_id: str = "") -> HttpJsonConfig:
    """Validate a YAML-loaded httpjson stream config; errors name the offending key."""
    if not isinstance(raw, dict):
        raise ConfigError("input config: expected a mapping")
    data = expand_dotted(raw)
    data.setdefault("request", None)
    data["request"] = data["request"] or {}
    validate(data, input_id=input_id)
    request, response = data["request"], data.get("response") or {}

    cfg = HttpJsonConfig(url=request["url"], raw=data, id=str(data.get("id") or input_id))
    cfg.interval = _positive_duration(data.get("interval", "60s"), "interval")
    cfg.method = str(request.get("method") or "GET").upper()
    if request.get("body") is not None:
        if cfg.method != "POST":
            raise ConfigError("request.body: can't be used with method GET")
        cfg.body = request["body"]
    cfg.timeout = _positive_duration(request.get("timeout", "30s"), "request.timeout")
    cfg.ssl = _parse_ssl(request.get("ssl") or {})
    cfg.proxy_url = str(request.get("proxy_url") or "")

    retry = request.get("retry") or {}
    cfg.retry.max_attempts = int(retry.get("max_attempts", 5))
    cfg.retry.wait_min = _positive_duration(retry.get("wait_min", "1s"), "request.retry.wait_min")
    cfg.retry.wait_max = _positive_duration(retry.get("wait_max", "60s"), "request.retry.wait_max")

    redirect = request.get("redirect") or {}
    cfg.forward_headers = _bool(redirect.get("forward_headers", False))
    cfg.headers_ban_list = [str(h) for h in redirect.get("headers_ban_list") or []]
    cfg.max_redirects = int(redirect.get("max_redirects", 10))

    if request.get("rate_limit") is not None:
        spec, rate = request["rate_limit"], RateLimitConfig()
        for name in ("limit", "remaining", "reset"):
            if spec.get(name) is not None:
                setattr(rate, name, compile_template(spec[name], f"request.rate_limit.{name}"))
        if spec.get("early_limit") is not None:
            rate.early_limit = float(spec["early_limit"])
        cfg.rate_limit = rate

    cfg.request_transforms = parse_transforms(request.get("transforms"), "request.transforms", "request")

    tracer = request.get("tracer") or {}
    if tracer:
        cfg.tracer.filename = str(tracer.get("filename") or "")
        cfg.tracer.enabled = _bool(tracer.get("enabled", bool(cfg.tracer.filename)))
        if cfg.tracer.enabled and not cfg.tracer.filename:
            raise ConfigError("request.tracer.filename: required when the tracer is enabled")
        cfg.tracer.filename = cfg.tracer.filename.replace("*", re.sub(r"[^\w.-]", "_", cfg.id) or "input")
        if tracer.get("maxsize") is not None:
            cfg.tracer.maxsize_mb = float(tracer["maxsize"])
        if tracer.get("maxbackups") is not None:
            cfg.tracer.maxbackups = int(tracer["maxbackups"])

    cfg.decode_as = str(response.get("decode_as") or "")
    cfg.response_transforms = parse_transforms(response.get("transforms"), "response.transforms", "response")
    if response.get("split") is not None:
        cfg.split = parse_split(response["split"], "response.split")
    cfg.pagination = parse_transforms(response.get("pagination"), "response.pagination", "pagination")
    cfg.request_body_on_pagination = _bool(response.get("request_body_on_pagination", False))
    cfg.save_first_response = _bool(response.get("save_first_response", False))
    cfg.cursor = parse_cursor(data.get("cursor"))

    basic = (data.get("auth") or {}).get("basic") or {}
    if basic and _bool(basic.get("enabled", True)):
        user, password = basic.get("user"), basic.get("password")
        if not user or not password:
            raise ConfigError("auth.basic: both user and password are required")
        cfg.basic_user, cfg.basic_password = str(user), str(password)
    tags = data.get("tags") or []
    cfg.tags = [str(t) for t in tags] if isinstance(tags, list) else [str(tags)]
    return cfg
