"""Parse and validate a rendered httpjson stream config (dotted or nested keys) into typed settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from intpkg import redact
from intpkg.errors import IntpkgError
from intpkg.input.funcs import template_funcs
from intpkg.input.gotemplate import Template, TemplateParseError
from intpkg.input.gotime import GoTimeError, parse_duration

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


@dataclass
class CursorEntry:
    name: str
    value: ValueTemplate
    default: ValueTemplate | None = None
    ignore_empty_value: bool = True
    # intpkg extension (Filebeat ignores unknown cursor keys): also evaluate the value once at the end
    # of a successful interval, so that pages without events (an empty time window) still advance it
    update_on_empty: bool = False


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

DECODERS = ("application/json", "application/x-ndjson", "text/csv", "application/zip")
UNSUPPORTED_DECODERS = ("application/xml", "text/xml")
TRANSFORM_TARGETS = {
    "request": {"set": ("body", "header", "url.params", "url.value"), "append": ("body", "header", "url.params"),
                "delete": ("body", "header", "url.params")},
    "response": {"set": ("body",), "append": ("body",), "delete": ("body",)},
    "pagination": {"set": ("body", "header", "url.params", "url.value"),
                   "append": ("body", "header", "url.params"), "delete": ("body", "header", "url.params")},
}


def parse_config_duration(value: Any, key: str) -> float:
    """Beats durations: Go syntax ("30s", "1h30m") or a number of seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a duration like 30s, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return parse_duration(value.strip()) / 1e9
        except GoTimeError:
            raise ConfigError(f"{key}: invalid duration {value!r} (use Go syntax such as 30s, 5m, 1h30m)") \
                from None
    raise ConfigError(f"{key}: expected a duration like 30s, got {type(value).__name__}")


def _bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ConfigError(f"{key}: expected true or false, got {value!r}")


def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{key}: expected an integer, got {value!r}") from None


