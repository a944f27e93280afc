"""Dotted paths: `find` for documents with dotted keys, `walk` as Beats' mapstr, `put`, `delete`."""

from __future__ import annotations

import pytest

from intpkg import dotted


@pytest.mark.parametrize(("doc", "path", "expected"), [
    ({"a": {"b": {"c": 1}}}, "a.b.c", 1),
    ({"a.b.c": 1}, "a.b.c", 1),
    ({"a.b": {"c": 1}}, "a.b.c", 1),
    ({"a": {"b.c": 1}}, "a.b.c", 1),
    ({"a": {"b": None}}, "a.b", None),
    ({"a": {"x": 1}, "a.b": {"c": 2}}, "a.b.c", 2),  # a head that leads nowhere is not the end
    ({"a": 1}, "a.b", dotted.MISSING),
    ({}, "a", dotted.MISSING),
])
def test_find_tries_every_split_of_the_path(doc, path, expected):
    assert dotted.find(doc, path) == expected


def test_find_default():
    assert dotted.find({"a": {}}, "a.b", None) is None
    assert dotted.find({"a": {"b": 0}}, "a.b", None) == 0


@pytest.mark.parametrize(("doc", "path", "expected"), [
    ({"a": {"b": 1}}, "a.b", (True, 1)),
    ({"a": {"b.c": 1}}, "a.b.c", (True, 1)),  # the rest of the path as one key
    ({"a.b": {"c": 1}}, "a.b.c", (False, None)),  # but not a dotted head, as in mapstr
    ({"a": {}}, "a.b", (False, None)),
])
def test_walk_reads_one_segment_at_a_time(doc, path, expected):
    assert dotted.walk(doc, path) == expected


def test_walk_names_the_step_that_is_not_an_object():
    with pytest.raises(dotted.NotAnObject, match=r"^expected map at a\.b, found int$"):
        dotted.walk({"a": {"b": 5}}, "a.b.c")


def test_put_makes_and_replaces_steps():
    doc = {"a": {"keep": 1}, "x": "scalar"}
    dotted.put(doc, "a.b.c", 1)
    dotted.put(doc, "x.y", 2)
    dotted.put(doc, "top", 3)
    assert doc == {"a": {"keep": 1, "b": {"c": 1}}, "x": {"y": 2}, "top": 3}


def test_delete_follows_segments_and_leaves_what_is_absent():
    doc = {"a": {"b": 1, "c": 2}, "a.b": 3, "s": "x"}
    dotted.delete(doc, "a.b")
    dotted.delete(doc, "s.t")
    dotted.delete(doc, "nope.x")
    assert doc == {"a": {"c": 2}, "a.b": 3, "s": "x"}


def test_delete_dotted_keys_and_prune():
    doc = {"a.b": 3, "x": {"y": {"z": 1}}, "k": {"l": 1, "m": 2}}
    dotted.delete(doc, "a.b", dotted_keys=True, prune=True)
    dotted.delete(doc, "x.y.z", dotted_keys=True, prune=True)
    dotted.delete(doc, "k.l", dotted_keys=True, prune=True)
    assert doc == {"k": {"m": 2}}
