"""The settings object: every decision in one place, and the README lists each one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mock_server import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


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
        ({"speed": 0}, "speed must be positive"),
        ({"per_asset_ms": 0}, "per_asset_ms"),
        ({"history_size": 0}, "history_size"),
        ({"status_names": {"WAITING": "Q"}}, "status_names lacks a token"),
    ],
)
def test_bad_settings_are_refused_with_the_field_named(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings().replace(**changes)


def test_speed_scales_the_pace() -> None:
    fast = Settings(speed=4)
    assert (fast.effective_counting_ms, fast.effective_per_asset_ms) == (25, 50)
