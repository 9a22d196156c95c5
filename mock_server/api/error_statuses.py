"""The exception-to-status table: what the HTTP edge answers for each error the core raises.

Beside the operations table (:mod:`.operations`), which says what each operation answers of its own,
:data:`ERROR_STATUSES` says what the mock answers when the core refuses: one row per class of
:mod:`mock_server.core.errors`, looked up by the most specific class an error is an instance of (as
Starlette's exception handlers are). Two helpers at the edge consult it and nothing else maps an
error to a status: :func:`mock_server.http.refusals.refusal_for` on the API, and
:func:`mock_server.http.answers.admin_error` on the mock's own routes (``/__admin``, the dashboard).
No aiohttp here.

The body of every error is a JSON object (docs/contract.md §1, "What the core's errors answer"):

- on the API, ``{"status", "error", "message", "path"}``, and with :attr:`Body.VIOLATIONS`
  ``"violations"`` (each ``{"where", "message", "expected", "got", "severity"}``) and, past the
  listed ones, ``"moreViolations"``;
- on the mock's own routes, ``{"status", "error", "message"}``, and with :attr:`Body.PROBLEMS`
  ``"problems"`` (a list of strings: each problem of a scenario).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from ..core import errors
from ..core.errors import MockError, Violations
from ..core.settings import Settings

__all__ = ["ERROR_STATUSES", "Body", "ErrorStatus", "api_status", "error_status", "only_the_id_missing"]


class Body(Enum):
    """What an error body holds besides its status, error (the phrase) and message."""

    MESSAGE = "message"
    """Nothing more: the message says what is wrong and what to do."""
    VIOLATIONS = "violations"
    """On the API, ``violations``: the request's, or one naming the parameter of an unknown id."""
    PROBLEMS = "problems"
    """On the mock's own routes, ``problems``: every problem of a scenario that was not loaded."""


#: Where a missing ``processingId`` is reported (§3.13).
_ID_PLACES = ("query:processingId", "body:/processingId")


def only_the_id_missing(violations: Violations) -> bool:
    """Whether all that is wrong with a request is a missing ``processingId`` (§3.13): then the
    unknown-id status answers it, as it answers an id no job has."""
    return not violations.more and all(v.where in _ID_PLACES and v.keyword == "required" for v in violations)


def _id_missing(error: MockError) -> bool:
    return isinstance(error, errors.RequestViolation) and only_the_id_missing(error.violations)


@dataclass(frozen=True, slots=True)
class ErrorStatus:
    """One row: an exception class and what the mock answers for it."""

    error: type[MockError]
    status: int
    """The API's status: the default when ``setting`` may change it."""
    admin_status: int
    """The status on the mock's own routes (``/__admin``, the dashboard), a REST API of its own."""
    body: Body
    why: str
    """What the error means, for the docs."""
    setting: str | None = None
    """The setting (a field of :class:`~mock_server.core.settings.Settings`) that chooses the API's
    status instead of ``status``; with ``when``, only for the errors it holds for."""
    when: Callable[[MockError], bool] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    """Headers of the answer (the API's)."""
    breaks_contract: bool = False
    """The client under test broke the contract: the journal keeps the request's violations."""

    @property
    def bug(self) -> bool:
        """A bug in the mock, not the client: answered 500, and logged where it happened."""
        return self.status >= 500


ERROR_STATUSES: tuple[ErrorStatus, ...] = (
    ErrorStatus(errors.UnknownStatusJob, 400, 404, Body.VIOLATIONS,
                "no asset-status job has that jobId (§3.40)", setting="unknown_id_status"),
    ErrorStatus(errors.UnknownJob, 400, 404, Body.VIOLATIONS,
                "no job has that processingId (§3.13)", setting="unknown_id_status"),
    ErrorStatus(errors.QueueFull, 429, 409, Body.MESSAGE,
                "max_active_jobs jobs wait or run already (§3.12)", headers={"Retry-After": "1"}),
    ErrorStatus(errors.InvalidTransition, 400, 409, Body.MESSAGE,
                "the job's status does not allow it (§3.14, §3.15)", setting="conflict_status"),
    ErrorStatus(errors.JobConflict, 400, 409, Body.MESSAGE,
                "the path has a waiting or running job (§3.12)", setting="conflict_status"),
    ErrorStatus(errors.JobError, 400, 409, Body.MESSAGE, "the engine refuses the operation"),
    ErrorStatus(errors.RequestViolation, 400, 400, Body.VIOLATIONS,
                "the request breaks its schema (§4); a missing processingId alone is an unknown id",
                setting="unknown_id_status", when=_id_missing, breaks_contract=True),
    ErrorStatus(errors.ResponseViolation, 500, 500, Body.VIOLATIONS,
                "the mock's answer breaks its schema: a bug in the mock"),
    ErrorStatus(errors.ContractViolation, 500, 500, Body.VIOLATIONS,
                "a message breaks its schema (raised in the test, not answered)"),
    ErrorStatus(errors.ScenarioSuperseded, 500, 409, Body.PROBLEMS,
                "a later load came first; the last good scenario stays"),
    ErrorStatus(errors.ScenarioUnreadable, 500, 400, Body.PROBLEMS,
                "the scenario file cannot be read; the last good one stays"),
    ErrorStatus(errors.ScenarioError, 500, 400, Body.PROBLEMS,
                "the scenario cannot be used; the last good one stays"),
    ErrorStatus(errors.SettingError, 500, 400, Body.PROBLEMS,
                "a setting of the wrong name or kind; the last good scenario stays"),
    ErrorStatus(MockError, 500, 500, Body.MESSAGE, "any other error of the mock: a bug in the mock"),
)  # fmt: skip

_BY_CLASS: dict[type[MockError], ErrorStatus] = {row.error: row for row in ERROR_STATUSES}


def error_status(error: MockError) -> ErrorStatus:
    """The row of the most specific class ``error`` is an instance of."""
    for cls in type(error).__mro__:
        row = _BY_CLASS.get(cls)
        if row is not None:
            return row
    raise AssertionError(f"{type(error).__name__} is no MockError")  # pragma: no cover (typed out)


def api_status(error: MockError, settings: Settings) -> int:
    """The status the API answers ``error`` with under ``settings``."""
    row = error_status(error)
    if row.setting is not None and (row.when is None or row.when(error)):
        status: int = getattr(settings, row.setting)
        return status
    return row.status
