"""The add / edit integration form, generated from the package manifests as Fleet generates it.

A package policy here is Fleet's simplified body (the same mapping `intpkg run --policy` reads):

    {"name", "description", "namespace", "package": {"name", "version"}, "vars": {...},
     "inputs": {"<template>-<input>": {"enabled", "vars", "streams": {"<dataset>": {"enabled", "vars"}}}}}

`var_slots` lists where each variable lives in that body; `build_form` turns a body into widgets
(one per variable type, the advanced-options rule, `required_vars` groups, problems next to their
field); `policy_from_form` turns a submitted form back into a body. Form field names are the key
paths of the values joined by `|`, so a validation problem's path names its field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from intpkg.agent.policy import Problem
from intpkg.agent.policy_schema import is_secret
from intpkg.dotted import at, put_at
from intpkg.package import Package

SEP = "|"
WIDGETS = {"text": "text", "password": "password", "bool": "switch", "integer": "number", "select": "select",
           "yaml": "yaml", "textarea": "textarea", "duration": "duration", "url": "url", "email": "email",
           "time_zone": "text"}


def is_secret_ref(value: Any) -> bool:
    """A stored secret's place in a policy (Fleet's `{"isSecretRef": true, "id": ...}`)."""
    return isinstance(value, dict) and value.get("isSecretRef") is True and isinstance(value.get("id"), str)


def field_name(path: tuple[str, ...]) -> str:
    return SEP.join(path)


@dataclass(frozen=True)
class VarSlot:
    """A variable definition and the key path of its value in a policy body."""

    definition: dict[str, Any]
    path: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.definition["name"]

    @property
    def secret(self) -> bool:
        return is_secret(self.definition)


@dataclass(frozen=True)
class StreamSlot:
    dataset: str
    title: str
    description: str
    definition: dict[str, Any]
    path: tuple[str, ...]  # ("inputs", <input>, "streams", <dataset>)


@dataclass(frozen=True)
class InputSlot:
    key: str
    title: str
    description: str
    definition: dict[str, Any]
    streams: list[StreamSlot]

    @property
    def path(self) -> tuple[str, ...]:
        return ("inputs", self.key)


def input_slots(package: Package) -> list[InputSlot]:
    """The package's inputs (policy template × input type) and their data-stream streams, manifest order."""
    streams = {ds.name: ds for ds in package.data_streams()}
    slots = []
    for template in package.manifest.get("policy_templates") or []:
        for input_def in template.get("inputs") or []:
            key = f"{template['name']}-{input_def['type']}"
            stream_slots = []
            for ds_name in template.get("data_streams") or sorted(streams):
                ds = streams.get(ds_name)
                candidates = (ds.manifest.get("streams") or []) if ds else []
                stream_def = next((s for s in candidates if s.get("input") == input_def["type"]), None)
                if stream_def is None:
                    continue
                stream_slots.append(StreamSlot(ds.dataset, stream_def.get("title") or ds.manifest.get("title", ds_name),
                                               stream_def.get("description", ""), stream_def,
                                               ("inputs", key, "streams", ds.dataset)))
            slots.append(InputSlot(key, input_def.get("title") or key, input_def.get("description", ""),
                                   input_def, stream_slots))
    return slots


def var_slots(package: Package) -> Iterator[VarSlot]:
    """Every variable of the package: package level, then per input its own and its streams'."""
    for definition in package.manifest.get("vars") or []:
        yield VarSlot(definition, ("vars", definition["name"]))
    for slot in input_slots(package):
        for definition in slot.definition.get("vars") or []:
            yield VarSlot(definition, (*slot.path, "vars", definition["name"]))
        for stream in slot.streams:
            for definition in stream.definition.get("vars") or []:
                yield VarSlot(definition, (*stream.path, "vars", definition["name"]))


