"""The engine's parts, for advanced use: clocks, the job engine and its lifecycle, the repository,
and the errors the engine raises (the HTTP layer answers them as 4xx; a test of the mock itself may
catch them). Not needed to build or query a mock: see :mod:`mock_server` for that."""

from __future__ import annotations

from .core.clock import Clock, ManualClock, PerPollClock, SystemClock
from .core.default_dam import default_repository
from .core.errors import InvalidTransition, JobConflict, JobError, UnknownJob
from .core.jobs import JobEngine, Lifecycle, StartRequest
from .core.repository import Repository

__all__ = [
    "Clock",
    "InvalidTransition",
    "JobConflict",
    "JobEngine",
    "JobError",
    "Lifecycle",
    "ManualClock",
    "PerPollClock",
    "Repository",
    "StartRequest",
    "SystemClock",
    "UnknownJob",
    "default_repository",
]
