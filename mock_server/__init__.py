"""aem-guides-mock: a contract-validating mock of AEM Guides' bulk asset processing API.

The public names load lazily, so that ``import mock_server`` (and the pytest plugin) costs
almost nothing until a server is actually needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core.clock import Clock, ManualClock, PerPollClock, SystemClock
    from .core.default_dam import default_repository
    from .core.errors import (
        ContractViolation,
        InvalidTransition,
        JobConflict,
        JobError,
        MockError,
        RequestViolation,
        ResponseViolation,
        ScenarioError,
        UnknownJob,
        Violation,
    )
    from .core.jobs import JobEngine, Lifecycle, StartRequest
    from .core.repository import Repository
    from .core.settings import Settings
    from .http.app import create_app
    from .scenarios.reading import load_scenario
    from .scenarios.scenario import Scenario
    from .server import MockServer

from ._version import __version__

_HOMES = {
    "create_app": "http.app",
    "Clock": "core.clock",
    "ManualClock": "core.clock",
    "PerPollClock": "core.clock",
    "SystemClock": "core.clock",
    "default_repository": "core.default_dam",
    "ContractViolation": "core.errors",
    "InvalidTransition": "core.errors",
    "JobConflict": "core.errors",
    "JobError": "core.errors",
    "MockError": "core.errors",
    "RequestViolation": "core.errors",
    "ResponseViolation": "core.errors",
    "UnknownJob": "core.errors",
    "Violation": "core.errors",
    "JobEngine": "core.jobs",
    "Lifecycle": "core.jobs",
    "StartRequest": "core.jobs",
    "Repository": "core.repository",
    "Scenario": "scenarios.scenario",
    "ScenarioError": "core.errors",
    "load_scenario": "scenarios.reading",
    "MockServer": "server",
    "Settings": "core.settings",
}

__all__ = [
    "Clock",
    "ContractViolation",
    "InvalidTransition",
    "JobConflict",
    "JobEngine",
    "JobError",
    "Lifecycle",
    "ManualClock",
    "MockError",
    "MockServer",
    "PerPollClock",
    "Repository",
    "RequestViolation",
    "ResponseViolation",
    "Scenario",
    "ScenarioError",
    "Settings",
    "StartRequest",
    "SystemClock",
    "UnknownJob",
    "Violation",
    "__version__",
    "create_app",
    "default_repository",
    "load_scenario",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
