"""The one set of options every way of building a mock takes, with their one set of defaults.

:func:`~.app.create_app`, :class:`~mock_server.MockServer` and the pytest plugin's
``aem_mock_factory`` take the same keywords and build their mock here, with :func:`build_mock`:

``scenario``
    A shipped scenario's name (``"fail-midway"``), a path to a YAML file, YAML text (any string
    with a line break) or a :class:`~.scenario.Scenario`. Default: the embedded default scenario.
``settings``
    The base :class:`~.settings.Settings`, below everything else. Default: ``Settings()``.
``overrides``
    Settings by name (``{"per_asset_ms": 50}``) on top of everything else.
``clock``
    A clock's name, ``"manual"`` (the default), ``"real"``, ``"per-poll"`` or
    ``"per-poll:250ms"``: the clock unless the scenario, the environment or ``overrides`` name
    another (``overrides={"clock": "real"}`` wins over the scenario). Or a clock object (such as
    :class:`~.clock.ManualClock` ``(start_ms)``), which drives the mock whatever the settings say.
``repository``
    A :class:`~.repository.Repository` that replaces the scenario's. Default: the scenario's.
``environ``
    Where ``AEM_GUIDES_MOCK_*`` settings are read from. Default: ``os.environ``; ``{}`` reads none,
    for a test that must not depend on the machine it runs on.
``new_id``
    A function that makes processing IDs. Default: the scenario's (random UUIDs).

Settings merge lowest first (:func:`~.settings.resolve`): ``settings``, the ``clock`` name, the
scenario, ``environ``, ``overrides``, then a fixture marker's or :meth:`load_scenario`'s keywords.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..core.clock import Clock, ManualClock, PerPollClock
from ..core.errors import SettingError
from ..core.repository import Repository
from ..core.settings import Settings, parse_clock
from ..scenarios.reading import load_scenario, parse_scenario
from ..scenarios.scenario import Scenario
from .runtime import DEFAULT_SCENARIO, Mock

__all__ = ["DEFAULT_CLOCK", "OPTIONS", "ScenarioSource", "as_scenario", "build_mock", "clock_kind"]
__all__ += ["clock_option"]

#: What a scenario may be given as: a shipped name, a path, YAML text, a Scenario, or None (the default).
ScenarioSource = str | Path | Scenario | None
#: The clock a mock runs by unless a scenario, the environment or an override names another: a test
#: moves time itself. ``serve`` passes ``"real"``.
DEFAULT_CLOCK = "manual"
#: The options' names, in the order the builders list them.
OPTIONS = ("scenario", "settings", "overrides", "clock", "repository", "environ", "new_id")


def as_scenario(scenario: ScenarioSource) -> Scenario:
    """The scenario ``scenario`` names: see the module's documentation. Raises
    :class:`~.errors.ScenarioError` naming the problem (for a name, the shipped ones)."""
    if scenario is None:
        return DEFAULT_SCENARIO
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str) and "\n" in scenario:
        return parse_scenario(scenario, "<string>", "inline")
    return load_scenario(scenario)


def clock_option(clock: Clock | str | None, default_clock: str | None, stacklevel: int = 3) -> Clock | str:
    """``clock``, or the deprecated ``default_clock=`` spelling of a clock name (with a
    DeprecationWarning naming ``clock=``); ``stacklevel`` points the warning at the caller's caller."""
    if default_clock is None:
        return DEFAULT_CLOCK if clock is None else clock
    warnings.warn(
        f"default_clock={default_clock!r} is deprecated: pass clock={default_clock!r}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    if clock is not None:
        raise TypeError("give clock= or default_clock= (deprecated), not both")
    return default_clock


def build_mock(
    scenario: ScenarioSource = None,
    *,
    settings: Settings | None = None,
    overrides: Mapping[str, Any] | None = None,
    clock: Clock | str = DEFAULT_CLOCK,
    repository: Repository | None = None,
    environ: Mapping[str, str] | None = None,
    new_id: Callable[[], str] | None = None,
) -> Mock:
    """The running mock the options describe (see the module's documentation).

    Raises :class:`~.errors.ScenarioError` or :class:`~.errors.SettingError` naming the problem."""
    base = settings or Settings()
    if isinstance(clock, str):
        try:
            base = base.replace(**parse_clock(clock))
        except SettingError as error:
            raise SettingError(f"clock={clock!r}: {error}") from None
        fixed: Clock | None = None
    else:  # the settings name the clock's kind, so that the banner and the admin API say it
        fixed = clock
        base = base.replace(**_kind_of(clock))
    return Mock(
        as_scenario(scenario),
        base=base,
        environ=os.environ if environ is None else environ,
        overrides=overrides,
        clock=fixed,
        repository=repository,
        new_id=new_id,
    )


def clock_kind(clock: Clock) -> str:
    """The clock setting's value that makes a clock like ``clock``: ``manual``, ``per-poll`` or ``real``."""
    return str(_kind_of(clock)["clock"])


def _kind_of(clock: Clock) -> dict[str, Any]:
    if isinstance(clock, PerPollClock):
        return {"clock": "per-poll", "poll_step_ms": clock.step_ms}
    return {"clock": "manual" if isinstance(clock, ManualClock) else "real"}
