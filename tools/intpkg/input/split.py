"""`response.split`: turn one response body into events (array / map / string, nested splits)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from intpkg import dotted
from intpkg.input.config import SplitConfig
from intpkg.input.transforms import Transformable, TransformContext, apply_transform
from intpkg.jsoncodec import clone_json


class SplitError(Exception):
    """A split failed in a way that stops processing of the response."""


class EmptyField(Exception):
    """The split target was empty (ends the split quietly)."""


class EmptyRootField(EmptyField):
    """The root split target was missing or empty (ends the split quietly)."""


Emit = Callable[[dict], None]


def run_split(split: SplitConfig, ctx: TransformContext, body: dict, emit: Emit,
              log: logging.Logger | None = None) -> None:
    """Split `body`, calling `emit` per event; empty-field outcomes end quietly, others raise SplitError.

    Emitted events may be objects of `body` itself, which templates still read (`.last_response.body`):
    they are never edited after emit. A split that edits its elements (`edits_elements`) gets a copy.
    """
    try:
        _split(split, ctx, body, emit, log, is_root=True)
    except EmptyField as exc:
        if log is not None:
            log.debug("split %s finished: %s", split.key, exc)


def _split(s: SplitConfig, ctx: TransformContext, root: dict, emit: Emit, log, is_root: bool) -> None:
    try:
        found, value = dotted.walk(root, s.target)
    except dotted.NotAnObject as exc:
        raise SplitError(f"{s.key}: {exc}") from None
    if not found or value is None:
        if s.ignore_empty_value:
            if s.split is not None:
                _split(s.split, ctx, root, emit, log, is_root=False)
                return
            if s.keep_parent:
                emit(root)
            return
        if is_root:
            if s.keep_parent:
                emit(root)
                raise EmptyField("the requested field is empty")
            raise EmptyRootField("the requested root field is empty")
        emit(root)
        raise EmptyField("the requested field is empty")

    if s.type == "array":
        if not isinstance(value, list):
            raise SplitError(f"{s.key}: split was expecting field to be an array")
        if not value:
            _empty(s, ctx, root, emit, log, is_root, emit_root_when_root=True, keep_parent_on_ignore=True)
            return
        plain = not (s.transforms or s.key_field or s.keep_parent or s.split)
        for element in value:
            if plain and type(element) is dict:
                emit(element)  # what _send would emit for it, without its per-element steps
            else:
                _send(s, ctx, root, "", element, emit, log)
    elif s.type == "map":
        if not isinstance(value, dict):
            raise SplitError(f"{s.key}: split was expecting field to be an object")
        if not value:
            _empty(s, ctx, root, emit, log, is_root, emit_root_when_root=False, keep_parent_on_ignore=True)
            return
        for key, element in value.items():
            _send(s, ctx, root, str(key), element, emit, log)
    else:
        if not isinstance(value, str):
            raise SplitError(f"{s.key}: split was expecting field to be a string")
        if not value:
            _empty(s, ctx, root, emit, log, is_root, emit_root_when_root=False, keep_parent_on_ignore=False)
            return
        for part in value.split(s.delimiter):
            clone = clone_json(root)
            dotted.put(clone, s.target, part)
            _finish(s, ctx, clone, emit, log)


def _empty(s, ctx, root, emit, log, is_root, emit_root_when_root: bool, keep_parent_on_ignore: bool) -> None:
    if s.ignore_empty_value:
        if s.split is not None:
            _split(s.split, ctx, root, emit, log, is_root=False)
            return
        if s.keep_parent and keep_parent_on_ignore:
            emit(root)
        return
    if is_root:
        if emit_root_when_root:
            emit(root)  # Filebeat emits the whole envelope here (integrations #5392)
        raise EmptyRootField("the requested root field is empty")
    emit(root)
    raise EmptyField("the requested field is empty")


def _as_object(value: Any, target: str) -> dict | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, (str, list)):
        wrapped: dict = {}
        dotted.put(wrapped, target, value)
        return wrapped
    return None


def _send(s: SplitConfig, ctx, root: dict, key: str, value: Any, emit: Emit, log) -> None:
    obj = _as_object(value, s.target)
    if obj is None:
        if log is not None:
            log.debug("split %s: skipping element of type %s", s.key, type(value).__name__)
        return
    if s.key_field and key:
        dotted.put(obj, s.key_field, key)
    if s.keep_parent:
        clone = clone_json(root)
        dotted.put(clone, s.target, value)
    else:
        # each element is emitted once; it is the page's own object unless the split edits its elements
        # (SplitConfig.edits_elements: then `root` is the caller's private copy of the page)
        clone = obj
    _finish(s, ctx, clone, emit, log)


def _finish(s: SplitConfig, ctx: TransformContext, clone: dict, emit: Emit, log) -> None:
    tr = Transformable(body=clone)
    try:
        for transform in s.transforms:
            apply_transform(transform, ctx, tr, log)
    except Exception as exc:  # Filebeat logs a failing element and goes on with the next one
        if log is not None:
            log.debug("split %s: transform failed, element skipped: %s", s.key, exc)
        return
    body = tr.body if tr.body is not None else clone
    if s.split is not None:
        try:
            _split(s.split, ctx, body, emit, log, is_root=False)
        except (EmptyField, SplitError) as exc:  # Filebeat logs nested split errors and goes on
            if log is not None:
                log.debug("split %s: %s", s.split.key, exc)
        return
    emit(body)
