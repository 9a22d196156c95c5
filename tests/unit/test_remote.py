"""What ``pytest --aem-url`` sends before any socket: session names, and the scenario and settings of
a test's session as the server takes them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mock_server.core.errors import SettingError
from mock_server.core.sessions import check_name
from mock_server.core.settings import from_environment
from mock_server.remote import Admin, RemoteError, RemoteMock, session_name

ODD_IDS = [
    "tests/test_a.py::test_one",
    "tests/test_a.py::TestX::test_param[/content/dam/é ü-1]",
    "t.py::" + "x" * 300,
    "t.py::...[--]",
    "",
]


@pytest.mark.parametrize("node_id", ODD_IDS)
@pytest.mark.parametrize("worker", ["main", "gw0", "gw123456789", ".."])
def test_a_session_name_keeps_the_rules_and_is_fresh_each_time(node_id: str, worker: str) -> None:
    names = {session_name(node_id, worker) for _ in range(20)}
    assert len(names) == 20, "two runs of one test on a shared server never collide"
    for name in names:
        assert check_name(name) == name and len(name) <= 64


def test_a_session_name_says_which_worker_and_test() -> None:
    name = session_name("tests/test_a.py::test_param[a b]", "gw3")
    assert name.startswith("gw3-test_param-a-b-"), name
    one, other = session_name("a.py::test_x", "gw0"), session_name("b.py::test_x", "gw0")
    assert one[:-6] != other[:-6], "tests of one name in two files differ by the node's hash"


def sent(scenario: object = None, **overrides: object) -> dict[str, object]:
    return RemoteMock(Admin("http://127.0.0.1:1"), "n", scenario, overrides)._sent  # type: ignore[arg-type]


def test_a_marker_is_sent_as_a_scenario_spells_it_with_a_manual_clock() -> None:
    assert sent() == {"scenario": "default", "settings": {"clock": "manual"}}
    got = sent("fail-midway", per_asset_ms=50, csrf=True, allowed_types=("ASSET_PROCESSING",))
    settings = {"per_asset": "50ms", "clock": "manual", "csrf": True, "allowed_types": ["ASSET_PROCESSING"]}
    assert got == {"scenario": "fail-midway", "settings": settings}
    assert sent(per_asset="2s")["settings"] == {"per_asset": "2s", "clock": "manual"}


def test_a_clock_the_scenario_or_the_marker_names_wins_over_the_manual_one() -> None:
    pinned = "name: pinned\ndescription: d\nclock: real\n"
    assert sent(pinned)["settings"] == {"clock": "real"}
    assert sent(clock="per-poll")["settings"] == {"clock": "per-poll"}


def test_a_file_here_is_sent_as_its_yaml(tmp_path: Path) -> None:
    text = "name: mine\ndescription: a file on the test's machine, not the server's\n"
    (tmp_path / "mine.yaml").write_text(text)
    assert sent(str(tmp_path / "mine.yaml"))["scenario"] == text
    assert sent(tmp_path / "mine.yaml")["scenario"] == text


def test_a_misspelt_setting_fails_here_naming_the_marker() -> None:
    with pytest.raises(SettingError, match=r"'per_aset' is not a setting \(the aem_scenario marker\)"):
        sent(per_aset="50ms")


def test_the_session_url_is_under_the_server_url() -> None:
    remote = RemoteMock(Admin("http://host:4502/"), "ci-1")
    assert remote.url == "http://host:4502/sessions/ci-1"
    assert remote.base_url == "http://host:4502/sessions/ci-1/bin/guides/v1/assets/process"
    assert remote.auth == ("admin", "admin") and remote.vary is None


@pytest.mark.parametrize("url", ["127.0.0.1:4502", "ftp://host", "http://", "file:///etc/passwd"])
def test_a_url_that_is_no_server_is_refused(url: str) -> None:
    with pytest.raises(
        RemoteError, match=r"is not a server's URL: give one such as http://127\.0\.0\.1:4502"
    ):
        Admin(url)


def test_the_plugins_variable_is_no_misspelt_setting(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "aem_guides_mock"):
        assert from_environment({"AEM_GUIDES_MOCK_URL": "http://127.0.0.1:4502"}) == {}
    assert caplog.records == []
