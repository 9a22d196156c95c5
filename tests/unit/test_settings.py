"""The settings object: every decision in one place, and the README lists each one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mock_server import Settings
from mock_server.core.errors import SettingError
from mock_server.core.settings import from_environment, parse_clock, resolve

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_setting() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [f.name for f in dataclasses.fields(Settings) if f"`{f.name}`" not in text]
    assert missing == []


def test_settings_are_frozen_mappings_included() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.speed = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.users["eve"] = "x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"speed": 0}, "speed must be above 0"),
        ({"per_asset_ms": 0}, "per_asset_ms"),
        ({"history_size": 0}, "history_size"),
        ({"status_names": {"QUEUED": "Q"}}, "status_names: \\['QUEUED'\\] are not statuses"),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings().replace(**changes)


def test_a_partial_vocabulary_renames_what_it_names() -> None:
    names = Settings(status_names={"IN_PROGRESS": "RUNNING"}).status_names
    assert names == {"WAITING": "WAITING", "IN_PROGRESS": "RUNNING", "SUCCESS": "SUCCESS",
                     "FAILED": "FAILED", "CANCELLED": "CANCELLED"}  # fmt: skip


def test_an_error_names_the_layer_it_came_from() -> None:
    with pytest.raises(
        SettingError, match=r"concurrency must be from 1 to 64, got 0 \(from the environment\)"
    ):
        resolve(None, None, {"AEM_GUIDES_MOCK_CONCURRENCY": "0"})
    with pytest.raises(
        SettingError, match=r"history_size: expected an integer.*\(from the aem_scenario marker\)"
    ):
        resolve(None, None, None, [("the aem_scenario marker", {"history_size": "3"})])


def test_speed_scales_the_pace() -> None:
    fast = Settings(speed=4)
    assert (fast.effective_counting_ms, fast.effective_per_asset_ms) == (25, 50)


def test_one_merge_in_one_order() -> None:
    """Defaults < scenario < environment < each override, the last one winning."""
    merged = resolve(
        Settings(history_size=2, speed=2),
        {"history_size": 3, "lenient": True, "speed": 3},
        {"AEM_GUIDES_MOCK_HISTORY_SIZE": "4", "AEM_GUIDES_MOCK_LOGS_LIMIT": "7"},
        [("--speed", {"speed": 5.0}), ("marker", {"logs_limit": 9})],
    )
    assert (merged.history_size, merged.lenient, merged.speed, merged.logs_limit) == (4, True, 5.0, 9)
    assert resolve().history_size == Settings().history_size


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ({"overrides": [("the aem_scenario marker", {"per_aset_ms": 5})]},
         "'per_aset_ms' is not a setting (the aem_scenario marker) (did you mean per_asset_ms?)"),
        ({"overrides": [("overrides", {"error_format": "xml"})]},
         "error_format: expected one of 'json', 'sling-html', got 'xml'"),
        ({"overrides": [("overrides", {"error_format": "sling_html"})]}, "did you mean sling-html?"),
        ({"overrides": [("overrides", {"history_size": "20"})]},
         "history_size: expected an integer, got '20'"),
        ({"overrides": [("overrides", {"lenient": 1})]}, "lenient: expected true or false, got 1"),
        ({"environ": {"AEM_GUIDES_MOCK_LENIENT": "treu"}},
         "AEM_GUIDES_MOCK_LENIENT: expected true or false (or 1/0, yes/no, on/off), got 'treu'"),
        ({"environ": {"AEM_GUIDES_MOCK_SPED": "2"}},
         "AEM_GUIDES_MOCK_SPED is not a setting (did you mean AEM_GUIDES_MOCK_SPEED?)"),
        ({"environ": {"AEM_GUIDES_MOCK_UNKNOWN_ID_STATUS": "405"}}, "expected one of 400, 404, got '405'"),
        ({"environ": {"AEM_GUIDES_MOCK_CLOCK": "manuel"}}, "(did you mean manual?)"),
        ({"environ": {"AEM_GUIDES_MOCK_USERS": "admin"}}, "expected a JSON object"),
    ],
)  # fmt: skip
def test_a_wrong_setting_is_named_with_a_fix(layers: dict[str, object], message: str) -> None:
    with pytest.raises(SettingError) as caught:
        resolve(None, None, layers.get("environ"), layers.get("overrides", ()))  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)  # one tree: a SettingError is a ValueError too


def test_the_environment_takes_every_kind_of_setting() -> None:
    changes = from_environment(
        {
            "AEM_GUIDES_MOCK_LENIENT": "yes",
            "AEM_GUIDES_MOCK_SPEED": "2.5",
            "AEM_GUIDES_MOCK_UNKNOWN_ID_STATUS": "404",
            "AEM_GUIDES_MOCK_ALLOWED_TYPES": "ASSET_PROCESSING, BASELINE",
            "AEM_GUIDES_MOCK_TOKENS": '{"t0k3n-1234": "dev"}',
            "AEM_GUIDES_MOCK_ADMIN_TOKEN": "none",
            "AEM_GUIDES_MOCK_CLOCK": "per-poll:250ms",
            "PATH": "/bin",  # not ours: ignored
        }
    )
    assert changes == {
        "lenient": True,
        "speed": 2.5,
        "unknown_id_status": 404,
        "allowed_types": ("ASSET_PROCESSING", "BASELINE"),
        "tokens": {"t0k3n-1234": "dev"},
        "admin_token": None,
        "clock": "per-poll",
        "poll_step_ms": 250,
    }
    assert Settings().replace(**changes).tokens == {"t0k3n-1234": "dev"}


def test_a_variable_of_our_prefix_that_is_no_setting_is_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert from_environment({"AEM_GUIDES_MOCK_FAVOURITE_COLOUR": "teal"}) == {}
    assert "AEM_GUIDES_MOCK_FAVOURITE_COLOUR is not a setting of aem-guides-mock; ignored" in caplog.text


def test_clocks_are_named_one_way() -> None:
    assert parse_clock("manual") == {"clock": "manual"}
    assert parse_clock("per_poll:2s") == {"clock": "per-poll", "poll_step_ms": 2000}
    with pytest.raises(SettingError, match="expected real, manual or per-poll"):
        parse_clock("real:5s")


def test_a_marker_list_becomes_a_tuple() -> None:
    assert Settings().replace(allowed_types=["A", "B"]).allowed_types == ("A", "B")
