"""Package validation: JSON Schemas of every file kind, folder structure rules and semantic rules."""

from intpkg.spec.lint import lint_package
from intpkg.spec.problems import RULES, Problem, errors

__all__ = ["RULES", "Problem", "errors", "lint_package"]
