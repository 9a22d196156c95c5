"""The one exception tree of the mock::

MockError
├── SettingError             a setting of the wrong name or kind (also a ValueError)
├── ScenarioError            a scenario file that cannot be used; lists every problem
│   ├── ScenarioSuperseded   a load overtaken by a later one before it was installed
│   └── ScenarioUnreadable   a scenario file that cannot be read at all (the CLI's exit 3)
├── JobError                 the engine refuses an operation (answered 400)
│   ├── UnknownJob           no job has that processingId (400, or 404 by setting)
│   │   └── UnknownStatusJob no asset-status job has that jobId (likewise)
│   ├── QueueFull            max_active_jobs jobs wait or run already (429)
│   └── JobConflict          the path is busy or the status forbids it (400, or 409 by setting)
│       └── InvalidTransition  the job's status does not allow it (cancel a finished job…)
└── ContractViolation        a message broke its JSON Schema; also an AssertionError
    ├── RequestViolation     the client under test broke the contract (answered 400)
    └── ResponseViolation    the mock broke it: a bug in the mock (answered 500)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "NO_VIOLATIONS",
    "ContractViolation",
    "InvalidTransition",
    "JobConflict",
    "JobError",
    "MockError",
    "QueueFull",
    "RequestViolation",
    "ResponseViolation",
    "ScenarioError",
    "ScenarioSuperseded",
    "ScenarioUnreadable",
    "SettingError",
    "UnknownJob",
    "UnknownStatusJob",
    "Violation",
    "Violations",
]


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a message breaks the contract.

    ``where`` is ``body:/json/pointer``, ``query:name`` or ``header:name``; ``expected`` says what
    the schema wants, in words; ``got`` is what came (``None`` when it was missing); ``schema`` is a
    short excerpt of the schema that was broken, when one was. Code reads ``keyword``, never the
    wording of ``message``.
    """

    where: str
    message: str
    expected: str
    got: Any = None
    schema: str = ""
    keyword: str = ""
    """The JSON Schema keyword that failed (``required``, ``type``…), for code to act on."""
    severity: Literal["error", "warning"] = "error"
    """``error``: a real author refuses it too (answered 400). ``warning``: an author serves it, but
    the documented contract does not promise it (served, and recorded)."""

    def to_json(self) -> dict[str, Any]:
        found = {"where": self.where, "message": self.message, "expected": self.expected, "got": self.got}
        if self.schema:
            found["schema"] = self.schema
        found["severity"] = self.severity
        return found

    @classmethod
    def from_json(cls, found: Mapping[str, Any]) -> Violation:
        """A violation as :meth:`to_json` wrote it (``keyword``, which JSON does not carry, is "")."""
        severity: Literal["error", "warning"] = "warning" if found.get("severity") == "warning" else "error"
        return cls(str(found["where"]), str(found["message"]), str(found["expected"]), found.get("got"),
                   str(found.get("schema", "")), severity=severity)  # fmt: skip


#: How many violations an answer, the journal or a failure message lists; the rest are counted.
MAX_LISTED = 20
#: How many characters of a field name or a value a violation echoes.
MAX_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Violations:
    """The violations of one message: at most :data:`MAX_LISTED` listed, the rest counted.

    ``more`` counts those found but not listed; when ``more_or_more`` is true, the search stopped
    early and there may be more still. Iterates, indexes and adds like a tuple of the listed ones.
    """

    listed: tuple[Violation, ...] = ()
    more: int = 0
    more_or_more: bool = False

    @classmethod
    def of(cls, found: Sequence[Violation], more: int = 0, more_or_more: bool = False) -> Violations:
        return cls(tuple(found[:MAX_LISTED]), more + max(0, len(found) - MAX_LISTED), more_or_more)

    def __add__(self, other: Violations) -> Violations:
        if not other:
            return self
        if not self:
            return other
        return Violations.of(
            [*self.listed, *other.listed], self.more + other.more, self.more_or_more or other.more_or_more
        )

    def __iter__(self) -> Iterator[Violation]:
        return iter(self.listed)

    def __len__(self) -> int:
        return len(self.listed)

    def __bool__(self) -> bool:
        return bool(self.listed) or self.more > 0

    def __getitem__(self, index: int) -> Violation:
        return self.listed[index]

    @property
    def total(self) -> int:
        return len(self.listed) + self.more

    def summary(self) -> str:
        """One line: the one message, or how many and each listed message."""
        if self.total == 1:
            return self.listed[0].message
        counted = f"{'at least ' if self.more_or_more else ''}{self.total}"
        text = f"{counted} contract violations: " + "; ".join(v.message for v in self.listed)
        return text + (f"; and {self.more} more not listed" if self.more else "")


class MockError(Exception):
    """Base of every error the mock raises on purpose."""


class SettingError(MockError, ValueError):
    """A setting that does not exist, or a value it cannot take; the message names both."""


class JobError(MockError):
    """The engine refuses an operation; the message says why and what to do instead."""


class UnknownJob(JobError):
    def __init__(self, processing_id: str) -> None:
        shown = processing_id if len(processing_id) <= 80 else processing_id[:77] + "..."
        super().__init__(f"no job has processingId {shown!r}; start one with POST to the base path")
        self.processing_id = processing_id

    where = "processingId"
    """The parameter that named the unknown job."""


class UnknownStatusJob(UnknownJob):
    """No asset-status job (§3.40) has that ``jobId``: it never was, or was forgotten past the cap."""

    where = "jobId"

    def __init__(self, job_id: str) -> None:
        super().__init__(job_id)
        shown = job_id if len(job_id) <= 80 else job_id[:77] + "..."
        self.args = (
            f"no asset-status job has jobId {shown!r}; start one with POST /bin/guides/v1/assets/status "
            'and {"paths": [...]}, then poll with the jobId it answers',
        )


class JobConflict(JobError):
    """A start for a path that has a waiting or running job, or a transition the status forbids."""


class InvalidTransition(JobConflict):
    pass


class QueueFull(JobError):
    """As many jobs as ``max_active_jobs`` allows are waiting or running already."""


class ScenarioError(MockError):
    """A scenario that cannot be used; ``problems`` lists each as ``origin:line: what``."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ScenarioSuperseded(ScenarioError):
    """A scenario was still being read when a later load began: the later one wins."""


class ScenarioUnreadable(ScenarioError):
    """A scenario file that cannot be read (missing, a folder, no permission): an I/O error, not a
    problem of its content."""


class ContractViolation(MockError, AssertionError):
    """A message broke its schema; ``violations`` lists every way it did."""

    def __init__(self, summary: str, violations: Sequence[Violation] | Violations) -> None:
        super().__init__(summary)
        self.violations = violations if isinstance(violations, Violations) else Violations.of(violations)


class RequestViolation(ContractViolation):
    pass


class ResponseViolation(ContractViolation):
    pass


#: No violations (a message that keeps its contract).
NO_VIOLATIONS = Violations()
