"""The outcome of one test case, shared by every runner and report format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS = "pass"
FAIL = "fail"
ERROR = "error"
SKIP = "skip"


@dataclass
class TestResult:
    """One case: `status` is pass/fail (assertion) /error (could not run)/skip; `failures` say why."""

    __test__ = False  # not a pytest class

    test_type: str
    package: str
    data_stream: str
    name: str
    status: str = PASS
    failures: list[str] = field(default_factory=list)
    duration: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.failures.append(message)
        if self.status == PASS:
            self.status = FAIL

    def error(self, message: str) -> None:
        self.failures.append(message)
        self.status = ERROR

    @property
    def ok(self) -> bool:
        return self.status in (PASS, SKIP)

    def to_dict(self) -> dict[str, Any]:
        return {
            "test_type": self.test_type,
            "package": self.package,
            "data_stream": self.data_stream,
            "name": self.name,
            "status": self.status,
            "failures": list(self.failures),
            "duration_seconds": round(self.duration, 3),
            **({"details": self.details} if self.details else {}),
        }
