"""The seam between test runners and field validation (`intpkg.fields`).

Runners only need `load_validator(...).validate_document(doc, numeric_keyword_fields=...,
string_number_fields=...) -> list[str]`; `intpkg.fields` resolves the package's field definitions
against ECS and does the checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from intpkg.fields import load_ecs, load_fields


class DocumentValidator(Protocol):
    def validate_document(self, doc: dict[str, Any], numeric_keyword_fields: Iterable[str] = (),
                          string_number_fields: Iterable[str] = ()) -> list[str]: ...


def load_validator(package_dir: Path, data_stream: str, ecs_dir: Path | None = None) -> DocumentValidator:
    """Field definitions of one data stream (ECS from `ecs_dir` or INTPKG_ECS_DIR), ready to validate."""
    return _GeoPointObjects(load_fields(package_dir, data_stream, load_ecs(ecs_dir)))


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