def default_policy(package: Package, name: str = "") -> dict[str, Any]:
    """A new policy as Fleet starts it: every input and stream enabled, variables at their defaults."""
    body: dict[str, Any] = {"name": name, "description": "", "namespace": "default",
                            "package": {"name": package.name, "version": package.version}, "inputs": {}}
    for slot in input_slots(package):
        put_at(body, (*slot.path, "enabled"), True)
        for stream in slot.streams:
            put_at(body, (*stream.path, "enabled"), True)
            put_at(body, (*stream.path, "vars"), {})
    for slot in var_slots(package):
        default = slot.definition.get("default")
        if default is not None:
            put_at(body, slot.path, list(default) if isinstance(default, list) else default)
    return body


# ---- the form model -------------------------------------------------------------------------------

@dataclass
class VarField:
    slot: VarSlot
    value: Any  # what the widget shows; never a secret's value
    secret_saved: bool = False
    secret_retype: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def d(self) -> dict[str, Any]:
        return self.slot.definition

    @property
    def name(self) -> str:
        return field_name(self.slot.path)

    @property
    def title(self) -> str:
        return self.d.get("title") or self.d["name"]

    @property
    def widget(self) -> str:
        return "multi" if self.d.get("multi") else WIDGETS.get(self.d.get("type", "text"), "text")

    @property
    def optional(self) -> bool:
        """Fleet's "Optional" tag: not required (a switch is never optional)."""
        return not self.d.get("required") and self.d.get("type") != "bool"

    @property
    def advanced(self) -> bool:
        """Fleet's rule: up front only when `show_user`, or required without a default."""
        return not (self.d.get("show_user") or (self.d.get("required") and self.d.get("default") in (None, "", [])))

    @property
    def options(self) -> list[dict[str, str]]:
        return [{"value": str(o.get("value")), "text": str(o.get("text", o.get("value")))}
                for o in self.d.get("options") or []]

    @property
    def secret(self) -> bool:
        return self.slot.secret


