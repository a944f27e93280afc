"""Render a stream template (`agent/stream/*.yml.hbs`) the way Fleet does.

Fleet compiles the template with handlebars.js (`noEscape`), the variables of the package, the
input and the stream side by side, and its own helpers. `yaml`-type variables are inserted as
YAML structures: they are replaced by placeholders before rendering and by their parsed value in
the rendered document. We run the same handlebars.js 4.7.8 (PyPI `handlebars`, via js2py).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from typing import Any

import yaml

from intpkg import settings
from intpkg.dotted import put as put_path
from intpkg.errors import IntpkgError

# Fleet's helpers (x-pack/plugins/fleet/server/services/epm/agent/agent.ts), in JavaScript so that
# block helpers (`{{#contains}}`) get handlebars' own `options.fn`.
_HELPERS_JS = {
    "contains": r"""(function (item, check, options) {
        if ((Array.isArray(check) || typeof check === 'string') && check.indexOf(item) !== -1) {
            if (options && options.fn) { return options.fn(this); }
            return true;
        }
        return '';
    })""",
    "escape_string": r"""(function (str) {
        if (str === undefined || str === null || str === '') { return undefined; }
        return "'" + String(str).split("'").join("''").split("\n").join("\n\n") + "'";
    })""",
    "escape_multiline_string": r"""(function (str) {
        if (str === undefined || str === null || str === '') { return undefined; }
        return String(str).split("'").join("''").split("\n").join("\n\n");
    })""",
    "to_json": r"""(function (value) {
        if (typeof value === 'string') { return value; }
        return JSON.stringify(value);
    })""",
    "url_encode": r"""(function (input) {
        return encodeURIComponent(input).replace(/[!'()*]/g, function (c) {
            return '%' + c.charCodeAt(0).toString(16).toUpperCase();
        });
    })""",
}

_YAML_PLACEHOLDER = "__intpkg_yaml_{}__"
_PLACEHOLDER_ON_OWN_LINE = re.compile(r"(:)[ \t]*\n[ \t]*(__intpkg_yaml_\d+__)[ \t]*$", re.MULTILINE)


@functools.lru_cache(maxsize=1)
def _handlebars() -> Any:
    import js2py
    from handlebars import Handlebars

    for name, source in _HELPERS_JS.items():
        Handlebars.registerHelper(name, js2py.eval_js(source))
    return Handlebars


_OPTIONS = {"noEscape": True}


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> Any:
    """The template function for `source`.

    Compiling runs handlebars.js's parser through js2py, which takes seconds; the compiled form
    (`Handlebars.precompile`, plain JavaScript holding no variable values) is cached under
    `$INTPKG_HOME/cache/hbs` and turned back into a template in a fraction of that.
    """
    import js2py

    handlebars = _handlebars()
    key = hashlib.sha256(f"{_handlebars_version()}\n{_OPTIONS}\n{source}".encode()).hexdigest()
    path = settings.intpkg_home() / "cache" / "hbs" / f"{key}.js"
    try:
        return handlebars.template(js2py.eval_js("(" + path.read_text() + ")"))
    except Exception:  # not cached yet, or an unreadable cache file: compile afresh
        pass
    spec = str(handlebars.precompile(source, _OPTIONS))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(spec)
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache only costs time
    return handlebars.template(js2py.eval_js("(" + spec + ")"))


def _handlebars_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("handlebars")
    except PackageNotFoundError:
        return "unknown"


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
                parsed_yaml[_YAML_PLACEHOLDER.format(len(parsed_yaml))] = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise IntpkgError(f"{name}: variable {key!r} is not valid YAML: {exc}") from None
            value = _YAML_PLACEHOLDER.format(len(parsed_yaml) - 1)
        put_path(context, key, value)
    try:
        text = str(_compiled(source)(context))
    except Exception as exc:  # js2py raises its own exception types
        raise IntpkgError(f"{name}: Handlebars rendering failed: {exc}") from None
    # `key:` followed by a line holding only a placeholder (Fleet's `processors:\n{{processors}}`)
    text = _PLACEHOLDER_ON_OWN_LINE.sub(r"\1 \2", text)
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise IntpkgError(f"{name}: the rendered template is not valid YAML: {exc}") from None
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
