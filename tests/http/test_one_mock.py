"""One way to build a mock: ``create_app``, ``MockServer`` and ``aem_mock_factory`` take the same
options with the same defaults, and ``MockServer.assert_no_violations`` raises the plugin's report."""

from __future__ import annotations

import inspect
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mock_server import ManualClock, MockServer, Repository, RequestViolation, Settings, create_app
from mock_server.engine import PerPollClock
from mock_server.http.options import OPTIONS, build_mock
from mock_server.http.runtime import MOCK, Mock
from mock_server.pytest_plugin import AemMock
from mock_server.remote import RemoteMock
from mock_server.scenarios.reading import parse_scenario, shipped_scenarios

TEXT = "description: given inline\nsettings: {history_size: 3}\n"

Builder = Callable[..., Mock]


def built_by(kind: str, factory: Callable[..., AemMock]) -> Builder:
    """The running mock each door builds from the same options."""
    if kind == "create_app":
        return lambda scenario, **options: create_app(scenario=scenario, **options)[MOCK]
    if kind == "MockServer":
        return lambda scenario, **options: MockServer(scenario, **options).mock
    return lambda scenario, **options: local(factory(scenario, **options).server).mock


def local(server: MockServer | RemoteMock) -> MockServer:
    assert isinstance(server, MockServer)  # the factory starts servers of its own, never remote ones
    return server


DOORS = ("create_app", "MockServer", "aem_mock_factory")


def seen(mock: Mock) -> tuple[Any, ...]:
    """What a user meets of a mock: its scenario, its settings, its clock."""
    return (mock.scenario.name, mock.scenario.text, mock.settings, type(mock.clock), mock.clock.now_ms())


@pytest.mark.parametrize(
    "given",
    [
        pytest.param(lambda tmp: "fail-midway", id="name"),
        pytest.param(lambda tmp: shipped_scenarios()["fail-midway"], id="path"),
        pytest.param(lambda tmp: str(tmp), id="path-as-text"),
        pytest.param(lambda tmp: TEXT, id="yaml-text"),
        pytest.param(lambda tmp: parse_scenario(TEXT, "given.yaml", "given"), id="object"),
    ],
)
def test_the_three_doors_build_the_same_mock_from_the_same_options(
    given: Callable[[Path], Any], tmp_path: Path, aem_mock_factory: Callable[..., AemMock]
) -> None:
    file = tmp_path / "given.yaml"
    file.write_text(TEXT, encoding="utf-8")
    options = {
        "settings": Settings(speed=2),
        "overrides": {"per_asset_ms": 50},
        "clock": "per-poll:250ms",
        "environ": {"AEM_GUIDES_MOCK_MAX_JOBS": "123"},
    }
    mocks = [built_by(door, aem_mock_factory)(given(file), **options) for door in DOORS]
    assert seen(mocks[0]) == seen(mocks[1]) == seen(mocks[2])
    settings = mocks[0].settings
    assert (settings.speed, settings.per_asset_ms, settings.max_jobs) == (2, 50, 123)
    assert (settings.clock, settings.poll_step_ms) == ("per-poll", 250)
    assert isinstance(mocks[0].clock, PerPollClock)


@pytest.mark.parametrize("door", DOORS)
def test_the_defaults_are_one_set(
    door: str, monkeypatch: pytest.MonkeyPatch, aem_mock_factory: Callable[..., AemMock]
) -> None:
    """No option given: the embedded default scenario, a manual clock, the process's environment."""
    monkeypatch.setenv("AEM_GUIDES_MOCK_HISTORY_SIZE", "5")
    mock = built_by(door, aem_mock_factory)(None)
    assert mock.scenario.name == "default" and type(mock.clock) is ManualClock
    assert mock.settings == Settings(clock="manual", history_size=5)
    quiet = built_by(door, aem_mock_factory)(None, environ={})  # {}: the environment is not read
    assert quiet.settings == Settings(clock="manual")


@pytest.mark.parametrize("door", DOORS)
def test_a_clock_object_and_a_repository_are_used_as_given(
    door: str, aem_mock_factory: Callable[..., AemMock]
) -> None:
    clock, repository = ManualClock(1_000_000), Repository()
    repository.add_asset("/content/dam/only/a.dita", "DITATOPIC", 0)
    mock = built_by(door, aem_mock_factory)("fail-midway", clock=clock, repository=repository)
    assert mock.clock is clock and mock.engine.repository is repository
    assert mock.settings.clock == "manual"


