"""Template context, value-template evaluation rules and the set/append/delete transforms."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from intpkg import dotted
from intpkg.golang.httpvalues import GoURL, Header, URLValues
from intpkg.golang.template import TemplateExecError
from intpkg.input.config import TransformConfig, ValueTemplate
from intpkg.input.funcs import TemplateTerminated


class TemplateFailure(Exception):
    """A value template failed (execution error, missing key, empty result or `<no value>`)."""


class EmptyTemplateResult(TemplateFailure):
    """The template (and its default) produced nothing."""


class TransformError(Exception):
    """A transform could not be applied (e.g. "can't convert template value")."""


class NewURLValueNotSet(TransformError):
    """`set url.value` produced an unusable URL."""


@dataclass
class ResponseState:
    """One decoded page as templates see it under `.last_response`."""

    url: GoURL | None = None
    header: Header = field(default_factory=Header)
    body: Any = None
    page: int = 0
    _values: dict | None = field(default=None, repr=False, compare=False)

    def template_values(self) -> dict:
        """The `.last_response` map; built once per page (cursor templates read it for every event)."""
        if self._values is None:
            self._values = {
                "header": self.header.Clone(),
                "page": self.page,
                "url": {"value": self.url.String() if self.url else "",
                        "params": self.url.Query() if self.url else URLValues()},
                "body": self.body,
            }
        return self._values


@dataclass
class TransformContext:
    """httpjson's transform context: cursor (persisted) + in-memory interval data."""

    cursor: dict = field(default_factory=dict)
    first_event: dict = field(default_factory=dict)
    last_event: dict = field(default_factory=dict)
    last_response: ResponseState = field(default_factory=ResponseState)
    first_response: ResponseState | None = None

    def clear_interval_data(self) -> None:
        self.first_event = {}
        self.last_event = {}
        self.last_response = ResponseState()

    def template_data(self, tr: Transformable | None) -> dict:
        data: dict[str, Any] = tr.template_values() if tr is not None else {}
        # templates never mutate their data, so references are safe (and fast on big pages)
        data["cursor"] = self.cursor
        data["first_event"] = self.first_event
        data["last_event"] = self.last_event
        data["last_response"] = self.last_response.template_values()
        if self.first_response is not None:
            data["first_response"] = self.first_response.template_values()
        return data


@dataclass
class Transformable:
    """What a transform edits: a request being built, a response page or a split event."""

    body: dict | None = None
    header: Header | None = None
    url: GoURL | None = None
    # the body's nested objects are someone else's too (a page that templates still read as
    # .last_response.body): a body write first copies the objects on its path
    shared: bool = False

    def template_values(self) -> dict:
        values: dict[str, Any] = {}
        if self.body is not None:
            values["body"] = self.body
        if self.header is not None:
            values["header"] = self.header.Clone()
        if self.url is not None:
            values["url"] = GoURL(self.url.String())
        return values


def execute_value(template: ValueTemplate, ctx: TransformContext, tr: Transformable | None,
                  default: ValueTemplate | None = None) -> str:
    """httpjson valueTpl.Execute: "" on terminate; default on failure; TemplateFailure if all fail."""
    try:
        value = template.template.execute(ctx.template_data(tr))
    except TemplateExecError as exc:
        if isinstance(exc.cause, TemplateTerminated):
            return ""
        return _fallback(default, TemplateFailure(str(exc)))
    except RecursionError:
        return _fallback(default, TemplateFailure("the template execution failed"))
    if value == "" or "<no value>" in value:
        return _fallback(default, EmptyTemplateResult(f"{template.key}: the template result is empty"))
    return value


def _fallback(default: ValueTemplate | None, error: TemplateFailure) -> str:
    if default is None:
        raise error
    return execute_value(default, TransformContext(), Transformable(), None)


