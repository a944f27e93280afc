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
    def validate_document(self, doc: dict[str, Any], *, numeric_keyword_fields: Iterable[str] = (),
                          string_number_fields: Iterable[str] = ()) -> list[str]: ...


def load_validator(package_dir: Path, data_stream: str, ecs_dir: Path | None = None) -> DocumentValidator:
    """Field definitions of one data stream (ECS from `ecs_dir` or INTPKG_ECS_DIR), ready to validate."""
    return load_fields(package_dir, data_stream, load_ecs(ecs_dir, package_dir=package_dir))
