"""Render a stream template (`agent/stream/*.yml.hbs`) the way Fleet does.

Fleet compiles the template with handlebars.js (`noEscape`), the variables of the package, the
input and the stream side by side, and its own helpers. `yaml`-type variables are inserted as
YAML structures: they are replaced by placeholders before rendering and by their parsed value in
the rendered document. We run the same handlebars.js 4.7.8 on V8 (`intpkg.handlebars`); compiled
templates are kept in the engine for the life of the process.
"""

from __future__ import annotations

import re
from typing import Any

from intpkg.dotted import put as put_path
from intpkg.errors import IntpkgError
from intpkg.handlebars import HandlebarsError, HandlebarsUnavailable, engine
from intpkg.yamlpos import ParseError, loads

_YAML_PLACEHOLDER = "__intpkg_yaml_{}__"
_PLACEHOLDER_ON_OWN_LINE = re.compile(r"(:)[ \t]*\n[ \t]*(__intpkg_yaml_\d+__)[ \t]*$", re.MULTILINE)


def render_template(source: str, variables: dict[str, Any], *, yaml_vars: set[str] = frozenset(),
                    name: str = "template") -> dict[str, Any]:
    """Render `source` with `variables` and return the parsed YAML document.

    Variables whose names are in `yaml_vars` hold YAML text; they are parsed and put in place as
    structures. Dotted variable names become nested objects, as in Fleet.
    """
    context: dict[str, Any] = {}
    parsed_yaml: dict[str, Any] = {}
    for key, value in variables.items():
        if key in yaml_vars and isinstance(value, str):
            if value.strip() == "":
                continue
            try:
                parsed_yaml[_YAML_PLACEHOLDER.format(len(parsed_yaml))] = loads(value, key)
            except ParseError as exc:
                raise IntpkgError(f"{name}: variable {key!r} is not valid YAML (line {exc.line}: {exc.message})") \
                    from None
            value = _YAML_PLACEHOLDER.format(len(parsed_yaml) - 1)
        put_path(context, key, value)
    try:
        text = engine().render(source, context)
    except HandlebarsUnavailable as exc:
        raise IntpkgError(f"{name}: cannot render: {exc}") from None
    except HandlebarsError as exc:
        raise IntpkgError(f"{name}: Handlebars rendering failed: {exc}") from None
    # `key:` followed by a line holding only a placeholder (Fleet's `processors:\n{{processors}}`)
    text = _PLACEHOLDER_ON_OWN_LINE.sub(r"\1 \2", text)
    try:
        document = loads(text, name) or {}
    except ParseError as exc:
        raise IntpkgError(f"{name}: the rendered template is not valid YAML (line {exc.line} of the rendering: "
                          f"{exc.message})") from None
    if not isinstance(document, dict):
        raise IntpkgError(f"{name}: the rendered template is not a YAML mapping")
    return _replace_placeholders(document, parsed_yaml)


def _replace_placeholders(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {k: _replace_placeholders(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_placeholders(v, values) for v in node]
    if isinstance(node, str) and node in values:
        return values[node]
    return node
