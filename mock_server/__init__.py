"""aem-guides-mock: a contract-validating mock of AEM Guides' bulk asset processing API.

The public API is what a test builds a mock with and what it receives and catches: ``MockServer``,
``create_app``, the fixture's ``AemMock``, the journal's ``Exchange`` entries and their ``Violation``
findings, the scenario and repository types, and the errors (``SettingError``, ``ScenarioError``,
``RequestViolation``, all ``MockError``). The engine's parts (clocks, job engine, repository, job
errors) are in :mod:`mock_server.engine`, for advanced use.

The public names load lazily, so that ``import mock_server`` (and the pytest plugin) costs
almost nothing until a server is actually needed.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .api.operations import BASE_PATH
    from .core.clock import ManualClock
    from .core.errors import (
        MockError,
        RequestViolation,
        ScenarioError,
        SettingError,
        Violation,
    )
    from .core.journal import Exchange
    from .core.repository import Repository
    from .core.settings import Settings
    from .http.app import create_app
    from .pytest_plugin import AemMock
    from .scenarios.reading import load_scenario
    from .scenarios.scenario import Scenario
    from .server import MockServer

from ._version import __version__

_HOMES = {
    "AemMock": "pytest_plugin",
    "BASE_PATH": "api.operations",
    "Exchange": "core.journal",
    "ManualClock": "core.clock",
    "MockError": "core.errors",
    "MockServer": "server",
    "Repository": "core.repository",
    "RequestViolation": "core.errors",
    "Scenario": "scenarios.scenario",
    "ScenarioError": "core.errors",
    "SettingError": "core.errors",
    "Settings": "core.settings",
    "Violation": "core.errors",
    "create_app": "http.app",
    "load_scenario": "scenarios.reading",
}

#: Names exported before 0.x that moved: to :mod:`mock_server.engine`, or (exceptions nothing raises)
#: only to their module. Reading one still works, with a DeprecationWarning that names the new home.
_MOVED = {
    "Clock": "mock_server.engine",
    "InvalidTransition": "mock_server.engine",
    "JobConflict": "mock_server.engine",
    "JobEngine": "mock_server.engine",
    "JobError": "mock_server.engine",
    "Lifecycle": "mock_server.engine",
    "PerPollClock": "mock_server.engine",
    "StartRequest": "mock_server.engine",
    "SystemClock": "mock_server.engine",
    "UnknownJob": "mock_server.engine",
    "default_repository": "mock_server.engine",
    "ContractViolation": "mock_server.core.errors",
    "ResponseViolation": "mock_server.core.errors",
}

__all__ = [
    "BASE_PATH",
    "AemMock",
    "Exchange",
    "ManualClock",
    "MockError",
    "MockServer",
    "Repository",
    "RequestViolation",
    "Scenario",
    "ScenarioError",
    "SettingError",
    "Settings",
    "Violation",
    "__version__",
    "create_app",
    "load_scenario",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(f".{home}", __name__), name)
        globals()[name] = value
        return value
    moved = _MOVED.get(name)
    if moved is not None:
        warnings.warn(
            f"mock_server.{name} is no longer public API: import it from {moved}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(moved), name)
    raise AttributeError(f"module 'mock_server' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
