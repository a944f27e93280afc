"""The interface every test runner implements, and the registry the CLI reads."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from intpkg.testing.result import TestResult


@dataclass
class RunOptions:
    """What to test and how; runners ignore options that do not apply to them."""

    package_dir: Path
    data_streams: list[str] = field(default_factory=list)
    generate: bool = False
    coverage: bool = False
    ecs_dir: Path | None = None  # ECS reference folder; None = INTPKG_ECS_DIR


class TestRunner(ABC):
    """Runs all cases of one test type for a package and returns one result per case."""

    __test__ = False  # not a pytest class
    test_type: str = ""

    @abstractmethod
    def run(self, options: RunOptions) -> list[TestResult]:
        """Run the cases selected by `options`; never raise for a failing case, report it."""


# test type -> factory taking the CLI arguments; filled by the runner modules.
RUNNERS: dict[str, Callable[..., TestRunner]] = {}


def register_runner(test_type: str, factory: Callable[..., TestRunner]) -> None:
    RUNNERS[test_type] = factory