def _dict(value: Any, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
    return value


def _unknown(section: dict, allowed: set[str], key: str) -> None:
    for name in section:
        if name not in allowed:
            raise ConfigError(f"{key}.{name}: unknown option" if key else f"{name}: unknown option")


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
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError(f"{key}: expected a list of transforms")
    out = []
    for i, item in enumerate(items):
        item_key = f"{key}[{i}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise ConfigError(f"{item_key}: each transform needs exactly one action (set, append or delete)")
        action, spec = next(iter(item.items()))
        if action not in ("set", "append", "delete"):
            raise ConfigError(f"{item_key}: unknown transform {action!r} (use set, append or delete)")
        spec_key = f"{item_key}.{action}"
        spec = _dict(spec, spec_key)
        _unknown(spec, {"target", "value", "default", "value_type", "fail_on_template_error",
                        "do_not_log_failure"}, spec_key)
        target_type, name = parse_target(spec.get("target"), spec_key)
        if target_type not in TRANSFORM_TARGETS[namespace][action]:
            raise ConfigError(f"{spec_key}.target: invalid target {spec['target']!r} for {action} in "
                              f"{namespace} transforms")
        transform = TransformConfig(action, target_type, name, spec_key)
        if action != "delete":
            if "value" not in spec:
                raise ConfigError(f"{spec_key}.value: required")
            transform.value = compile_template(spec["value"], f"{spec_key}.value")
            if spec.get("default") is not None:
                transform.default = compile_template(spec["default"], f"{spec_key}.default")
            value_type = spec.get("value_type", "string")
            if value_type not in ("string", "json", "int"):
                raise ConfigError(f"{spec_key}.value_type: must be string, json or int, got {value_type!r}")
            transform.value_type = value_type
            transform.fail_on_template_error = _bool(spec.get("fail_on_template_error", False),
                                                     f"{spec_key}.fail_on_template_error")
            transform.do_not_log_failure = _bool(spec.get("do_not_log_failure", False),
                                                 f"{spec_key}.do_not_log_failure")
        out.append(transform)
    return out


def parse_split(spec: Any, key: str) -> SplitConfig:
    spec = _dict(spec, key)
    _unknown(spec, {"target", "type", "transforms", "keep_parent", "key_field", "delimiter",
                    "ignore_empty_value", "split"}, key)
    target = spec.get("target")
    if not isinstance(target, str) or not target.startswith("body.") or target == "body.":
        raise ConfigError(f"{key}.target: required and must start with body. (got {target!r})")
    kind = spec.get("type", "array") or "array"
    if kind not in ("array", "map", "string"):
        raise ConfigError(f"{key}.type: must be array, map or string, got {kind!r}")
    split = SplitConfig(target[len("body."):], key, kind)
    split.transforms = parse_transforms(spec.get("transforms"), f"{key}.transforms", "response")
    split.keep_parent = _bool(spec.get("keep_parent", False), f"{key}.keep_parent")
    split.ignore_empty_value = _bool(spec.get("ignore_empty_value", False), f"{key}.ignore_empty_value")
    if spec.get("key_field"):
        if kind != "map":
            raise ConfigError(f"{key}.key_field: can only be used with a map split")
        split.key_field = str(spec["key_field"])
    if kind == "string":
        if not spec.get("delimiter"):
            raise ConfigError(f"{key}.delimiter: required for a string split")
        split.delimiter = str(spec["delimiter"])
    if spec.get("split") is not None:
        split.split = parse_split(spec["split"], f"{key}.split")
    return split


def parse_cursor(spec: Any) -> list[CursorEntry]:
    entries = []
    for name, entry in _dict(spec, "cursor").items():
        key = f"cursor.{name}"
        entry = _dict(entry, key)
        if "value" not in entry:
            raise ConfigError(f"{key}.value: required")
        # Filebeat ignores anything else here (e.g. fail_on_template_error); so do we.
        cursor = CursorEntry(str(name), compile_template(entry["value"], f"{key}.value"))
        if entry.get("default") is not None:
            cursor.default = compile_template(entry["default"], f"{key}.default")
        cursor.ignore_empty_value = _bool(entry.get("ignore_empty_value", True), f"{key}.ignore_empty_value")
        cursor.update_on_empty = _bool(entry.get("update_on_empty", False), f"{key}.update_on_empty")
        entries.append(cursor)
    return entries


def _parse_ssl(spec: Any) -> SSLConfig:
    spec = _dict(spec, "request.ssl")
    _unknown(spec, {"enabled", "verification_mode", "certificate_authorities", "certificate", "key",
                    "supported_protocols", "cipher_suites", "curve_types", "renegotiation", "key_passphrase",
                    "ca_trusted_fingerprint", "ca_sha256"}, "request.ssl")
    ssl = SSLConfig()
    ssl.enabled = _bool(spec.get("enabled", True), "request.ssl.enabled")
    mode = spec.get("verification_mode", "full") or "full"
    if mode not in ("full", "strict", "certificate", "none"):
        raise ConfigError(f"request.ssl.verification_mode: must be full, strict, certificate or none, got {mode!r}")
    ssl.verification_mode = mode
    cas = spec.get("certificate_authorities") or []
    if isinstance(cas, str):
        cas = [cas]
    ssl.certificate_authorities = [str(ca) for ca in cas]
    ssl.certificate = str(spec.get("certificate") or "")
    ssl.key = str(spec.get("key") or "")
    if bool(ssl.certificate) != bool(ssl.key):
        raise ConfigError("request.ssl: certificate and key must be given together")
    if spec.get("key_passphrase"):
        raise ConfigError("request.ssl.key_passphrase: unsupported (use an unencrypted key)")
    return ssl


REQUEST_KEYS = {"url", "method", "body", "timeout", "ssl", "proxy_url", "retry", "redirect", "rate_limit",
                "transforms", "tracer", "keep_alive", "encode_as", "proxy_disable", "proxy_headers"}
RESPONSE_KEYS = {"decode_as", "transforms", "split", "pagination", "request_body_on_pagination",
                 "save_first_response", "xsd"}
TOP_KEYS = {"interval", "request", "response", "cursor", "auth", "chain", "config_version", "id", "enabled",
            "tags", "fields", "fields_under_root", "processors", "pipeline", "index", "keep_null",
            "publisher_pipeline", "type", "data_stream", "condition", "meta", "name", "service"}


def parse_config(raw: dict, *, input_id: str = "") -> HttpJsonConfig:
    """Validate a YAML-loaded httpjson stream config; errors name the offending key."""
    if not isinstance(raw, dict):
        raise ConfigError("input config: expected a mapping")
    data = expand_dotted(raw)
    _unknown(data, TOP_KEYS, "")
    request = _dict(data.get("request"), "request")
    response = _dict(data.get("response"), "response")
    _unknown(request, REQUEST_KEYS, "request")
    _unknown(response, RESPONSE_KEYS, "response")

    if data.get("chain"):
        raise ConfigError("chain: unsupported by this engine (httpjson chain steps are not implemented)")
    if response.get("xsd"):
        raise ConfigError("response.xsd: unsupported (XML decoding is not implemented)")
    encode_as = request.get("encode_as")
    if encode_as not in (None, "", "application/json"):
        raise ConfigError(f"request.encode_as: unsupported value {encode_as!r} (only application/json)")
    keep_alive = _dict(request.get("keep_alive"), "request.keep_alive")
    if keep_alive.get("disable") is False:
        raise ConfigError("request.keep_alive.disable: unsupported (connection keep-alive tuning)")

    url = request.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError("request.url: required")
    scheme = url.split(":", 1)[0].lower()
    if scheme in ("http+unix", "https+unix", "http+npipe", "https+npipe"):
        raise ConfigError(f"request.url: unsupported scheme {scheme!r} (sockets)")
    if not re.match(r"^https?://[^/\s]+", url):
        raise ConfigError(f"request.url: must be an http:// or https:// URL, got {url!r}")

    cfg = HttpJsonConfig(url=url, raw=data, id=str(data.get("id") or input_id))
    cfg.interval = parse_config_duration(data.get("interval", "60s"), "interval")
    if cfg.interval <= 0:
        raise ConfigError("interval: must be greater than 0")
    method = str(request.get("method", "GET") or "GET").upper()
    if method not in ("GET", "POST"):
        raise ConfigError(f"request.method: unsupported method {method!r} (GET or POST)")
    cfg.method = method
    if request.get("body") is not None:
        if method != "POST":
            raise ConfigError("request.body: can't be used with method GET")
        cfg.body = _dict(request["body"], "request.body")
    cfg.timeout = parse_config_duration(request.get("timeout", "30s"), "request.timeout")
    if cfg.timeout <= 0:
        raise ConfigError("request.timeout: must be greater than 0")
    cfg.ssl = _parse_ssl(request.get("ssl"))
    if request.get("proxy_url"):
        proxy = str(request["proxy_url"])
        if not re.match(r"^(https?|socks5h?)://[^/\s]+", proxy):
            raise ConfigError(f"request.proxy_url: invalid proxy URL {redact.url_userinfo(proxy)!r}")
        cfg.proxy_url = proxy

    retry = _dict(request.get("retry"), "request.retry")
    _unknown(retry, {"max_attempts", "wait_min", "wait_max"}, "request.retry")
    cfg.retry.max_attempts = _int(retry.get("max_attempts", 5), "request.retry.max_attempts")
    if cfg.retry.max_attempts <= 0:
        raise ConfigError("request.retry.max_attempts: must be greater than 0")
    cfg.retry.wait_min = parse_config_duration(retry.get("wait_min", "1s"), "request.retry.wait_min")
    cfg.retry.wait_max = parse_config_duration(retry.get("wait_max", "60s"), "request.retry.wait_max")
    for name in ("wait_min", "wait_max"):
        if getattr(cfg.retry, name) <= 0:
            raise ConfigError(f"request.retry.{name}: must be greater than 0")

    redirect = _dict(request.get("redirect"), "request.redirect")
    _unknown(redirect, {"forward_headers", "headers_ban_list", "max_redirects"}, "request.redirect")
    cfg.forward_headers = _bool(redirect.get("forward_headers", False), "request.redirect.forward_headers")
    cfg.headers_ban_list = [str(h) for h in redirect.get("headers_ban_list") or []]
    cfg.max_redirects = _int(redirect.get("max_redirects", 10), "request.redirect.max_redirects")

    if request.get("rate_limit") is not None:
        spec = _dict(request["rate_limit"], "request.rate_limit")
        _unknown(spec, {"limit", "remaining", "reset", "early_limit", "max_non_degraded"}, "request.rate_limit")
        if spec.get("max_non_degraded") is not None:
            raise ConfigError("request.rate_limit.max_non_degraded: unsupported")
        rate = RateLimitConfig()
        for name in ("limit", "remaining", "reset"):
            if spec.get(name) is not None:
                setattr(rate, name, compile_template(spec[name], f"request.rate_limit.{name}"))
        if spec.get("early_limit") is not None:
            try:
                rate.early_limit = float(spec["early_limit"])
            except (TypeError, ValueError):
                raise ConfigError("request.rate_limit.early_limit: expected a number") from None
            if rate.early_limit < 0:
                raise ConfigError("request.rate_limit.early_limit: must be >= 0")
        cfg.rate_limit = rate

    cfg.request_transforms = parse_transforms(request.get("transforms"), "request.transforms", "request")

    tracer = _dict(request.get("tracer"), "request.tracer")
    _unknown(tracer, {"enabled", "filename", "maxsize", "maxage", "maxbackups", "localtime", "compress"},
             "request.tracer")
    if tracer:
        cfg.tracer.filename = str(tracer.get("filename") or "")
        cfg.tracer.enabled = _bool(tracer.get("enabled", bool(cfg.tracer.filename)), "request.tracer.enabled")
        if cfg.tracer.enabled and not cfg.tracer.filename:
            raise ConfigError("request.tracer.filename: required when the tracer is enabled")
        cfg.tracer.filename = cfg.tracer.filename.replace("*", re.sub(r"[^\w.-]", "_", cfg.id) or "input")
        if tracer.get("maxsize") is not None:
            cfg.tracer.maxsize_mb = float(tracer["maxsize"])
        if tracer.get("maxbackups") is not None:
            cfg.tracer.maxbackups = _int(tracer["maxbackups"], "request.tracer.maxbackups")

    decode_as = str(response.get("decode_as") or "")
    if decode_as in UNSUPPORTED_DECODERS:
        raise ConfigError(f"response.decode_as: unsupported content type {decode_as!r}")
    if decode_as and decode_as not in DECODERS:
        raise ConfigError(f"response.decode_as: unknown content type {decode_as!r} (one of {', '.join(DECODERS)})")
    cfg.decode_as = decode_as
    cfg.response_transforms = parse_transforms(response.get("transforms"), "response.transforms", "response")
    if response.get("split") is not None:
        cfg.split = parse_split(response["split"], "response.split")
    cfg.pagination = parse_transforms(response.get("pagination"), "response.pagination", "pagination")
    cfg.request_body_on_pagination = _bool(response.get("request_body_on_pagination", False),
                                           "response.request_body_on_pagination")
    cfg.save_first_response = _bool(response.get("save_first_response", False), "response.save_first_response")
    cfg.cursor = parse_cursor(data.get("cursor"))

    auth = _dict(data.get("auth"), "auth")
    for kind in auth:
        if kind != "basic":
            raise ConfigError(f"auth.{kind}: unsupported authentication kind (only auth.basic)")
    basic = _dict(auth.get("basic"), "auth.basic")
    if basic and _bool(basic.get("enabled", True), "auth.basic.enabled"):
        user, password = basic.get("user"), basic.get("password")
        if not user or not password:
            raise ConfigError("auth.basic: both user and password are required")
        cfg.basic_user, cfg.basic_password = str(user), str(password)
    tags = data.get("tags") or []
    cfg.tags = [str(t) for t in tags] if isinstance(tags, list) else [str(tags)]
    return cfg
