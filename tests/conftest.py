"""Shared fixtures: a manual clock, and the mock served on a real socket with a small client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mock_server import ManualClock, Repository, Settings, create_app, load_scenario
from mock_server.http.runtime import MOCK

# The client and constants live in tests/support; named here too for test files that import them from
# the conftest (new files in tests/ before they are placed in a tier).
from tests.support import hypothesis_profiles  # noqa: F401 (registers and loads the profile)
from tests.support.client import ApiClient, MakeApi
from tests.support.constants import BASIC_ADMIN, FLAGS
from tests.support.slow import INNER, SLOW

__all__ = ["BASIC_ADMIN", "FLAGS", "ApiClient", "MakeApi"]

pytest_plugins = ("pytester",)

#: The tiers: each test file sits in one of these folders, and its tests carry the marker of that name
#: (``-m "not e2e"`` is the inner loop). ``test_tiers.py`` holds every file to it.
TIERS = ("unit", "http", "e2e", "adversarial")
TESTS = Path(__file__).resolve().parent
#: The markers whose tests run only when ``-m`` names them: the slow tests, and the container tests
#: (tests/e2e/test_container.py: they build an image with podman), and the replica tests
#: (tests/e2e/test_replicas.py: nginx in front of three servers); .ci/run runs each with its own -m.
OPT_IN = ("slow", "container", "replicas")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test under tests/<tier>/ with its tier, and the tests measured slow (tests/support/slow.py)
    with ``slow``; leave the slow tests out unless ``-m`` names them (``-m slow``), whatever else it says
    (``-m "not e2e"``, the inner loop, runs no slow test); the container tests alike (``-m container``)."""
    for item in items:
        try:
            parts = item.path.resolve().relative_to(TESTS).parts
        except ValueError:  # examples/ and pytester's own runs
            continue
        if len(parts) > 1 and parts[0] in TIERS:
            item.add_marker(parts[0])
            name = getattr(item, "originalname", None) or item.name
            if name in SLOW.get("/".join(parts), {}) or name in INNER.get("/".join(parts), {}):
                item.add_marker(pytest.mark.slow)
    for marker in OPT_IN:
        if marker not in (config.getoption("markexpr") or ""):
            left_out = [item for item in items if item.get_closest_marker(marker) is not None]
            if left_out:
                config.hook.pytest_deselected(items=left_out)
                items[:] = [item for item in items if item.get_closest_marker(marker) is None]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_api(aiohttp_client: Any, clock: ManualClock) -> MakeApi:
    """Serve a mock (default settings and repository unless given) and return its client."""

    async def make(
        settings: Settings | None = None,
        repository: Repository | None = None,
        scenario: str | None = None,
        clock_name: str = "manual",
    ) -> ApiClient:
        """The test's manual clock drives the mock, unless the scenario pins a clock of its own or
        ``clock_name`` is another than ``manual``."""
        loaded = load_scenario(scenario) if scenario is not None else None
        own_clock = clock_name == "manual" and (loaded is None or loaded.clock is None)
        chosen = clock if own_clock else clock_name
        app = create_app(settings, scenario=loaded, repository=repository, clock=chosen)
        return ApiClient(await aiohttp_client(app), app[MOCK].clock)

    return make


@pytest.fixture
async def api(make_api: MakeApi) -> ApiClient:
    return await make_api()
