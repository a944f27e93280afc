"""The seam between test runners and field validation.

`intpkg.fields` (package field definitions resolved against ECS) does the real work when it is
installed: `load_ecs(ecs_dir=None)`, `load_fields(package_dir, data_stream, ecs) -> FieldSet`,
`FieldSet.validate_document(doc, numeric_keyword_fields=(), string_number_fields=()) -> list[str]`.
Until it is, `intpkg.testing._fallback_fields` provides the same call with basic checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol


class DocumentValidator(Protocol):
    def validate_document(self, doc: dict[str, Any], numeric_keyword_fields: Iterable[str] = (),
                          string_number_fields: Iterable[str] = ()) -> list[str]: ...


def load_validator(package_dir: Path, data_stream: str) -> DocumentValidator:
    """Field definitions of one data stream, ready to validate documents."""
    try:
        from intpkg import fields as fields_module
    except ImportError:
        fields_module = None
    if fields_module is not None and hasattr(fields_module, "load_fields"):
        ecs = fields_module.load_ecs()
        return _GeoPointObjects(fields_module.load_fields(package_dir, data_stream, ecs))
    from intpkg.testing import _fallback_fields

    return _fallback_fields.load(package_dir, data_stream)


class _GeoPointObjects:
    """Adapter: present `{"lat": .., "lon": ..}` geo_points (what the geoip processor writes) in the
    `"lat,lon"` form that `intpkg.fields` currently accepts, so both valid spellings pass.
    Remove once `intpkg.fields` accepts the object form itself."""

    def __init__(self, fieldset: Any) -> None:
        self.fieldset = fieldset

    def validate_document(self, doc: dict[str, Any], numeric_keyword_fields: Iterable[str] = (),
                          string_number_fields: Iterable[str] = ()) -> list[str]:
        return self.fieldset.validate_document(
            self._points_as_text(doc, ""), numeric_keyword_fields=numeric_keyword_fields,
            string_number_fields=string_number_fields)

    def _points_as_text(self, value: Any, name: str) -> Any:
        if not isinstance(value, dict):
            return value
        definition = self.fieldset.find(name) if name else None
        if definition and definition.get("type") == "geo_point" and {"lat", "lon"} == set(value):
            return f"{value['lat']},{value['lon']}"
        return {k: self._points_as_text(v, f"{name}.{k}" if name else k) for k, v in value.items()}
