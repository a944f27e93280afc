"""What every rule gets: the package, and the ECS reference when it could be loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from intpkg.errors import IntpkgError
from intpkg.fields import EcsReference, FieldSet, flatten
from intpkg.packagespec.package import Package


@dataclass
class LintContext:
    pkg: Package
    ecs: EcsReference | None = None
    ecs_error: str | None = None
    _fieldsets: dict[str, FieldSet] = field(default_factory=dict)

    def fieldset(self, ds: str) -> FieldSet:
        """Fields of data stream `ds` from the files the package parsed (unparseable files skipped)."""
        if ds not in self._fieldsets:
            entries = []
            for rel in self.pkg.files(f"data_stream/{ds}/fields", "*.yml"):
                loaded = self.pkg.load(rel)
                if loaded is not None:
                    entries.extend(flatten(loaded.data, self.pkg.path(rel), loaded))
            self._fieldsets[ds] = FieldSet(data_stream=ds, entries=entries, ecs=self.ecs)
        return self._fieldsets[ds]

    def uses_external(self) -> bool:
        return any(e.definition.get("external") for ds in self.pkg.data_streams for e in self.fieldset(ds).entries)

    def rel(self, entry_file) -> str:
        return entry_file.resolve().relative_to(self.pkg.root).as_posix()


def items(value: Any) -> list:
    """`value` when it is a list, else [] (rules run on files that may not match their schema)."""
    return value if isinstance(value, list) else []


def names(values: Any) -> list[str]:
    """The string items of a list (other items are schema problems)."""
    return [v for v in items(values) if isinstance(v, str)]


def template_data_streams(template: dict, pkg: Package) -> list[str]:
    """Data streams a policy template covers (all of them when it names none)."""
    return names(template.get("data_streams")) or pkg.data_streams


def try_load_ecs(ecs_dir=None, package_dir=None) -> tuple[EcsReference | None, str | None]:
    from intpkg.fields import load_ecs

    try:
        return load_ecs(ecs_dir, package_dir=package_dir), None
    except IntpkgError as exc:
        return None, str(exc)
