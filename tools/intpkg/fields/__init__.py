"""Field definitions of a package: the ECS reference, per-data-stream field sets, validation, mappings."""

from intpkg.fields.ecs import EcsReference, load_ecs
from intpkg.fields.fieldset import FIELD_TYPES, FieldEntry, FieldSet, flatten, load_fields, uses_external_fields

__all__ = ["FIELD_TYPES", "EcsReference", "FieldEntry", "FieldSet", "flatten", "load_ecs", "load_fields",
           "uses_external_fields"]