def test_a_clock_name_yields_to_the_scenario_and_the_overrides() -> None:
    """A name is the clock unless the scenario pins one; ``overrides`` win over both."""
    pinned = "description: pinned\nclock: {per_poll: 100ms}\n"
    assert build_mock(pinned, clock="real").settings.clock == "per-poll"
    assert build_mock(pinned, clock="real", overrides={"clock": "real"}).settings.clock == "real"
    assert build_mock(None, clock="real").settings.clock == "real"


def test_a_misspelt_clock_name_is_named() -> None:
    from mock_server import SettingError

    with pytest.raises(SettingError, match=r"clock='manul': expected real, manual or per-poll"):
        MockServer(clock="manul")


def test_create_app_and_mock_server_list_the_same_options_with_the_same_defaults() -> None:
    app = inspect.signature(create_app).parameters
    server = inspect.signature(MockServer).parameters
    built = inspect.signature(build_mock).parameters
    for name in OPTIONS:
        assert name in built, name
        assert app[name].default == server[name].default, name


@pytest.mark.parametrize("door", ["create_app", "MockServer"])
def test_default_clock_still_works_and_names_its_new_spelling(door: str) -> None:
    with pytest.warns(DeprecationWarning, match=r"default_clock='real' is deprecated: pass clock='real'"):
        mock = (
            create_app(default_clock="real")[MOCK]
            if door == "create_app"
            else MockServer(default_clock="real").mock
        )
    assert mock.settings.clock == "real"


# --- assert_no_violations ------------------------------------------------------------------------------


def send(server: MockServer, path: str, body: Any = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    headers = {**server.headers, **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(server.base_url + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def test_assert_no_violations_raises_the_plugins_report() -> None:
    with MockServer() as server:
        server.assert_no_violations(warnings=True)  # nothing sent, nothing to report
        assert (
            send(server, "", {"path": "/content/dam", "type": "ASSET_PROCESSING", "excludePaths": []}) == 400
        )
        with pytest.raises(RequestViolation) as raised:
            server.assert_no_violations()
    assert isinstance(raised.value, AssertionError)
    lines = str(raised.value).splitlines()
    assert lines[:3] == [
        "aem-guides-mock: the client under test broke the API contract (1 violation in 1 request):",
        "  1. POST /bin/guides/v1/assets/process -> 400",
        "     body:/excludePaths: `excludePaths` is not a field of the start request (did you mean "
        "`excludedPaths`?)",
    ]
    assert lines[3].startswith("       the schema wants: one of path, excludedPaths, type, filter")
    assert lines[4] == "       the request had:  []"
    assert "do not call assert_no_violations()" in lines[-1]
    assert [v.where for v in raised.value.violations] == ["body:/excludePaths"]


def test_warnings_fail_assert_no_violations_only_when_asked() -> None:
    with MockServer() as server:
        assert send(server, "/history?unknownParameter=1") == 200  # served, with a warning
        server.assert_no_violations()  # warnings=False: passes
        with pytest.raises(RequestViolation) as raised:
            server.assert_no_violations(warnings=True)
    report = str(raised.value)
    assert report.startswith(
        "aem-guides-mock: the client under test sent what the documented contract does not promise "
        "(1 warning in 1 request):\n  1. GET /bin/guides/v1/assets/process/history?unknownParameter=1 -> 200"
    )
    assert "call assert_no_violations() without warnings=True" in report


def test_the_marker_takes_yaml_text_and_each_test_gets_its_own(pytester: pytest.Pytester) -> None:
    """The fixture resolves a scenario as the other doors do: two YAML texts are two scenarios."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.aem_scenario("description: first\\nsettings: {history_size: 1}\\n")
        def test_first(aem_mock):
            assert aem_mock.server.mock.scenario.description == "first"

        @pytest.mark.aem_scenario("description: second\\nsettings: {history_size: 2}\\n")
        def test_second(aem_mock):
            assert aem_mock.server.mock.scenario.description == "second"
            assert aem_mock.server.mock.settings.history_size == 2
        """
    )
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


@pytest.mark.parametrize("name", ["run", "banner", "watch_scenario"])
def test_what_left_server_py_still_resolves_with_a_warning_naming_its_home(name: str) -> None:
    from mock_server import devserver, server

    with pytest.warns(DeprecationWarning, match=rf"moved to mock_server\.devserver\.{name}"):
        moved = getattr(server, name)
    assert moved is getattr(devserver, name)
    with pytest.raises(AttributeError):
        server.nothing_here  # noqa: B018  # an unknown name is still an AttributeError