@dataclass
class Section:
    """An input or a stream: a switch, its basic and advanced fields, and problems about it as a whole."""

    key: str
    title: str
    description: str
    enabled: bool
    path: tuple[str, ...]
    fields: list[VarField]
    streams: list[Section] = field(default_factory=list)
    required_groups: list[tuple[str, list[str]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def switch_name(self) -> str:
        return field_name((*self.path, "enabled"))

    @property
    def basic(self) -> list[VarField]:
        return [f for f in self.fields if not f.advanced]

    @property
    def advanced(self) -> list[VarField]:
        return [f for f in self.fields if f.advanced]

    @property
    def advanced_errors(self) -> int:
        return sum(len(f.errors) for f in self.advanced)


@dataclass
class PolicyForm:
    name: str
    description: str
    namespace: str
    package_fields: list[VarField]
    inputs: list[Section]
    errors: dict[str, list[str]] = field(default_factory=dict)  # name / description / namespace / "" (whole policy)

    def all_fields(self) -> Iterator[VarField]:
        yield from self.package_fields
        for section in self.inputs:
            yield from section.fields
            for stream in section.streams:
                yield from stream.fields

    def sections(self) -> Iterator[Section]:
        for section in self.inputs:
            yield section
            yield from section.streams

    @property
    def error_count(self) -> int:
        return (sum(len(v) for v in self.errors.values()) + sum(len(f.errors) for f in self.all_fields())
                + sum(len(s.errors) for s in self.sections()))


_UNSET = object()


def _display(slot: VarSlot, value: Any) -> tuple[Any, bool]:
    if slot.secret:
        return "", is_secret_ref(value)
    if slot.definition.get("multi"):
        items = value if isinstance(value, list) else ([] if value in (None, "") else [value])
        return [str(v) for v in items], False
    if slot.definition.get("type") == "bool":
        return value is True or str(value).lower() == "true", False
    return ("" if value is None else str(value)), False


def _field(slot: VarSlot, body: Mapping[str, Any]) -> VarField:
    """The widget of one variable: its value in `body`, or its default when `body` does not set it."""
    value = at(body, slot.path, _UNSET)
    shown, saved = _display(slot, slot.definition.get("default") if value is _UNSET else value)
    # a secret typed into a form that was sent back with problems is not saved: it must be entered again
    retype = slot.secret and isinstance(value, str) and bool(value.strip())
    return VarField(slot, shown, secret_saved=saved, secret_retype=retype)


def _enabled(body: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    value = at(body, (*path, "enabled"))
    return value is not False and str(value).lower() != "false"


def build_form(package: Package, body: Mapping[str, Any], problems: list[Problem] = ()) -> PolicyForm:
    """The form showing `body`, with each problem next to the field or section its path names."""
    inputs = []
    for slot in input_slots(package):
        streams = []
        for stream in slot.streams:
            groups = [(group, [m["name"] if isinstance(m, dict) else str(m) for m in members])
                      for group, members in (stream.definition.get("required_vars") or {}).items()]
            streams.append(Section(stream.dataset, stream.title, stream.description, _enabled(body, stream.path),
                                   stream.path, [_field(VarSlot(d, (*stream.path, "vars", d["name"])), body)
                                                 for d in stream.definition.get("vars") or []],
                                   required_groups=groups))
        inputs.append(Section(slot.key, slot.title, slot.description, _enabled(body, slot.path), slot.path,
                              [_field(VarSlot(d, (*slot.path, "vars", d["name"])), body)
                               for d in slot.definition.get("vars") or []], streams))
    form = PolicyForm(str(body.get("name") or ""), str(body.get("description") or ""),
                      str(body.get("namespace", "default") or ""),
                      [_field(VarSlot(d, ("vars", d["name"])), body) for d in package.manifest.get("vars") or []],
                      inputs)
    attach_problems(form, problems)
    return form


def attach_problems(form: PolicyForm, problems: list[Problem]) -> None:
    """Put each problem on the field its path names, else on the nearest section, else on the policy."""
    fields = {f.slot.path: f for f in form.all_fields()}
    sections = {s.path: s for s in form.sections()}
    for problem in problems:
        path = tuple(str(p) for p in problem.path)
        for length in range(len(path), 0, -1):
            prefix = path[:length]
            if prefix in fields:
                fields[prefix].errors.append(problem.message)
                break
            if prefix in sections or (prefix[-1:] == ("vars",) and prefix[:-1] in sections):
                sections[prefix if prefix in sections else prefix[:-1]].errors.append(problem.message)
                break
            if length == 1 and prefix[0] in ("name", "description", "namespace"):
                form.errors.setdefault(prefix[0], []).append(problem.message)
                break
        else:
            form.errors.setdefault("", []).append(problem.message)


# ---- a submitted form back to a policy ------------------------------------------------------------

def policy_from_form(package: Package, data: Any) -> dict[str, Any]:
    """The policy body a submitted form stands for (`data`: a MultiDict, `getlist` and `get`).

    Switches send "true" when on (absent when off). A field that is absent or empty is left out, but
    for an emptied required value, which stays "" so that validation says so; so a secret not
    replaced on edit keeps the saved one, and a submitted secret replaces it.
    """
    body: dict[str, Any] = {"name": (data.get("name") or "").strip(),
                            "description": (data.get("description") or "").strip(),
                            "namespace": (data.get("namespace") or "").strip(),
                            "package": {"name": package.name, "version": package.version}, "inputs": {}}
    for slot in input_slots(package):
        put_at(body, (*slot.path, "enabled"), data.get(field_name((*slot.path, "enabled"))) == "true")
        for stream in slot.streams:
            put_at(body, (*stream.path, "enabled"), data.get(field_name((*stream.path, "enabled"))) == "true")
            put_at(body, (*stream.path, "vars"), {})
    for slot in var_slots(package):
        name, definition = field_name(slot.path), slot.definition
        if definition.get("type") == "bool":
            value: Any = data.get(name) == "true"
        elif name not in data:
            continue  # not on the form (a secret not replaced): the saved value or the default stays
        elif definition.get("multi"):
            value = [v.strip() for v in data.getlist(name) if v.strip()]
        else:
            value = data.get(name, "")
            value = value.strip() if definition.get("type") != "yaml" and definition.get("type") != "textarea" \
                else value.replace("\r\n", "\n")
            if definition.get("type") == "integer" and value.lstrip("-").isdigit():
                value = int(value)
        if value in ("", []) and (slot.secret or not definition.get("required")):
            continue  # an empty secret field is "no new value": a saved secret stays
        put_at(body, slot.path, value)
    return body
