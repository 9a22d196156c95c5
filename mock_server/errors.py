"""The one exception tree of the mock::

MockError
├── JobError                 the engine refuses an operation (answered 400)
│   ├── UnknownJob           no job has that processingId (400, or 404 by setting)
│   └── InvalidTransition    the job's status does not allow it (cancel a finished job…)
└── ContractViolation        a message broke its JSON Schema; also an AssertionError
    ├── RequestViolation     the client under test broke the contract (answered 400)
    └── ResponseViolation    the mock broke it: a bug in the mock (answered 500)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ContractViolation",
    "InvalidTransition",
    "JobConflict",
    "JobError",
    "MockError",
    "RequestViolation",
    "ResponseViolation",
    "ScenarioError",
    "UnknownJob",
    "Violation",
]


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a message breaks the contract.

    ``where`` is ``body:/json/pointer``, ``query:name`` or ``header:name``; ``expected`` says what
    the schema wants, in words; ``got`` is what came (``None`` when it was missing); ``schema`` is a
    short excerpt of the schema that was broken, when one was.
    """

    where: str
    message: str
    expected: str
    got: Any = None
    schema: str = ""

    def to_json(self) -> dict[str, Any]:
        found = {"where": self.where, "message": self.message, "expected": self.expected, "got": self.got}
        if self.schema:
            found["schema"] = self.schema
        return found


class MockError(Exception):
    """Base of every error the mock raises on purpose."""


class JobError(MockError):
    """The engine refuses an operation; the message says why and what to do instead."""


class UnknownJob(JobError):
    def __init__(self, processing_id: str) -> None:
        shown = processing_id if len(processing_id) <= 80 else processing_id[:77] + "..."
        super().__init__(f"no job has processingId {shown!r}; start one with POST to the base path")
        self.processing_id = processing_id


class JobConflict(JobError):
    """A start for a path that has a waiting or running job, or a transition the status forbids."""


class InvalidTransition(JobConflict):
    pass


class ScenarioError(MockError):
    """A scenario that cannot be used; ``problems`` lists each as ``origin:line: what``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ContractViolation(MockError, AssertionError):
    """A message broke its schema; ``violations`` lists every way it did."""

    def __init__(self, summary: str, violations: Sequence[Violation]) -> None:
        super().__init__(summary)
        self.violations = tuple(violations)


class RequestViolation(ContractViolation):
    pass


class ResponseViolation(ContractViolation):
    pass
