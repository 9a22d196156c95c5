"""A module that moved keeps its old import path, with a DeprecationWarning that names the new one."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("mock_server.contract.validation", "Contract", "mock_server.contract.rules"),
        ("mock_server.contract.validation", "FRAMEWORK_PARAMETERS", "mock_server.contract.rules"),
        ("mock_server.contract.validation", "SchemaCheck", "mock_server.contract.schema_check"),
    ],
)
def test_an_old_import_path_warns_and_gives_the_same_object(old: str, name: str, new: str) -> None:
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved: import it from {new}"):
        moved = getattr(module, name)
    assert moved is getattr(importlib.import_module(new), name)


def test_a_name_that_never_was_there_is_an_attribute_error() -> None:
    module = importlib.import_module("mock_server.contract.validation")
    with pytest.raises(AttributeError, match="no attribute 'Validator'"):
        module.Validator  # noqa: B018 (the look-up is the test)
