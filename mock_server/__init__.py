"""aem-guides-mock: a contract-validating mock of AEM Guides' bulk asset processing API.

The public names load lazily, so that ``import mock_server`` (and the pytest plugin) costs
almost nothing until a server is actually needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .clock import Clock, ManualClock, PerPollClock, SystemClock
    from .default_dam import default_repository
    from .errors import (
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
    from .jobs import JobEngine, Lifecycle, StartRequest
    from .repository import Repository
    from .scenarios import Scenario, load_scenario
    from .server import MockServer
    from .settings import Settings

__version__ = "0.1.0"

_HOMES = {
    "create_app": "app",
    "Clock": "clock",
    "ManualClock": "clock",
    "PerPollClock": "clock",
    "SystemClock": "clock",
    "default_repository": "default_dam",
    "ContractViolation": "errors",
    "InvalidTransition": "errors",
    "JobConflict": "errors",
    "JobError": "errors",
    "MockError": "errors",
    "RequestViolation": "errors",
    "ResponseViolation": "errors",
    "UnknownJob": "errors",
    "Violation": "errors",
    "JobEngine": "jobs",
    "Lifecycle": "jobs",
    "StartRequest": "jobs",
    "Repository": "repository",
    "Scenario": "scenarios",
    "ScenarioError": "errors",
    "load_scenario": "scenarios",
    "MockServer": "server",
    "Settings": "settings",
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