def convert_value(value: str, value_type: str, key: str) -> Any:
    if value_type == "json":
        try:
            return json.loads(value)
        except ValueError:
            raise TransformError(f"{key}: can't convert template value to json: {value[:100]!r}") from None
    if value_type == "int":
        try:
            if value.strip() != value or not value.lstrip("+-").isdigit():
                raise ValueError
            return int(value, 10)
        except ValueError:
            raise TransformError(f"{key}: can't convert template value to int: {value[:100]!r}") from None
    return value


# --------------------------------------------------------------------------- transforms


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)


def apply_transform(t: TransformConfig, ctx: TransformContext, tr: Transformable,
                    log: logging.Logger | None = None) -> bool:
    """Run one transform on `tr` in place; returns True if it changed something (False = no-op)."""
    if t.action == "delete":
        _delete(t, tr)
        return True
    assert t.value is not None
    try:
        text = execute_value(t.value, ctx, tr, t.default)
    except TemplateFailure as exc:
        if t.fail_on_template_error:
            raise type(exc)(f"{exc} ({t.action} {t.target_type}.{t.target_name}, fail_on_template_error)") \
                from None
        if log is not None and not t.do_not_log_failure:
            log.debug("transform %s: template failed, no-op: %s", t.key, exc)
        return False
    if text == "":
        return False
    value = convert_value(text, t.value_type, t.key)
    if t.action == "set":
        _set(t, tr, value)
    else:
        _append(t, tr, value)
    return True


def _own_path(tr: Transformable, path: str) -> None:
    """Make the objects on `path` (read one segment at a time, as `dotted.put` does) the body's own."""
    if not tr.shared or tr.body is None:
        return
    node = tr.body
    for part in path.split(".")[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            return
        node[part] = node = dict(child)


def _set(t: TransformConfig, tr: Transformable, value: Any) -> None:
    if t.target_type == "body":
        if tr.body is None:
            tr.body = {}
        _own_path(tr, t.target_name)
        dotted.put(tr.body, t.target_name, value)
    elif t.target_type == "header":
        if tr.header is None:
            tr.header = Header()
        tr.header.Add(t.target_name, _to_text(value))  # Go http.Header.Add: set adds a value
    elif t.target_type == "url.params":
        params = tr.url.Query()
        params.Set(t.target_name, _to_text(value))
        tr.url = tr.url.with_query(params)
    elif t.target_type == "url.value":
        try:
            tr.url = GoURL(_to_text(value))
        except ValueError as exc:
            raise NewURLValueNotSet(f"{t.key}: new URL value not set: {exc}") from None


def _append(t: TransformConfig, tr: Transformable, value: Any) -> None:
    if t.target_type == "body":
        if tr.body is None:
            tr.body = {}
        try:
            found, old = dotted.walk(tr.body, t.target_name)  # as Beats' mapstr reads bodies
        except dotted.NotAnObject as exc:
            raise TransformError(str(exc)) from None
        if not found or old is None:
            new: Any = [value]
        elif isinstance(old, list):
            if old and all(isinstance(v, str) for v in old) and not isinstance(value, str):
                raise TransformError(f"{t.key}: can't append a non-string value to a list of strings")
            new = [*old, value]
        else:
            new = [old, value]
        _own_path(tr, t.target_name)
        dotted.put(tr.body, t.target_name, new)
    elif t.target_type == "header":
        if tr.header is None:
            tr.header = Header()
        tr.header.Add(t.target_name, _to_text(value))
    elif t.target_type == "url.params":
        params = tr.url.Query()
        params.Add(t.target_name, _to_text(value))
        tr.url = tr.url.with_query(params)


def _delete(t: TransformConfig, tr: Transformable) -> None:
    if t.target_type == "body":
        if tr.body is not None:
            _own_path(tr, t.target_name)
            dotted.delete(tr.body, t.target_name)
    elif t.target_type == "header":
        if tr.header is not None:
            tr.header.Del(t.target_name)
    elif t.target_type == "url.params":
        params = tr.url.Query()
        params.Del(t.target_name)
        tr.url = tr.url.with_query(params)
